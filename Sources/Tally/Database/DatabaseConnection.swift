/// The seam between Tally's tables and the database engine: SQLite
/// (``SQLiteConnection``, the default) or PostgreSQL (``PostgresConnection``).
///
/// Everything above this seam — ``LedgerTable``, ``StateTable``, snapshots, the mirror,
/// reconciliation, verification — runs its SQL through these two protocols and does not
/// know which engine answers. The SQL it writes is the dialect both accept (`?`
/// placeholders, which the PostgreSQL side numbers; `ON CONFLICT`; `coalesce`; keyset
/// `ORDER BY … LIMIT`); the few places where the engines differ ask ``dialect``.
///
/// A connection is used by one thread at a time; ``Store`` guards its connections.
package protocol DatabaseConnection: AnyObject {
    /// What the connection is to: a file path for SQLite, the connection string (without
    /// its password) for PostgreSQL. Errors name it.
    var path: String { get }
    /// Which engine answers.
    var dialect: SQLDialect { get }

    /// Prepares a new statement the caller owns.
    func prepare(_ sql: String) throws(TallyError) -> any DatabaseStatement
    /// The prepared statement for one of Tally's own statements, reset and with cleared
    /// bindings, prepared once per connection.
    func statement(_ sql: InternalSQL) throws(TallyError) -> any DatabaseStatement
    /// A prepared statement for other SQL that runs often, reset and with cleared bindings.
    func cachedStatement(_ sql: String) throws(TallyError) -> any DatabaseStatement
    /// Runs a script of statements that return no rows (a migration).
    func execute(_ sql: String) throws(TallyError)
    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { get }
    /// True while a transaction is open.
    var isInTransaction: Bool { get }
    /// Rows this connection has inserted, updated or deleted since it opened, in committed
    /// and rolled-back transactions alike (SQLite's total change count); 0 on
    /// PostgreSQL, which does not count them.
    var totalChanges: Int64 { get }
    /// A number that moves whenever another connection, of any process, commits to the
    /// database, and never for this connection's own commits (SQLite's
    /// `PRAGMA data_version`); nil on PostgreSQL, which has no such counter.
    func otherCommitsVersion() throws(TallyError) -> Int64?

    /// Starts a transaction of `kind`.
    func begin(_ kind: TransactionKind) throws(TallyError)
    /// Commits the open transaction.
    func commit() throws(TallyError)
    /// Rolls back the open transaction, if any; never fails.
    func rollback()
    /// Runs `body` in a savepoint nested in the open transaction: released when it
    /// returns, rolled back to when it throws.
    func savepoint<T>(_ body: () throws(TallyError) -> T) throws(TallyError) -> T
}

/// The SQL dialect of a connection, for the few statements the engines spell differently.
package enum SQLDialect: Sendable, Equatable {
    case sqlite
    case postgres

    /// Refuses JSON text this engine cannot keep. The PostgreSQL schema checks every body
    /// and payload by casting it to `jsonb`, which has no room for the character U+0000
    /// (`\u0000` in JSON): the insert would fail with PostgreSQL error 22P05 and abort the
    /// transaction. SQLite keeps it. Checked before the statement runs, so the caller gets
    /// the reason and its transaction goes on.
    ///
    /// - Parameters:
    ///   - json: JSON text (canonical or not: only its escapes are looked at).
    ///   - field: What the text is, for the error: `payload`, `body of 'KEY'`.
    func checkStorable(json: UnsafeBufferPointer<UInt8>, field: String) throws(TallyError) {
        guard self == .postgres, Self.holdsEscapedNUL(json) else { return }
        throw TallyError.invalidInput(
            field: field,
            reason: "it holds the character U+0000 (\\u0000), which PostgreSQL's jsonb cannot store; remove it, or keep such data in a SQLite store")
    }

    /// Whether JSON text holds a `\u0000` escape (and not, say, an escaped backslash
    /// followed by `u0000`).
    static func holdsEscapedNUL(_ json: UnsafeBufferPointer<UInt8>) -> Bool {
        let backslash = UInt8(ascii: "\\"), zero = UInt8(ascii: "0")
        var index = 0
        while index < json.count {
            guard json[index] == backslash else {
                index += 1
                continue
            }
            if index + 5 < json.count, json[index + 1] == UInt8(ascii: "u"), json[index + 2] == zero, json[index + 3] == zero,
               json[index + 4] == zero, json[index + 5] == zero {
                return true
            }
            index += 2  // the escaped character (a \uXXXX's digits cannot start an escape)
        }
        return false
    }
}

/// Transaction behaviours of `BEGIN`.
package enum TransactionKind: Sendable {
    /// A read transaction: one consistent snapshot for all its statements (SQLite takes
    /// locks on first use; PostgreSQL runs it REPEATABLE READ, READ ONLY).
    case deferred
    /// A write transaction that takes the write lock at once (SQLite `BEGIN IMMEDIATE`;
    /// PostgreSQL READ COMMITTED, serialized by the ledger's head row).
    case immediate
    /// Excludes every other connection, readers included (SQLite only: restore).
    case exclusive
}

/// One prepared statement: bind, step, read columns, reset.
package protocol DatabaseStatement: AnyObject {
    /// The SQL text.
    var sql: String { get }

    func bind(_ value: Int64, at index: Int32) throws(TallyError)
    func bind(_ value: Double, at index: Int32) throws(TallyError)
    func bind(_ value: String, at index: Int32) throws(TallyError)
    /// Binds text given as UTF-8 bytes (copied).
    func bindText(_ utf8: UnsafeBufferPointer<UInt8>, at index: Int32) throws(TallyError)
    /// Binds bytes (a BLOB; `bytea` on PostgreSQL).
    func bind(_ value: [UInt8], at index: Int32) throws(TallyError)
    func bindNull(at index: Int32) throws(TallyError)
    /// Binds values to parameters 1, 2, 3, … in order.
    func bind(_ values: [any SQLiteBindable]) throws(TallyError)
    /// Binds each text to its parameter, then runs `body`, which must be done with the
    /// statement when it returns (stepped to completion and reset). SQLite reads the bytes
    /// in place for the length of `body` instead of copying each text into memory of its
    /// own; PostgreSQL copies them, as binding a `String` does.
    func withTexts<T>(_ texts: [(index: Int32, text: BoundText)], run body: () throws(TallyError) -> T) throws(TallyError) -> T
    /// Sets every parameter back to NULL.
    func clearBindings()

    /// Advances to the next row; false when there is none.
    @discardableResult
    func step() throws(TallyError) -> Bool
    /// Rewinds the statement so it can run again; bindings are kept.
    func reset()
    /// Releases the statement.
    func finalize()

    var columnCount: Int32 { get }
    func isNull(_ index: Int32) -> Bool
    func int64(_ index: Int32) -> Int64
    func double(_ index: Int32) -> Double
    func string(_ index: Int32) -> String
    /// The raw UTF-8 bytes of a text column, valid only during the call.
    func withUTF8<T, E: Error>(_ index: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws(E) -> T) throws(E) -> T
    func bytes(_ index: Int32) -> [UInt8]
    func value(_ index: Int32) -> SQLiteValue
}

/// A text parameter for ``DatabaseStatement/withTexts(_:run:)``.
package enum BoundText {
    /// A string, or NULL.
    case string(String?)
    /// UTF-8 bytes that stay valid for the whole call.
    case utf8(UnsafeBufferPointer<UInt8>)
}

/// The name the tables use for a connection of either engine.
package typealias Connection = any DatabaseConnection
/// The name the tables use for a statement of either engine.
package typealias Statement = any DatabaseStatement

extension DatabaseStatement {
    /// Binds each text as binding a `String` and ``bindText(_:at:)`` do, then runs
    /// `body`.
    package func withTexts<T>(_ texts: [(index: Int32, text: BoundText)], run body: () throws(TallyError) -> T) throws(TallyError) -> T {
        for (index, text) in texts {
            switch text {
            case let .string(value?): try bind(value, at: index)
            case .string(nil): try bindNull(at: index)
            case let .utf8(bytes): try bindText(bytes, at: index)
            }
        }
        return try body()
    }

    /// Binds any ``SQLiteBindable`` value (optionals bind NULL when nil).
    package func bind(_ value: some SQLiteBindable, at index: Int32) throws(TallyError) {
        switch value.sqliteValue {
        case .null: try bindNull(at: index)
        case let .integer(value): try bind(value, at: index)
        case let .real(value): try bind(value, at: index)
        case let .text(value): try bind(value, at: index)
        case let .blob(value): try bind(value, at: index)
        }
    }

    /// Runs the statement to completion, discarding rows, then resets it.
    package func run() throws(TallyError) {
        defer { reset() }
        while try step() {}
    }

    /// The 0-based column `index` as an optional integer.
    package func optionalInt64(_ index: Int32) -> Int64? { isNull(index) ? nil : int64(index) }
    /// The 0-based column `index` as an optional double.
    package func optionalDouble(_ index: Int32) -> Double? { isNull(index) ? nil : double(index) }
    /// The 0-based column `index` as optional text.
    package func optionalString(_ index: Int32) -> String? { isNull(index) ? nil : string(index) }
    /// Runs `body` with the 0-based column `index`'s UTF-8 text, or nil for NULL.
    package func withOptionalUTF8<T>(_ index: Int32, _ body: (UnsafeBufferPointer<UInt8>?) -> T) -> T {
        isNull(index) ? body(nil) : withUTF8(index) { body($0) }
    }
}

extension DatabaseConnection {
    /// Runs one statement with arguments, discarding any rows.
    package func execute(_ sql: String, _ arguments: [any SQLiteBindable]) throws(TallyError) {
        let statement = try cachedStatement(sql)
        try statement.bind(arguments)
        try statement.run()
    }

    /// Runs a query and collects every row as dynamically typed values. For small results;
    /// stream large ones with a statement.
    package func rows(_ sql: String, _ arguments: [any SQLiteBindable] = []) throws(TallyError) -> [[SQLiteValue]] {
        let statement = try prepare(sql)
        defer { statement.finalize() }
        try statement.bind(arguments)
        var rows: [[SQLiteValue]] = []
        while try statement.step() {
            rows.append((0..<statement.columnCount).map { statement.value($0) })
        }
        return rows
    }

    /// The first column of the first row, or nil when there is no row.
    package func scalar(_ sql: String, _ arguments: [any SQLiteBindable] = []) throws(TallyError) -> SQLiteValue? {
        let statement = try prepare(sql)
        defer { statement.finalize() }
        try statement.bind(arguments)
        return try statement.step() ? statement.value(0) : nil
    }

    /// The first column of the first row as an integer (nil when no row or NULL).
    package func scalarInt(_ sql: String, _ arguments: [any SQLiteBindable] = []) throws(TallyError) -> Int64? {
        if case let .integer(value)? = try scalar(sql, arguments) { return value }
        return nil
    }

    /// The first column of the first row as text (nil when no row or NULL).
    package func scalarText(_ sql: String, _ arguments: [any SQLiteBindable] = []) throws(TallyError) -> String? {
        if case let .text(value)? = try scalar(sql, arguments) { return value }
        return nil
    }

    /// Runs `body` in a transaction: commits when it returns, rolls back when it throws
    /// (or when the commit itself fails), then rethrows.
    package func transaction<T>(_ kind: TransactionKind = .deferred,
                                _ body: () throws(TallyError) -> T) throws(TallyError) -> T {
        try begin(kind)
        do {
            let result = try body()
            try commit()
            return result
        } catch {
            rollback()
            throw error
        }
    }

    /// ``transaction(_:_:)`` for closures that may throw any error (the caller's own), which
    /// comes back unchanged.
    package func transaction<T>(_ kind: TransactionKind = .deferred, throwing body: () throws -> T) throws -> T {
        try begin(kind)
        do {
            let result = try body()
            try commit()
            return result
        } catch {
            rollback()
            throw error
        }
    }

    /// ``savepoint(_:)`` for closures that may throw any error (the caller's own), which
    /// comes back unchanged after the savepoint is rolled back.
    package func savepoint<T>(throwing body: () throws -> T) throws -> T {
        var result: T?
        var callerError: (any Error)?
        do {
            result = try savepoint { () throws(TallyError) -> T? in
                do {
                    return try body()
                } catch let error as TallyError {
                    throw error
                } catch {
                    callerError = error
                    throw TallyError.internal("rolled back for the caller's error")
                }
            }
        } catch {
            if let callerError { throw callerError }
            throw error
        }
        guard let result else { throw TallyError.internal("savepoint finished without a result") }
        return result
    }
}
