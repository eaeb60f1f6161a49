import Foundation
@testable import Tally

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
