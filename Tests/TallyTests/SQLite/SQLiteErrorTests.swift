import Foundation
import Testing
@testable import Tally

@Suite("SQLiteError: codes, messages and constraint kinds")
struct SQLiteErrorTests {
    let db: Connection

    init() throws {
        db = try Connection(path: ":memory:")
        try db.execute("""
            PRAGMA foreign_keys = ON;
            CREATE TABLE parent (id INTEGER PRIMARY KEY);
            CREATE TABLE t (
                id INTEGER PRIMARY KEY,
                u TEXT UNIQUE,
                c INTEGER CHECK (c > 0),
                n TEXT NOT NULL DEFAULT 'x',
                p INTEGER REFERENCES parent (id)
            ) STRICT;
            CREATE TRIGGER t_no_delete BEFORE DELETE ON t BEGIN SELECT RAISE(ABORT, 'no deletes'); END;
            INSERT INTO t (id, u, c) VALUES (1, 'a', 1);
            """)
    }

    private func failure(_ sql: String) throws -> SQLiteError {
        do {
            try db.execute(sql, [])
        } catch {
            return error
        }
        Issue.record("expected \(sql) to fail")
        return SQLiteError(code: 0, message: "")
    }

    @Test("a UNIQUE violation reports SQLITE_CONSTRAINT_UNIQUE (2067), the message and the SQL")
    func unique() throws {
        let error = try failure("INSERT INTO t (u, c) VALUES ('a', 1)")
        #expect(error.resultCode == 19)
        #expect(error.extendedResultCode == 2067)
        #expect(error.constraint == .unique)
        #expect(error.message.contains("t.u"))
        #expect(error.sql == "INSERT INTO t (u, c) VALUES ('a', 1)")
        #expect(error.description.contains("SQLITE_CONSTRAINT") || error.description.contains("constraint"))
    }

    @Test("CHECK, NOT NULL, PRIMARY KEY, FOREIGN KEY and trigger RAISE are told apart")
    func constraintKinds() throws {
        #expect(try failure("INSERT INTO t (c) VALUES (0)").constraint == .check)
        #expect(try failure("INSERT INTO t (c, n) VALUES (1, NULL)").constraint == .notNull)
        #expect(try failure("INSERT INTO t (id, c) VALUES (1, 1)").constraint == .primaryKey)
        #expect(try failure("INSERT INTO t (c, p) VALUES (1, 99)").constraint == .foreignKey)
        let trigger = try failure("DELETE FROM t")
        #expect(trigger.constraint == .trigger)
        #expect(trigger.message == "no deletes")
    }

    @Test("a syntax error is not a constraint and names the SQL")
    func syntax() throws {
        let error = try #require(throws: SQLiteError.self) { _ = try db.prepare("SELEC 1") }
        #expect(error.constraint == nil)
        #expect(error.resultCode == 1)
        #expect(error.sql == "SELEC 1")
    }

    @Test("arguments appear in errors only when the configuration makes them public")
    func arguments() throws {
        let hidden = try failure("INSERT INTO t (u, c) VALUES ('a', 1)")
        #expect(hidden.arguments == nil)
        let directory = TemporaryDirectory()
        let debugging = try Connection(path: directory.file("args.db"))
        var configuration = Connection.Configuration()
        configuration.publicStatementArguments = true
        try debugging.configure(configuration)
        try debugging.execute("CREATE TABLE t (u TEXT UNIQUE, c INTEGER) STRICT; INSERT INTO t VALUES ('a', 1)")
        let error = try #require(throws: SQLiteError.self) { try debugging.execute("INSERT INTO t (u, c) VALUES (?, ?)", ["a", 1]) }
        #expect(error.arguments == "['a', 1]")
        #expect(error.description.contains("with arguments ['a', 1]"))
    }

    @Test("exit codes: constraint → 4, busy → 5, corrupt → 3")
    func exitCodes() {
        #expect(SQLiteError(code: 2067, message: "").exitCode == 4)
        #expect(SQLiteError(code: 5, message: "").exitCode == 5)
        #expect(SQLiteError(code: 11, message: "").exitCode == 3)
        #expect(SQLiteError(code: 26, message: "").exitCode == 3)
    }
}
