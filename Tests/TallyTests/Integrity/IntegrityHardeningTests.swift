import Foundation
import Testing
@testable import Tally

/// The database is checked, not trusted: its schema against the migrations, its ledger against
/// what SQLite itself remembers, and every event as it is read.
@Suite("Integrity: a database edited behind Tally's back is noticed by verify, by reads and at open")
struct IntegrityHardeningTests {
    private func ledgerWithEvents(_ count: Int = 5) throws -> ReconcileFixture {
        let fixture = try ReconcileFixture()
        for index in 1...count {
            try fixture.store.ledger.append(NewEvent(stream: "invoice/\(index % 2)", kind: "charge",
                                                     amount: Int64(index * 100), currency: "EUR"))
        }
        return fixture
    }

    @Test("a dropped trigger is schema corruption: verify exits 3 and a write open refuses with the same words")
    func droppedTrigger() throws {
        let fixture = try ledgerWithEvents()
        let path = fixture.databasePath
        try ReconcileFixture.tamper(path, "DROP TRIGGER ledger_no_update")
        let report = try fixture.store.verify()
        #expect(report.schemaProblems.contains { $0.contains("ledger_no_update") }, "\(report.schemaProblems)")
        #expect(report.isCorrupt && report.exitStatus == 3)

        let error = try #require(throws: TallyError.self) { try Store(path: path) }
        #expect(error.problem.contains("ledger_no_update"), "\(error)")
        #expect(error.exitCode == 3 || error.exitCode == 2)
    }

    @Test("an altered trigger (same name, another body) is schema corruption too")
    func alteredTrigger() throws {
        let fixture = try ledgerWithEvents()
        try ReconcileFixture.tamper(fixture.databasePath, """
            DROP TRIGGER ledger_no_delete;
            CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger WHEN 0 BEGIN SELECT 1; END
            """)
        let report = try fixture.store.verify()
        #expect(report.schemaProblems.contains { $0.contains("ledger_no_delete") }, "\(report.schemaProblems)")
        #expect(report.exitStatus == 3)
        #expect(throws: TallyError.self) { try Store(path: fixture.databasePath) }
    }

    @Test("extra indexes and views a user adds for queries are allowed; an extra trigger on Tally's tables is not")
    func userAdditions() throws {
        let fixture = try ledgerWithEvents()
        try ReconcileFixture.tamper(fixture.databasePath, """
            CREATE INDEX my_kind ON ledger(kind);
            CREATE VIEW my_charges AS SELECT * FROM ledger WHERE kind = 'charge'
            """)
        #expect(try fixture.store.verify().schemaProblems.isEmpty)
        _ = try Store(path: fixture.databasePath)
        try ReconcileFixture.tamper(fixture.databasePath,
                                    "CREATE TRIGGER sneaky AFTER INSERT ON ledger BEGIN SELECT 1; END")
        #expect(try fixture.store.verify().schemaProblems.contains { $0.contains("sneaky") })
    }

    @Test("a ledger whose tail was deleted with plain SQL is found from what SQLite remembers: exit 3")
    func tailRemoved() throws {
        let fixture = try ledgerWithEvents(6)
        try fixture.tamper("DELETE FROM ledger WHERE seq > 4", dropping: ["ledger_no_delete"])
        let report = try fixture.store.verify()
        #expect(report.chain.firstBreak?.reason == .tailRemoved(rememberedSeq: 6), "\(report.chain)")
        #expect(report.exitStatus == 3)
    }

    @Test("a state row that points at an event removed from the tail is noticed even if sqlite_sequence was reset too")
    func tailRemovedWithSequenceReset() throws {
        let fixture = try ledgerWithEvents(3)
        try fixture.store.write { tx in
            let event = try tx.ledger.append(NewEvent(stream: "invoice/9", kind: "charge", amount: 5, currency: "EUR"))
            try tx.state.put("invoices/INV-9", body: ["seq": .number(Double(event.seq))], causedBy: event)
        }
        try fixture.tamper("DELETE FROM ledger WHERE seq = 4; UPDATE sqlite_sequence SET seq = 3 WHERE name = 'ledger'",
                           dropping: ["ledger_no_delete"])
        let report = try fixture.store.verify()
        #expect(!report.isClean)
        #expect(report.findings.contains { $0.kind == .missing && $0.key == "invoices/INV-9" }, "\(report.findings)")
    }

    @Test("a database whose user_version and migration records were reset is refused, not 'already up to date'")
    func migrationRecordsReset() throws {
        let fixture = try ledgerWithEvents()
        let before = try #require(fileBytes(fixture.databasePath))
        _ = before
        try ReconcileFixture.tamper(fixture.databasePath, "DELETE FROM schema_migrations; PRAGMA user_version = 0")
        let error = try #require(throws: TallyError.self) { try Store(path: fixture.databasePath) }
        #expect(error.problem.contains("reset") || error.problem.contains("migration"), "\(error)")
        // Nothing was re-applied on top of the existing tables.
        let count = try SQLiteConnection(path: fixture.databasePath, mode: .readOnly).scalarInt("SELECT count(*) FROM schema_migrations")
        #expect(count == 0)
    }

    @Test("ledger reads are verified as they page: log, balances and export fail with corruption on an edited event")
    func verifiedLedgerReads() throws {
        let fixture = try ledgerWithEvents(5)
        try fixture.tamper("UPDATE ledger SET amount = amount + 1 WHERE seq = 3", dropping: ["ledger_no_update"])
        let store = fixture.store

        var cursor = store.ledger.events()
        let read = try #require(throws: TallyError.self) { _ = try cursor.collect() }
        #expect(read.exitCode == 3, "\(read)")
        #expect(read.problem.contains("seq 3") || read.problem.contains("3"), "\(read)")

        var balances = store.ledger.balances()
        let balance = try #require(throws: TallyError.self) { _ = try balances.collect() }
        #expect(balance.exitCode == 3)

        #expect(throws: TallyError.self) { _ = try store.ledger.event(seq: 3) }
        let export = try #require(throws: TallyError.self) {
            try store.exportSnapshot(to: fixture.directory.file("out.jsonl"))
        }
        #expect(export.exitCode == 3)
        #expect(!FileManager.default.fileExists(atPath: fixture.directory.file("out.jsonl")))
    }

    @Test("append checks the tip it extends: an edited last event stops the chain from growing on it", arguments: [
        "amount = 1",
        "payload = '{\"n\":999}'",
        "payload = '{ }'",  // the same value, not in its canonical form: not the bytes that were hashed
        "kind = 'refund'",
        "recorded_at = '2001-01-01T00:00:00.000Z'",
        "event_id = 'forged'",
    ])
    func appendChecksTip(edit: String) throws {
        let fixture = try ledgerWithEvents(3)
        try fixture.tamper("UPDATE ledger SET \(edit) WHERE seq = 3", dropping: ["ledger_no_update"])
        let error = try #require(throws: TallyError.self) {
            try fixture.store.ledger.append(NewEvent(stream: "x", kind: "charge", amount: 1, currency: "EUR"))
        }
        #expect(error.exitCode == 3, "\(error)")
        #expect(try fixture.store.sql { try $0.scalarInt("SELECT count(*) FROM ledger") } == 3)
    }
}
