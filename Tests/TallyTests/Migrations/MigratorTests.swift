import Foundation
import Testing
@testable import Tally

@Suite("Migrator: embedded schema, history checks and refusals")
struct MigratorTests {
    let directory = TemporaryDirectory()

    @Test("the embedded migrations are exactly the files in Migrations/")
    func embeddedEqualsFolder() throws {
        let folder = packageRoot.appendingPathComponent("Migrations")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        #expect(Migrator.embedded.migrations.map(\.name) == names)
        for migration in Migrator.embedded.migrations {
            let bytes = try Data(contentsOf: folder.appendingPathComponent(migration.name))
            #expect(Data(migration.sql.utf8) == bytes, "\(migration.name) differs from the embedded copy")
            #expect(migration.checksum == Digest.sha256Hex(bytes))
        }
        #expect(Migrator.embedded.migrations.map(\.version) == Array(1...names.count))
    }

    @Test("a new database is migrated, recorded and marked as Tally's")
    func freshDatabase() throws {
        let path = directory.file("new.db")
        let store = try Store(path: path)
        #expect(store.appliedMigrations == Migrator.embedded.migrations.map(\.name))
        let db = try SQLiteConnection(path: path)
        #expect(try db.scalarInt("PRAGMA application_id") == Int64(Migrator.applicationID))
        #expect(try db.scalarInt("PRAGMA user_version") == Int64(Migrator.embedded.latestVersion))
        #expect(try db.scalarText("SELECT checksum FROM schema_migrations WHERE version = 1") == Migrator.embedded.migrations[0].checksum)
        for table in ["ledger", "state", "state_history"] {
            #expect(try db.scalarText("SELECT sql FROM sqlite_schema WHERE name = ?", [table])?.contains("STRICT") == true)
        }
        for view in ["ledger_balances", "state_by_status", "ledger_recent"] {
            #expect(try db.scalarInt("SELECT count(*) FROM sqlite_schema WHERE type = 'view' AND name = ?", [view]) == 1)
        }
        let reopened = try Store(path: path)
        #expect(reopened.appliedMigrations.isEmpty)
        #expect(try reopened.migrationStatus().pending.isEmpty)
    }

    @Test("the ledger refuses UPDATE and DELETE issued as raw SQL")
    func ledgerAppendOnly() throws {
        let path = directory.file("l.db")
        _ = try Store(path: path)
        let db = try SQLiteConnection(path: path)
        try db.execute("""
            INSERT INTO ledger (seq, event_id, stream, stream_version, kind, recorded_at, prev_hash, hash)
            VALUES (1, 'e1', 's', 1, 'charge', '2026-01-01T00:00:00.000Z', '\(Digest.zeroHash)', '\(String(repeating: "a", count: 64))')
            """)
        for sql in ["UPDATE ledger SET kind = 'refund'", "DELETE FROM ledger"] {
            let error = try #require(throws: TallyError.self) { try db.execute(sql) }
            #expect(error.sqliteError?.code == .constraintTrigger)
            #expect(error.sqliteError?.message == "ledger is append-only")
        }
        #expect(try db.scalarText("SELECT kind FROM ledger") == "charge")
    }

    @Test("a comment-only revision of a released migration is accepted from databases that recorded the released text")
    func commentOnlyRevision() throws {
        // Release 0.1 recorded this checksum for 0001_initial.sql. The revision since then
        // rewrote comments only (see the commit that added the checksum to
        // `Migrator.commentOnlyRevisions`); the statements SQLite runs are unchanged.
        let releasedChecksum = "fae0f8f0f18c6736adf02fe55d762b2300030cc3a9c61c7996f9d83d00b3c928"
        let current = Migrator.embedded.migrations[0]
        #expect(releasedChecksum != current.checksum)
        #expect(Migrator.commentOnlyRevisions[1] == [releasedChecksum])
        #expect(current.matches(recorded: releasedChecksum))
        #expect(!current.matches(recorded: String(repeating: "0", count: 64)))

        // A database made by 0.1 recorded the released checksum: it opens, and keeps its record.
        let path = directory.file("released.db")
        _ = try Store(path: path)
        try SQLiteConnection(path: path).execute("UPDATE schema_migrations SET checksum = ? WHERE version = 1", [releasedChecksum])
        _ = try Store(path: path)
        #expect(try SQLiteConnection(path: path).scalarText("SELECT checksum FROM schema_migrations WHERE version = 1") == releasedChecksum)
    }

    /// Runs `open` against the file and checks it throws `expected` and leaves the bytes alone.
    private func expectRefusal(_ path: String, matches: (TallyError) -> Bool) throws {
        let before = fileBytes(path)
        let error = try #require(throws: TallyError.self) { _ = try Store(path: path) }
        #expect(matches(error), "unexpected error: \(error)")
        #expect(fileBytes(path) == before, "the refused file was modified")
        #expect(!error.description.isEmpty)
    }

    @Test("an applied migration whose text changed is refused, and nothing changes")
    func changedMigration() throws {
        let path = directory.file("changed.db")
        _ = try Store(path: path)
        let db = try SQLiteConnection(path: path)
        try db.execute("UPDATE schema_migrations SET checksum = 'deadbeef' WHERE version = 1")
        _ = try db.checkpoint(.truncate)
        try expectRefusal(path) {
            if case .migrationChanged(_, 1, "0001_initial.sql", "deadbeef", _) = $0 { return true }
            return false
        }
    }

    @Test("a database newer than this build is refused, and nothing changes")
    func newerDatabase() throws {
        let path = directory.file("newer.db")
        _ = try Store(path: path)
        let db = try SQLiteConnection(path: path)
        try db.execute("PRAGMA user_version = 99")
        _ = try db.checkpoint(.truncate)
        try expectRefusal(path) {
            if case .schemaTooNew(_, 99, Migrator.embedded.latestVersion) = $0 { return true }
            return false
        }
    }

    @Test("a migration recorded in the database but unknown to this build is refused")
    func unknownRecordedMigration() throws {
        let path = directory.file("unknown.db")
        _ = try Store(path: path)
        let db = try SQLiteConnection(path: path)
        try db.execute("INSERT INTO schema_migrations VALUES (42, '0042_future.sql', 'x', 'now')")
        _ = try db.checkpoint(.truncate)
        try expectRefusal(path) {
            if case .schemaTooNew(_, 42, _) = $0 { return true }
            return false
        }
    }

    @Test("someone else's SQLite database is refused and left untouched")
    func foreignDatabase() throws {
        let path = directory.file("foreign.db")
        let db = try SQLiteConnection(path: path)
        try db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
        try expectRefusal(path) {
            if case let .notATallyDatabase(_, reason) = $0 { return reason.contains("application_id") }
            return false
        }
        try db.execute("PRAGMA application_id = 1234")
        try expectRefusal(path) {
            if case let .notATallyDatabase(_, reason) = $0 { return reason.contains("0x000004D2") }
            return false
        }
    }

    @Test("a file of random bytes gives a clear error, not a crash, and is not modified")
    func randomBytes() throws {
        let path = directory.file("random.db")
        var generator = SystemRandomNumberGenerator()
        let bytes = Data((0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try bytes.write(to: URL(fileURLWithPath: path))
        try expectRefusal(path) {
            if case let .notATallyDatabase(_, reason) = $0 { return reason.contains("not an SQLite database") }
            return false
        }
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test("a read-only open of a database that needs migrating is refused")
    func readOnlyPending() throws {
        let path = directory.file("old.db")
        let older = Migrator(migrations: [Migration(version: 1, name: "0001_initial.sql", sql: "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT;", checksum: "c1")])
        let db = try SQLiteConnection(path: path)
        try older.migrate(db)
        // History says version 1 has another checksum than ours: refused even read-only.
        var configuration = Store.Configuration()
        configuration.readOnly = true
        #expect(throws: TallyError.self) { _ = try Store(path: path, configuration: configuration) }
    }

    @Test("a read-only open of an empty file and of a missing directory is refused clearly")
    func readOnlyAndMissing() throws {
        var configuration = Store.Configuration()
        configuration.readOnly = true
        let empty = directory.file("empty.db")
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        #expect(throws: TallyError.self) { _ = try Store(path: empty, configuration: configuration) }
        let error = try #require(throws: TallyError.self) { _ = try Store(path: directory.file("no/such/dir/x.db")) }
        #expect(error.exitCode == 5)
    }

    @Test("two stores opening the same new file at once migrate it exactly once")
    func concurrentFirstOpen() async throws {
        let path = directory.file("race.db")
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask { try Store(path: path).appliedMigrations.count }
            }
            var total = 0
            for try await count in group { total += count }
            #expect(total == Migrator.embedded.migrations.count)
        }
    }

    @Test("a pending migration is applied on top of an older schema, in its own transaction")
    func pendingApplied() throws {
        let path = directory.file("steps.db")
        let base = Migrator.embedded.migrations
        let next = Migration(version: base.count + 1, name: "9999_extra.sql", sql: "CREATE TABLE extra (x INTEGER) STRICT;", checksum: "e")
        let db = try SQLiteConnection(path: path)
        try Migrator(migrations: base).migrate(db)
        let applied = try Migrator(migrations: base + [next]).migrate(db)
        #expect(applied == [next])
        #expect(try db.scalarInt("PRAGMA user_version") == Int64(next.version))
        let broken = Migration(version: base.count + 2, name: "bad.sql", sql: "CREATE TABLE extra (x INTEGER);", checksum: "b")
        #expect(throws: TallyError.self) { try Migrator(migrations: base + [next, broken]).migrate(db) }
        #expect(try db.scalarInt("PRAGMA user_version") == Int64(next.version))
    }
}
