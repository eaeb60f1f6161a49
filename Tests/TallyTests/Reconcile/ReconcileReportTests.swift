import Foundation
import Testing
@testable import Tally

@Suite("Reconcile: report JSON schema and tables")
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
        #expect(Set(json.keys) == ["target", "documents_checked", "files_checked", "findings", "repairs", "is_clean", "exit_status"])
        #expect(json["exit_status"] as? Int == 1)
        #expect(json["is_clean"] as? Bool == false)
        #expect(try JSONDecoder().decode(ReconcileReport.self, from: try JSONEncoder().encode(report)) == report)
    }

    @Test("a verify report encodes its derived members and round-trips")
    func verifySchema() throws {
        let chain = ChainReport(eventsChecked: 5, headSeq: 5, headHash: String(repeating: "c", count: 64),
                                firstBreak: ChainBreak(seq: 3, reason: .gap(expected: 2)))
        let report = VerifyReport(integrityCheck: ["ok"], foreignKeyProblems: [], chain: chain, documentsChecked: 1,
                                  findings: [])
        let json = try object(report)
        #expect(Set(json.keys) == ["integrity_check", "foreign_key_problems", "chain", "documents_checked", "findings",
                                   "chain_problem", "is_clean", "exit_status"])
        #expect(json["exit_status"] as? Int == 3)
        #expect((json["chain_problem"] as? String)?.contains("seq 3") == true)
        #expect(try JSONDecoder().decode(VerifyReport.self, from: try JSONEncoder().encode(report)) == report)
    }

    @Test("the table groups findings by kind, aligns the columns and ends with a summary")
    func table() throws {
        let report = ReconcileReport(target: "m", documentsChecked: 3, filesChecked: 4, findings: [finding, stale])
        let lines = report.renderTable().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "Reconciled the database with m: 3 documents, 4 files checked.")
        let header = try #require(lines.firstIndex { $0.hasPrefix("KIND") })
        // stale comes before orphan_temp (kind order), whatever the order found.
        #expect(lines[header + 1].hasPrefix("stale "))
        #expect(lines[header + 2].hasPrefix("orphan_temp "))
        let detailColumn = try #require(lines[header].range(of: "DETAIL")).lowerBound.utf16Offset(in: lines[header])
        #expect(lines[header + 1].utf16.count > detailColumn)
        #expect(String(lines[header + 1].dropFirst(detailColumn)) == "older")
        #expect(String(lines[header + 2].dropFirst(detailColumn)) == "left over")
        #expect(lines.last == "2 findings (1 stale, 1 orphan_temp). The database is the source of truth: "
            + "`tally reconcile --dir DIR --repair` rewrites a mirror from it.")
        #expect(ReconcileReport(target: "m").renderTable().hasSuffix("Clean: the database and m agree."))
    }
}
