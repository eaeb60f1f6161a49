import Foundation
import Testing
@testable import Tally

private struct Boom: Error {}

@Suite("Transactions, savepoints, WAL, backup and checkpoint")
struct TransactionTests {
    let directory = TemporaryDirectory()

    private func openTable(_ name: String = "t.db") throws -> SQLiteConnection {
        let db = try SQLiteConnection(path: directory.file(name))
        try db.configure(SQLiteConnection.Configuration())
        try db.execute("CREATE TABLE IF NOT EXISTS t (v INTEGER) STRICT")
        return db
    }

    @Test("a transaction commits on return and rolls back on throw")
    func commitAndRollback() throws {
        let db = try openTable()
        try db.transaction(.immediate, throwing: { try db.execute("INSERT INTO t VALUES (1)") })
        #expect(throws: Boom.self) {
            try db.transaction(.immediate, throwing: {
                try db.execute("INSERT INTO t VALUES (2)")
                throw Boom()
            })
        }
        #expect(try db.scalarText("SELECT group_concat(v) FROM t") == "1")
        #expect(db.isInTransaction == false)
    }

    @Test("a failing savepoint undoes only its own changes")
    func savepoints() throws {
        let db = try openTable()
        try db.transaction(.immediate, throwing: {
            try db.execute("INSERT INTO t VALUES (1)")
            _ = try? db.savepoint(throwing: {
                try db.execute("INSERT INTO t VALUES (2)")
                throw Boom()
            })
            try db.savepoint(throwing: {
                try db.execute("INSERT INTO t VALUES (3)")
                _ = try? db.savepoint(throwing: {
                    try db.execute("INSERT INTO t VALUES (4)")
                    throw Boom()
                })
            })
        })
        #expect(try db.rows("SELECT v FROM t ORDER BY v") == [[.integer(1)], [.integer(3)]])
    }

    @Test("savepoints nested deeper than the prepared ones still undo only their own level, and reuse works", arguments: [1, 3, 4, 6])
    func deepSavepoints(depth: Int) throws {
        let db = try openTable("deep-\(depth).db")
        // Each level inserts its number; the innermost fails, the others commit. Twice, so
        // the prepared statements of the first levels are reused after a rollback.
        func nest(_ level: Int) throws {
            try db.execute("INSERT INTO t VALUES (\(level))")
            guard level < depth else { throw Boom() }
            _ = try? db.savepoint(throwing: { try nest(level + 1) })
        }
        for _ in 0..<2 {
            try db.transaction(.immediate, throwing: { _ = try? db.savepoint(throwing: { try nest(1) }) })
        }
        let kept = depth == 1 ? [] : Array(1..<depth) + Array(1..<depth)
        #expect(try db.rows("SELECT v FROM t ORDER BY v").map { $0[0] } == kept.sorted().map { .integer(Int64($0)) })
        #expect(db.isInTransaction == false)
    }

    @Test("journal mode is WAL, synchronous is FULL, and a writer keeps statement journals in memory by default")
    func walAndSync() throws {
        let db = try openTable()
        #expect(try db.scalarText("PRAGMA journal_mode") == "wal")
        #expect(try db.scalarInt("PRAGMA synchronous") == 2)
        #expect(try db.scalarInt("PRAGMA foreign_keys") == 1)
        #expect(try db.scalarInt("PRAGMA temp_store") == 2)
        // A reader keeps SQLite's default, so large sorts can spill to disk.
        let reader = try SQLiteConnection(path: directory.file("t.db"), mode: .readOnly)
        try reader.configure(SQLiteConnection.Configuration())
        #expect(try reader.scalarInt("PRAGMA temp_store") == 0)
    }

    @Test("a reader keeps a consistent snapshot while the writer commits")
    func readerSnapshot() throws {
        let writer = try openTable()
        try writer.execute("INSERT INTO t VALUES (1)")
        let reader = try SQLiteConnection(path: directory.file("t.db"), mode: .readOnly)
        try reader.configure(SQLiteConnection.Configuration())
        try reader.transaction(.deferred) {
            #expect(try reader.scalarInt("SELECT count(*) FROM t") == 1)
            try writer.execute("INSERT INTO t VALUES (2)")
            try writer.transaction(.immediate) { try writer.execute("INSERT INTO t VALUES (3)") }
            #expect(try reader.scalarInt("SELECT count(*) FROM t") == 1)
        }
        #expect(try reader.scalarInt("SELECT count(*) FROM t") == 3)
    }

    @Test("online backup copies a consistent database; checkpoint truncates the WAL")
    func backupAndCheckpoint() throws {
        let db = try openTable()
        try db.transaction(.immediate) {
            for value in 0..<1000 { try db.execute("INSERT INTO t VALUES (?)", [value]) }
        }
        let copy = try SQLiteConnection(path: directory.file("copy.db"))
        var progressCalls = 0
        try db.backup(to: copy, pagesPerStep: 1) { _, _ in progressCalls += 1 }
        #expect(progressCalls > 1)
        #expect(try copy.scalarInt("SELECT sum(v) FROM t") == 499_500)
        let result = try db.checkpoint(.truncate)
        #expect(result.wasBusy == false)
        let walSize = (try? FileManager.default.attributesOfItem(atPath: directory.file("t.db-wal"))[.size] as? Int) ?? 0
        #expect(walSize == 0)
    }

    @Test("a busy writer gets SQLITE_BUSY after the timeout, as an error that says so")
    func busy() throws {
        let first = try openTable()
        let second = try SQLiteConnection(path: directory.file("t.db"), busyTimeout: 0.05)
        try first.execute("BEGIN IMMEDIATE")
        defer { try? first.execute("ROLLBACK") }
        let error = try #require(throws: TallyError.self) { try second.execute("BEGIN IMMEDIATE") }
        #expect(error.isBusy)
        #expect(error.exitCode == 5)
    }
}
