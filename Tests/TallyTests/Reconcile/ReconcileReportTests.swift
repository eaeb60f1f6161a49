import Foundation
import Testing
@testable import Tally

@Suite("Reconcile: the reports' JSON schema")
struct ReconcileReportTests {
    private let finding = Finding(kind: .orphanTemp, key: nil, path: "m/.a.json.tmp-ABCDEF", detail: "left over")
    private let stale = Finding(kind: .stale, key: "invoices/INV-1", path: "m/invoices/INV-1.json", databaseVersion: 2,
                                fileVersion: 1, databaseChecksum: String(repeating: "a", count: 64),
                                fileChecksum: String(repeating: "b", count: 64), detail: "older")

    private func object(_ value: some Encodable) throws -> [String: Any] {
        let data = try JSONEncoder().encode(value)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test("a finding encodes every member in snake_case, nulls included, and decodes back")
    func findingSchema() throws {
        let json = try object(finding)
        #expect(Set(json.keys) == ["kind", "key", "path", "database_version", "file_version", "database_checksum",
                                   "file_checksum", "detail"])
        #expect(json["kind"] as? String == "orphan_temp")
        #expect(json["key"] is NSNull)
        let decoded = try JSONDecoder().decode(Finding.self, from: try JSONEncoder().encode(stale))
        #expect(decoded == stale)
    }

    @Test("a reconcile report encodes its derived members and round-trips")
    func reconcileSchema() throws {
        let report = ReconcileReport(target: "m", documentsChecked: 3, filesChecked: 4, findings: [stale, finding],
                                     repairs: ["rewrote m/invoices/INV-1.json"])
        let json = try object(report)
        #expect(Set(json.keys) == ["target", "documents_checked", "files_checked", "findings", "repairs", "is_clean"])
        #expect(json["is_clean"] as? Bool == false)
        #expect(try JSONDecoder().decode(ReconcileReport.self, from: try JSONEncoder().encode(report)) == report)
    }

    @Test("a verify report encodes its derived members and round-trips")
    func verifySchema() throws {
        let chain = ChainReport(eventsChecked: 5, headSeq: 5, headHash: String(repeating: "c", count: 64),
                                firstBreak: ChainReport.Break(seq: 3, reason: .gap(expected: 2)))
        let report = VerifyReport(integrityCheck: ["ok"], foreignKeyProblems: [], chain: chain, documentsChecked: 1,
                                  findings: [])
        let json = try object(report)
        #expect(Set(json.keys) == ["integrity_check", "schema_problems", "foreign_key_problems", "chain", "documents_checked",
                                   "findings", "chain_problem", "is_clean", "is_corrupt", "merkle_root", "checkpoints_checked"])
        #expect(json["is_corrupt"] as? Bool == true)
        #expect((json["chain_problem"] as? String)?.contains("seq 3") == true)
        #expect(try JSONDecoder().decode(VerifyReport.self, from: try JSONEncoder().encode(report)) == report)
    }
}
