import Foundation
import Testing
@testable import Tally

@Suite("SQLiteError: result codes, messages and constraint kinds, translated once at the connection")
struct SQLiteErrorTests {
    let db: Connection

    init() throws {
        db = try SQLiteConnection(path: ":memory:")
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

    /// The SQLite error `sql` fails with (every failure arrives as `TallyError.sqlite`).
    private func failure(_ sql: String) throws -> SQLiteError {
        do {
            try db.execute(sql, [])
        } catch {
            guard case let .sqlite(sqlite) = error else {
                Issue.record("expected a .sqlite error, got \(error)")
                return SQLiteError(code: .ok, message: "")
            }
            return sqlite
        }
        Issue.record("expected \(sql) to fail")
        return SQLiteError(code: .ok, message: "")
    }

    @Test("a UNIQUE violation reports SQLITE_CONSTRAINT_UNIQUE (2067), the message and the SQL")
    func unique() throws {
        let error = try failure("INSERT INTO t (u, c) VALUES ('a', 1)")
        #expect(error.code.primary == .constraint)
        #expect(error.code == .constraintUnique)
        #expect(error.code.rawValue == 2067)
        #expect(error.message.contains("t.u"))
        #expect(error.sql == "INSERT INTO t (u, c) VALUES ('a', 1)")
        #expect(error.description.contains("constraint"))
    }

    @Test("CHECK, NOT NULL, PRIMARY KEY, FOREIGN KEY and trigger RAISE are told apart by their extended codes")
    func constraintKinds() throws {
        #expect(try failure("INSERT INTO t (c) VALUES (0)").code == .constraintCheck)
        #expect(try failure("INSERT INTO t (c, n) VALUES (1, NULL)").code == .constraintNotNull)
        #expect(try failure("INSERT INTO t (id, c) VALUES (1, 1)").code == .constraintPrimaryKey)
        #expect(try failure("INSERT INTO t (c, p) VALUES (1, 99)").code == .constraintForeignKey)
        let trigger = try failure("DELETE FROM t")
        #expect(trigger.code == .constraintTrigger)
        #expect(trigger.message == "no deletes")
    }

    @Test("a primary code used as a pattern matches its extended codes, an extended one only itself")
    func patternMatching() {
        func kind(_ code: SQLiteError.ResultCode) -> String {
            switch code {
            case .constraintUnique: return "unique"
            case .constraint: return "constraint"
            case .busy, .locked: return "busy"
            default: return "other"
            }
        }
        #expect(kind(.constraintUnique) == "unique")
        #expect(kind(.constraintCheck) == "constraint")
        #expect(kind(.busySnapshot) == "busy")
        #expect(kind(.corrupt) == "other")
    }

    @Test("a syntax error is not a constraint and names the SQL")
    func syntax() throws {
        let error = try #require(throws: TallyError.self) { _ = try db.prepare("SELEC 1") }
        guard case let .sqlite(sqlite) = error else {
            Issue.record("expected .sqlite, got \(error)")
            return
        }
        #expect(sqlite.code == .error)
        #expect(sqlite.sql == "SELEC 1")
    }

    @Test("damage becomes corruptDatabase and a foreign file notATallyDatabase, naming the path")
    func translation() {
        #expect(TallyError(SQLiteError(code: .corrupt, message: "malformed"), path: "x.db") == .corruptDatabase(path: "x.db", detail: "malformed (SQLite code 11)"))
        guard case .notATallyDatabase(path: "x.db", _) = TallyError(SQLiteError(code: .notADatabase, message: "not a database"), path: "x.db") else {
            Issue.record("SQLITE_NOTADB must become notATallyDatabase")
            return
        }
    }

    @Test("arguments appear in errors only when the configuration makes them public")
    func arguments() throws {
        let hidden = try failure("INSERT INTO t (u, c) VALUES ('a', 1)")
        #expect(hidden.arguments == nil)
        let directory = TemporaryDirectory()
        let debugging = try SQLiteConnection(path: directory.file("args.db"))
        var configuration = SQLiteConnection.Configuration()
        configuration.publicStatementArguments = true
        try debugging.configure(configuration)
        try debugging.execute("CREATE TABLE t (u TEXT UNIQUE, c INTEGER) STRICT; INSERT INTO t VALUES ('a', 1)")
        let error = try #require(throws: TallyError.self) { try debugging.execute("INSERT INTO t (u, c) VALUES (?, ?)", ["a", 1]) }
        #expect(error.sqliteError?.arguments == "['a', 1]")
        #expect(error.description.contains("with arguments ['a', 1]"))
    }

    @Test("the command line's classes: constraint → 4, busy → 5, corrupt → 3")
    func exitCodes() {
        #expect(TallyError(SQLiteError(code: .constraintUnique, message: ""), path: "x").exitCode == 4)
        #expect(TallyError(SQLiteError(code: .busy, message: ""), path: "x").exitCode == 5)
        #expect(TallyError(SQLiteError(code: .corrupt, message: ""), path: "x").exitCode == 3)
    }
}
