import Foundation
import Testing
@testable import Tally

/// Moving between engines is an export and an import: the snapshots are the same bytes
/// (apart from the header's `created_at`), and reconciling either database against the
/// other's snapshot is clean.
@Suite("Snapshots across engines: SQLite → PostgreSQL → SQLite, byte for byte",
       .enabled(if: Backend.postgresURI != nil, "needs the PostgreSQL test server (TALLY_TEST_POSTGRES)"))
struct CrossBackendTests {
    /// The snapshot's records: without the header (which holds created_at) and the trailer
    /// (whose digest covers the header).
    private func records(_ path: String) throws -> [Substring] {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count >= 2)
        return Array(lines.dropFirst().dropLast())
    }

    @Test("export from SQLite, import into PostgreSQL, export again, import back into SQLite: the same records, and reconcile is clean")
    func roundTrip() throws {
        let sqlite = TestStores(.sqlite)
        let postgres = TestStores(.postgres)
        let original = try sqlite.store("original")
        try original.write { tx in
            for index in 0..<50 {
                let event = try tx.ledger.append(stream: "invoice/\(index % 7)", kind: index % 3 == 0 ? "payment" : "charge",
                                                 amount: Int64(index * 100 - 2_000), currency: index % 2 == 0 ? "EUR" : "JPY",
                                                 payload: ["n": .number(Double(index)), "note": "caf\u{e9} \u{1F600}", "ratio": 0.1])
                if index % 5 == 0 {
                    try tx.state.put("invoices/INV-\(index)", body: ["total": .number(Double(index)), "lines": [1, 2.5, "x"]],
                                     status: "open", causedBy: event)
                }
            }
        }
        try original.state.delete("invoices/INV-0")
        _ = try original.signCheckpoint(with: try Checkpoint.SigningKey.generate(forLedger: try original.ledgerID()))
        try original.consumer("projection").process { _, _ in }

        let first = sqlite.directory.file("first.jsonl")
        try original.exportSnapshot(to: first)
        let onPostgres = try postgres.store("moved")
        let imported = try onPostgres.importSnapshot(from: first)
        #expect(imported.eventsAppended == 50 && imported.checkpoints == 1 && imported.consumers == 1)
        #expect(try onPostgres.verify().isClean)
        #expect(try onPostgres.ledgerID() == original.ledgerID())

        let second = sqlite.directory.file("second.jsonl")
        try onPostgres.exportSnapshot(to: second)
        #expect(try records(second) == records(first))
        #expect(try original.reconcile(against: .snapshot(second)).isClean)
        #expect(try onPostgres.reconcile(against: .snapshot(first)).isClean)

        let back = try sqlite.store("back")
        try back.importSnapshot(from: second)
        let third = sqlite.directory.file("third.jsonl")
        try back.exportSnapshot(to: third)
        #expect(try records(third) == records(first))
    }

    @Test("the character U+0000 is kept by SQLite and refused by PostgreSQL with the reason, in a put, an append and an import, writing nothing")
    func nulCharacter() throws {
        let sqlite = TestStores(.sqlite)
        let postgres = TestStores(.postgres)
        let body: JSONValue = ["note": "a\u{0}b"]
        let source = try sqlite.store("source")
        try source.state.put("docs/nul", body: body)
        try source.ledger.append(stream: "s", kind: "k", payload: ["\u{0}": 1])
        #expect(try source.state.get("docs/nul")?.body == body)
        let snapshot = sqlite.directory.file("nul.jsonl")
        try source.exportSnapshot(to: snapshot)

        let target = try postgres.store("target")
        // Inside a larger transaction the refusal fails the call, and the transaction goes on.
        try target.write { tx in
            #expect(throws: TallyError.self) { _ = try tx.state.put("docs/nul", body: body) }
            try tx.state.put("docs/kept", body: ["n": 1])
        }
        #expect(try target.state.get("docs/kept")?.body == ["n": 1])
        let before = try databaseDump(postgres, "target")
        func expectRefused(_ field: String, _ attempt: () throws -> Void) throws {
            let error = try #require(throws: TallyError.self) { try attempt() }
            #expect(error.problem.contains("\(field)"), "\(error)")
            #expect(error.problem.contains("holds the character U+0000 (\\u0000), which PostgreSQL's jsonb cannot store"), "\(error)")
        }
        try expectRefused("body of 'docs/nul'") { _ = try target.state.put("docs/nul", body: body) }
        try expectRefused("payload") { _ = try target.ledger.append(stream: "s", kind: "k", payload: ["\u{0}": 1]) }
        let imported = try #require(throws: TallyError.self) { try target.importSnapshot(from: snapshot, mode: .merge) }
        #expect(imported.problem.contains("U+0000"), "\(imported)")
        #expect(try databaseDump(postgres, "target") == before)
        // A backslash followed by "u0000" is not the character and is kept.
        try target.state.put("docs/backslash", body: ["path": "C:\\u0000"])
        #expect(try target.state.get("docs/backslash")?.body == ["path": "C:\\u0000"])
    }
}
