import Foundation
import Testing
@testable import Tally

/// The database engines a parameterized suite runs on: SQLite always, PostgreSQL when the
/// test server is configured (`TALLY_TEST_POSTGRES`, a connection string to a database the
/// tests may create schemas in; `.ci/run` starts one and sets it). With
/// `TALLY_REQUIRE_POSTGRES=1` a missing server fails the run instead of narrowing it.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// The test server's connection string, if any.
    static let postgresURI: String? = {
        let value = ProcessInfo.processInfo.environment["TALLY_TEST_POSTGRES"] ?? ""
        return value.isEmpty ? nil : value
    }()

    /// The engines to run on here.
    static var available: [Backend] {
        if postgresURI != nil { return [.sqlite, .postgres] }
        if ProcessInfo.processInfo.environment["TALLY_REQUIRE_POSTGRES"] == "1" { return [.sqlite, .postgres] }
        return [.sqlite]
    }
}

/// Stores for one test on one engine: files in a temporary directory, or schemas of their
/// own on the PostgreSQL test server (created here, dropped when the value goes away), so
/// tests never see each other's data.
final class TestStores: @unchecked Sendable {
    let backend: Backend
    let directory = TemporaryDirectory("tally-backend")
    private var schemas: [String] = []

    init(_ backend: Backend) {
        self.backend = backend
    }

    deinit {
        guard !schemas.isEmpty, let uri = Backend.postgresURI, let admin = try? PostgresConnection(conninfo: uri) else { return }
        for schema in schemas { try? admin.execute("DROP SCHEMA IF EXISTS \(schema) CASCADE") }
    }

    /// A store named `name` (the same name gives the same database within this test).
    func store(_ name: String = "tally", configuration: Store.Configuration = Store.Configuration()) throws -> Store {
        switch backend {
        case .sqlite:
            return try Store(path: directory.file(name + ".db"), configuration: configuration)
        case .postgres:
            return try Store(postgres: try conninfo(name), configuration: configuration)
        }
    }

    /// Where `name`'s database is, as the harness (a child process) takes it: a path or a
    /// connection string.
    func location(_ name: String = "tally") throws -> String {
        backend == .sqlite ? directory.file(name + ".db") : try conninfo(name)
    }

    /// A connection of the test's own to `name`'s database, for SQL a user could run at the
    /// sqlite3 or psql prompt (tampering, inspection).
    func raw(_ name: String = "tally") throws -> Connection {
        switch backend {
        case .sqlite: return try SQLiteConnection(path: directory.file(name + ".db"))
        case .postgres: return try PostgresConnection(conninfo: try conninfo(name))
        }
    }

    /// Runs `sql` on `name`'s database past Tally's triggers, as a user at the prompt could:
    /// on SQLite with `triggers` dropped for the statement and put back after it
    /// (``ReconcileFixture/tamper(_:_:dropping:)``), on PostgreSQL in a replica-role session,
    /// which skips every trigger.
    func tamper(_ sql: String, dropping triggers: [String], in name: String = "tally") throws {
        switch backend {
        case .sqlite:
            try ReconcileFixture.tamper(directory.file(name + ".db"), sql, dropping: triggers)
        case .postgres:
            let db = try raw(name)
            try db.execute("SET session_replication_role = replica")
            try db.execute(sql)
        }
    }

    /// The PostgreSQL connection string of `name`'s schema, created on first use.
    func conninfo(_ name: String) throws -> String {
        guard let uri = Backend.postgresURI else {
            throw TallyError.invalidInput(field: "TALLY_TEST_POSTGRES", reason: "the PostgreSQL tests need a server: set TALLY_TEST_POSTGRES (.ci/run starts one)")
        }
        let schema: String
        if let existing = named[name] {
            schema = existing
        } else {
            schema = "t_" + String(UInt64.random(in: 0...UInt64.max), radix: 36) + "_" + name.filter { $0.isLetter || $0.isNumber }.lowercased()
            let admin = try PostgresConnection(conninfo: uri)
            try admin.execute("CREATE SCHEMA \(schema)")
            schemas.append(schema)
            named[name] = schema
        }
        let separator = uri.contains("?") ? "&" : "?"
        return uri.hasPrefix("postgres") ? uri + separator + "options=-csearch_path%3D" + schema : uri + " options=-csearch_path=" + schema
    }

    private var named: [String: String] = [:]
}
