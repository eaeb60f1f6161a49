import Foundation
import Testing
@testable import Tally

@Suite("Reconcile: database against a snapshot")
struct ReconcileSnapshotTests {
    /// Five invoices, exported.
    private func exported() throws -> (ReconcileFixture, snapshot: String) {
        let fixture = try ReconcileFixture()
        try fixture.seed(5)
        let snapshot = fixture.directory.file("backup.tally.jsonl")
        try fixture.store.exportSnapshot(to: snapshot)
        return (fixture, snapshot)
    }

    @Test("a snapshot of the current database is clean")
    func clean() throws {
        let (fixture, snapshot) = try exported()
        let report = try fixture.store.reconcile(against: .snapshot(snapshot))
        #expect(report == ReconcileReport(target: snapshot, documentsChecked: 5, filesChecked: 5))
    }

    @Test("missing, extra, stale and mismatch after the database moved on")
    func changedDatabase() throws {
        let (fixture, snapshot) = try exported()
        let deleted = try fixture.document(fixture.key(2))
        let before = try fixture.document(fixture.key(3))
        let edited = try fixture.document(fixture.key(4))
        // Snapshot lines: 1 header, then the state records in key order.
        let lineOf = [fixture.key(1): 2, fixture.key(2): 3, fixture.key(3): 4, fixture.key(4): 5, fixture.key(5): 6]

        let added = try fixture.store.state.put("invoices/INV-10", body: ["amount": 5], status: "unpaid")  // missing
        try fixture.store.state.delete(fixture.key(2))                                                     // extra
        let after = try fixture.store.state.update(fixture.key(3), status: "paid")                         // stale
        // Same version, another body: only possible behind Tally's back.
        let body: JSONValue = ["amount": 1]
        let checksum = try ReconcileFixture.checksum(body)
        try fixture.tamper("UPDATE state SET body = '{\"amount\":1}', checksum = '\(checksum)' WHERE key = '\(edited.key)'",
                           dropping: ["state_version_on_update", "state_history_on_update"])

        let report = try fixture.store.reconcile(against: .snapshot(snapshot))
        #expect(report.documentsChecked == 5)
        #expect(report.filesChecked == 5)
        #expect(report.findings.map(\.kind) == [.missing, .extra, .stale, .mismatch])
        let byKind = Dictionary(uniqueKeysWithValues: report.findings.map { ($0.kind, $0) })

        let missing = try #require(byKind[.missing])
        #expect(missing == Finding(kind: .missing, key: "invoices/INV-10", path: snapshot, databaseVersion: 1, fileVersion: nil,
                                   databaseChecksum: added.checksum, fileChecksum: nil, detail: missing.detail))
        #expect(missing.detail.contains("added after the snapshot"))

        let extra = try #require(byKind[.extra])
        #expect(extra == Finding(kind: .extra, key: deleted.key, path: "\(snapshot):\(lineOf[deleted.key]!)",
                                 databaseVersion: nil, fileVersion: 1, databaseChecksum: nil,
                                 fileChecksum: deleted.checksum, detail: extra.detail))

        let stale = try #require(byKind[.stale])
        #expect(stale == Finding(kind: .stale, key: before.key, path: "\(snapshot):\(lineOf[before.key]!)",
                                 databaseVersion: 2, fileVersion: 1, databaseChecksum: after.checksum,
                                 fileChecksum: before.checksum, detail: stale.detail))

        let mismatch = try #require(byKind[.mismatch])
        #expect(mismatch == Finding(kind: .mismatch, key: edited.key, path: "\(snapshot):\(lineOf[edited.key]!)",
                                    databaseVersion: 1, fileVersion: 1, databaseChecksum: checksum,
                                    fileChecksum: edited.checksum, detail: mismatch.detail))
        #expect(mismatch.detail.contains("the body differs"))
    }

    @Test("a snapshot edited after export: the record and the trailer digest are corrupt")
    func editedSnapshot() throws {
        let (fixture, snapshot) = try exported()
        let document = try fixture.document(fixture.key(1))
        let text = String(decoding: try #require(fileBytes(snapshot)), as: UTF8.self)
            .replacingOccurrences(of: "{\"amount\":100,", with: "{\"amount\":999,")
        try fixture.write(Array(text.utf8), to: snapshot)
        let report = try fixture.store.reconcile(against: .snapshot(snapshot))
        #expect(report.findings.count == 2)
        #expect(report.findings.first == Finding(
            kind: .corrupt, key: document.key, path: "\(snapshot):2", databaseVersion: 1, fileVersion: 1,
            databaseChecksum: document.checksum, fileChecksum: document.checksum, detail: report.findings.first?.detail ?? ""))
        let trailer = try #require(report.findings.last)
        #expect(trailer.kind == .corrupt)
        #expect(trailer.key == nil)
        #expect(trailer.path == "\(snapshot):7")  // header, five states, end
        #expect(trailer.detail.contains("SHA-256"))
    }

    @Test("a truncated snapshot says so")
    func truncated() throws {
        let (fixture, snapshot) = try exported()
        let lines = String(decoding: try #require(fileBytes(snapshot)), as: UTF8.self).split(separator: "\n")
        try fixture.write(Array((lines.prefix(3).joined(separator: "\n") + "\n").utf8), to: snapshot)
        let report = try fixture.store.reconcile(against: .snapshot(snapshot))
        #expect(report.findings.map(\.kind) == [.missing, .missing, .missing, .corrupt])
        #expect(report.findings.last?.detail.contains("truncated") == true)
    }

    @Test("a file that is not a snapshot, or out of key order, is an error naming the line")
    func notASnapshot() throws {
        let (fixture, snapshot) = try exported()
        let other = fixture.directory.file("other.jsonl")
        try fixture.write(Array("{\"hello\":1}\n".utf8), to: other)
        let error = try #require(throws: TallyError.self) { try fixture.store.reconcile(against: .snapshot(other)) }
        guard case let .snapshot(path, line, _) = error else {
            Issue.record("expected a snapshot error, got \(error)")
            return
        }
        #expect(path == other)
        #expect(line == 1)

        var lines = String(decoding: try #require(fileBytes(snapshot)), as: UTF8.self).split(separator: "\n").map(String.init)
        lines.swapAt(2, 3)
        try fixture.write(Array((lines.joined(separator: "\n") + "\n").utf8), to: snapshot)
        let order = try #require(throws: TallyError.self) { try fixture.store.reconcile(against: .snapshot(snapshot)) }
        #expect(order.description.contains("key order"))
        #expect(order.description.contains("\(snapshot):4"))
    }

    @Test("an interrupted export's temporary file beside the snapshot is an orphan temp")
    func orphanTemp() throws {
        let (fixture, snapshot) = try exported()
        let temp = fixture.directory.file(".backup.tally.jsonl.tmp-QWE123")
        try fixture.write(Array("{".utf8), to: temp)
        try fixture.write(Array("{".utf8), to: fixture.directory.file(".unrelated.tmp-QWE123"))
        let report = try fixture.store.reconcile(against: .snapshot(snapshot))
        #expect(report.findings.map(\.kind) == [.orphanTemp])
        #expect(report.findings.first?.path == temp)
    }

    @Test("a snapshot with a key prefix is compared only under that prefix")
    func keyPrefix() throws {
        let fixture = try ReconcileFixture()
        try fixture.seed(2)
        try fixture.store.state.put("accounts/A-1", body: ["limit": 1])
        var options = Store.ExportOptions()
        options.keyPrefix = "invoices/"
        let snapshot = fixture.directory.file("invoices.jsonl")
        try fixture.store.exportSnapshot(to: snapshot, options: options)
        try fixture.store.state.put("accounts/A-2", body: ["limit": 2])
        let report = try fixture.store.reconcile(against: .snapshot(snapshot))
        #expect(report.isClean)
        #expect(report.documentsChecked == 2)
    }
}
