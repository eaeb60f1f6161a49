import Foundation
@testable import Tally

/// Every row of every table of a test's database on either engine, as text.
func databaseDump(_ stores: TestStores, _ name: String) throws -> [String] {
    guard stores.backend == .postgres else { return try databaseDump(stores.directory.file(name + ".db")) }
    let db = try stores.raw(name)
    var lines: [String] = []
    let tables = try db.rows("""
        SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1
        """)
    for case let .text(table) in tables.map({ $0[0] }) {
        for row in try db.rows("SELECT * FROM \"\(table)\"") {
            lines.append(table + ": " + row.map(\.description).joined(separator: " | "))
        }
    }
    return lines.sorted()
}

/// Every row of every table of a database, as text, for "nothing changed" assertions.
func databaseDump(_ path: String) throws -> [String] {
    let db = try SQLiteConnection(path: path, mode: .readOnly)
    var lines: [String] = []
    let tables = try db.rows("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
    for case let .text(table) in tables.map({ $0[0] }) {
        for row in try db.rows("SELECT * FROM \"\(table)\"") {
            lines.append(table + ": " + row.map(\.description).joined(separator: " | "))
        }
    }
    lines.append("user_version: \(try db.scalarInt("PRAGMA user_version") ?? -1)")
    return lines.sorted()
}

/// Copies a database into a new file through SQLite's online backup (safe with WAL).
func copyDatabase(_ source: Store, to path: String) throws {
    let destination = try SQLiteConnection(path: path)
    try source.readTransaction { (db: Connection) throws(TallyError) in try (db as? SQLiteConnection)?.backup(to: destination) }
}
