import CSQLite
import Foundation

/// One SQLite database connection.
///
/// A connection is not thread-safe: it is owned by one thread at a time (``Store`` guards
/// its connections with locks). Opening only opens; ``configure(_:)`` applies the pragmas
/// Tally relies on (WAL, synchronous, foreign keys) once the caller has checked that the
/// file is a Tally database — setting WAL writes to the file header, so it must not happen
/// to someone else's file.
public final class Connection {
    /// How to open the file.
    public enum Mode: Sendable {
        /// Read and write; create the file if it does not exist.
        case readWriteCreate
        /// Read and write an existing file.
        case readWrite
        /// Read only; the file must exist.
        case readOnly
    }

    /// SQLite's `PRAGMA synchronous` levels. Tally defaults to ``full``: a committed
    /// transaction survives power loss.
    public enum Synchronous: String, Sendable, CaseIterable {
        case off = "OFF", normal = "NORMAL", full = "FULL", extra = "EXTRA"
    }

    /// The settings a connection is configured with.
    public struct Configuration: Sendable {
        /// Durability level; `.full` unless you accept losing the last commits on power loss.
        public var synchronous: Synchronous = .full
        /// How long to wait for another connection's lock before failing with `SQLITE_BUSY`.
        public var busyTimeout: Double = 10
        /// Enforce `REFERENCES` clauses.
        public var foreignKeys = true
        /// Most statements kept prepared by ``cachedStatement(_:)``.
        public var statementCacheCapacity = 64
        /// Include bound arguments in ``SQLiteError/arguments``. Off by default: arguments
        /// may hold customer data that must not reach logs. Turn it on while debugging.
        public var publicStatementArguments = false

        /// The defaults: WAL, `synchronous=FULL`, foreign keys on, 10 s busy timeout.
        public init() {}
    }

    /// Transaction behaviours of `BEGIN`.
    public enum TransactionKind: String, Sendable {
        /// Takes locks on first use; for read transactions.
        case deferred = "DEFERRED"
        /// Takes the write lock at once (waiting up to the busy timeout); for writes, so two
        /// writers never deadlock upgrading read locks.
        case immediate = "IMMEDIATE"
    }

    /// The path the connection was opened with.
    public let path: String
    /// The mode the connection was opened in.
    public let mode: Mode
    let handle: OpaquePointer
    private var statementCache: [String: Statement] = [:]
    private var cacheCapacity = 64
    private var publicArguments = false
    private var savepointDepth = 0

    /// Opens (or creates) the database at `path`. Does not read the file yet: SQLite reads
    /// lazily, so a file that is not a database is reported by the first query.
    public init(path: String, mode: Mode = .readWriteCreate, busyTimeout: Double = 10) throws(SQLiteError) {
        self.path = path
        self.mode = mode
        var flags: Int32 = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        switch mode {
        case .readWriteCreate: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        case .readWrite: flags |= SQLITE_OPEN_READWRITE
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        }
        var handle: OpaquePointer?
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(handle)
            throw SQLiteError(code: code, message: "cannot open \(path): \(message)")
        }
        self.handle = handle
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, Int32(max(0, min(busyTimeout * 1000, Double(Int32.max)))))
    }

    deinit {
        statementCache.removeAll()
        // close_v2 defers the close until any statement still alive is finalized.
        sqlite3_close_v2(handle)
    }

    /// Applies `configuration`: WAL journal (read-write connections), synchronous level,
    /// foreign keys, busy timeout and statement cache size.
    public func configure(_ configuration: Configuration) throws(SQLiteError) {
        sqlite3_busy_timeout(handle, Int32(max(0, min(configuration.busyTimeout * 1000, Double(Int32.max)))))
        cacheCapacity = max(1, configuration.statementCacheCapacity)
        publicArguments = configuration.publicStatementArguments
        if mode != .readOnly {
            let journal = try scalarText("PRAGMA journal_mode = WAL")
            guard journal?.lowercased() == "wal" else {
                throw SQLiteError(code: SQLITE_ERROR, message: "could not switch \(path) to WAL mode (journal_mode is \(journal ?? "unknown")); is it on a filesystem without shared memory support?", sql: "PRAGMA journal_mode = WAL")
            }
        }
        try execute("PRAGMA synchronous = \(configuration.synchronous.rawValue)")
        try execute("PRAGMA foreign_keys = \(configuration.foreignKeys ? "ON" : "OFF")")
    }

    // MARK: Errors

    /// Builds an error from a result code, with this connection's message.
    func error(_ code: Int32, sql: String?) -> SQLiteError {
        let extended = sqlite3_extended_errcode(handle)
        // The returned code is authoritative; the connection's code adds the extended part
        // when both agree on the primary code.
        let best = (extended & 0xFF) == (code & 0xFF) ? extended : code
        return SQLiteError(code: best, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    // MARK: Statements

    /// Prepares a new statement. The caller owns it; prefer ``cachedStatement(_:)`` for SQL
    /// that runs often.
    public func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        try Statement(connection: self, sql: sql)
    }

    /// Returns a prepared statement for `sql`, reset and with cleared bindings, reusing the
    /// one prepared earlier on this connection when there is one.
    public func cachedStatement(_ sql: String) throws(SQLiteError) -> Statement {
        if let statement = statementCache[sql] {
            statement.reset()
            statement.clearBindings()
            return statement
        }
        let statement = try prepare(sql)
        if statementCache.count >= cacheCapacity {
            // Rare (the library uses a fixed set of statements): dropping all keeps it simple.
            statementCache.removeAll()
        }
        statementCache[sql] = statement
        return statement
    }

    /// Runs one or more SQL statements that return no rows (a script such as a migration).
    public func execute(_ sql: String) throws(SQLiteError) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        guard code == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(message)
            let extended = sqlite3_extended_errcode(handle)
            throw SQLiteError(code: (extended & 0xFF) == (code & 0xFF) ? extended : code, message: text, sql: sql)
        }
    }

    /// Runs one statement with arguments, discarding any rows.
    public func execute(_ sql: String, _ arguments: [any SQLiteBindable]) throws(SQLiteError) {
        do {
            let statement = try cachedStatement(sql)
            try statement.bind(arguments)
            try statement.run()
        } catch {
            throw withArguments(error, arguments)
        }
    }

    /// Adds the arguments to an error when the configuration allows showing them.
    func withArguments(_ error: SQLiteError, _ arguments: [any SQLiteBindable]) -> SQLiteError {
        guard publicArguments, error.arguments == nil else { return error }
        let rendered = "[" + arguments.map { $0.sqliteValue.description }.joined(separator: ", ") + "]"
        return SQLiteError(code: error.extendedResultCode, message: error.message, sql: error.sql, arguments: rendered)
    }

    /// Runs a query and collects every row as dynamically typed values. For small results
    /// (pragmas, tests); stream large results with a ``Statement``.
    public func rows(_ sql: String, _ arguments: [any SQLiteBindable] = []) throws(SQLiteError) -> [[SQLiteValue]] {
        let statement = try prepare(sql)
        try statement.bind(arguments)
        var rows: [[SQLiteValue]] = []
        while try statement.step() {
            rows.append((0..<statement.columnCount).map { statement.value($0) })
        }
        return rows
    }

    /// The first column of the first row, or `nil` when there is no row.
    public func scalar(_ sql: String, _ arguments: [any SQLiteBindable] = []) throws(SQLiteError) -> SQLiteValue? {
        let statement = try prepare(sql)
        try statement.bind(arguments)
        return try statement.step() ? statement.value(0) : nil
    }

    /// The first column of the first row as an integer (`nil` when no row or NULL).
    public func scalarInt(_ sql: String, _ arguments: [any SQLiteBindable] = []) throws(SQLiteError) -> Int64? {
        if case let .integer(value)? = try scalar(sql, arguments) { return value }
        return nil
    }

    /// The first column of the first row as text (`nil` when no row or NULL).
    public func scalarText(_ sql: String, _ arguments: [any SQLiteBindable] = []) throws(SQLiteError) -> String? {
        if case let .text(value)? = try scalar(sql, arguments) { return value }
        return nil
    }

    /// The rowid of the last row inserted on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// True while a transaction is open.
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    // MARK: Transactions

    /// Runs `body` in a transaction: commits when it returns, rolls back when it throws
    /// (or when the commit itself fails), then rethrows.
    public func transaction<T>(_ kind: TransactionKind = .deferred, _ body: () throws -> T) throws -> T {
        try execute("BEGIN \(kind.rawValue)")
        let result: T
        do {
            result = try body()
            try execute("COMMIT")
        } catch {
            rollbackIfNeeded()
            throw error
        }
        return result
    }

    /// Runs `body` in a savepoint, which nests inside a transaction or another savepoint:
    /// released when `body` returns, rolled back to (and released) when it throws. Only the
    /// savepoint's changes are undone; the enclosing transaction goes on.
    public func savepoint<T>(_ body: () throws -> T) throws -> T {
        savepointDepth += 1
        defer { savepointDepth -= 1 }
        let name = "tally_savepoint_\(savepointDepth)"
        try execute("SAVEPOINT \(name)")
        do {
            let result = try body()
            try execute("RELEASE \(name)")
            return result
        } catch {
            // If SQLite already rolled the whole transaction back (e.g. SQLITE_FULL), there is
            // no savepoint left to roll back to; the error below says what happened.
            if isInTransaction {
                try? execute("ROLLBACK TO \(name)")
                try? execute("RELEASE \(name)")
            }
            throw error
        }
    }

    private func rollbackIfNeeded() {
        if isInTransaction { try? execute("ROLLBACK") }
    }

    // MARK: Maintenance

    /// `PRAGMA wal_checkpoint` modes.
    public enum CheckpointMode: Int32, Sendable {
        case passive = 0, full = 1, restart = 2, truncate = 3
    }

    /// The outcome of a checkpoint.
    public struct CheckpointResult: Sendable, Equatable {
        /// Frames in the WAL file.
        public var walFrames: Int
        /// Frames copied back into the database.
        public var checkpointedFrames: Int
        /// True when readers or writers kept the checkpoint from completing.
        public var wasBusy: Bool
    }

    /// Copies WAL content back into the database file (`sqlite3_wal_checkpoint_v2`).
    /// `.truncate` also empties the WAL file when no reader needs it.
    public func checkpoint(_ mode: CheckpointMode = .passive) throws(SQLiteError) -> CheckpointResult {
        var log: Int32 = 0
        var done: Int32 = 0
        let code = sqlite3_wal_checkpoint_v2(handle, nil, mode.rawValue, &log, &done)
        if code == SQLITE_BUSY {
            return CheckpointResult(walFrames: Int(log), checkpointedFrames: Int(done), wasBusy: true)
        }
        guard code == SQLITE_OK else { throw error(code, sql: "PRAGMA wal_checkpoint") }
        return CheckpointResult(walFrames: Int(max(log, 0)), checkpointedFrames: Int(max(done, 0)), wasBusy: false)
    }

    /// Copies this database into `destination` with SQLite's online backup API, a
    /// consistent snapshot even while other connections write. `progress` receives
    /// (pages remaining, total pages) after each step.
    public func backup(to destination: Connection, pagesPerStep: Int32 = 1024,
                       progress: ((Int, Int) -> Void)? = nil) throws(SQLiteError) {
        guard let backup = sqlite3_backup_init(destination.handle, "main", handle, "main") else {
            throw destination.error(sqlite3_errcode(destination.handle), sql: nil)
        }
        var code: Int32
        repeat {
            code = sqlite3_backup_step(backup, pagesPerStep)
            progress?(Int(sqlite3_backup_remaining(backup)), Int(sqlite3_backup_pagecount(backup)))
            if code == SQLITE_BUSY || code == SQLITE_LOCKED { sqlite3_sleep(5) }
        } while code == SQLITE_OK || code == SQLITE_BUSY || code == SQLITE_LOCKED
        let finish = sqlite3_backup_finish(backup)
        guard code == SQLITE_DONE, finish == SQLITE_OK else {
            throw destination.error(code == SQLITE_DONE ? finish : code, sql: nil)
        }
    }

    /// The version of the SQLite library in use, e.g. "3.40.1".
    public static var sqliteVersion: String { String(cString: sqlite3_libversion()) }
}
