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
}
