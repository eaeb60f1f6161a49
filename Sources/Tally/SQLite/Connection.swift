import CSQLite

/// One SQLite database connection: the only type (with ``Statement``) that holds a raw
/// `sqlite3` handle.
///
/// A connection is not thread-safe: it is owned by one thread at a time (``Store`` guards
/// its connections with locks). Opening only opens; ``configure(_:)`` applies the pragmas
/// Tally relies on (WAL, synchronous, foreign keys) once the caller has checked that the
/// file is a Tally database: setting WAL writes to the file header, so it must not happen
/// to someone else's file.
///
/// Every failure is translated here, once, into ``TallyError`` naming this database: damage
/// becomes ``TallyError/corruptDatabase(path:detail:)``, a file that is not a database
/// ``TallyError/notATallyDatabase(path:reason:)``, anything else ``TallyError/sqlite(_:)``.
package final class SQLiteConnection: DatabaseConnection {
    /// How to open the file.
    package enum Mode: Sendable {
        /// Read and write; create the file if it does not exist.
        case readWriteCreate
        /// Read and write an existing file.
        case readWrite
        /// Read only; the file must exist.
        case readOnly
    }

    /// The settings a connection is configured with.
    package struct Configuration: Sendable {
        package var synchronous: Store.Configuration.Synchronous = .full
        /// How long to wait for another connection's lock before failing with `SQLITE_BUSY`.
        package var busyTimeout: Double = 10
        package var foreignKeys = true
        /// Most statements kept prepared by ``cachedStatement(_:)`` (Tally's own statements
        /// have their own cache, see ``statement(_:)``).
        package var statementCacheCapacity = 64
        /// Include bound arguments in ``SQLiteError/arguments``.
        package var publicStatementArguments = false

        package init() {}
    }

    /// The path the connection was opened with.
    package let path: String
    /// SQLite.
    package var dialect: SQLDialect { .sqlite }
    /// The mode the connection was opened in.
    package let mode: Mode
    let handle: OpaquePointer
    /// Tally's own statements by ``InternalSQL/id``, and other SQL by text (see ``StatementCaches``).
    private var statements = StatementCaches<SQLiteStatement>(capacity: 64)
    private(set) var publicArguments = false
    private var savepointDepth = 0
    /// Kept alive for as long as SQLite may call it (see ``observeWALCommits(_:)``).
    private var walCommitObserver: WALCommitObserver?

    /// Opens (or creates) the database at `path`. Does not read the file yet: SQLite reads
    /// lazily, so a file that is not a database is reported by the first query.
    package init(path: String, mode: Mode = .readWriteCreate, busyTimeout: Double = 10) throws(TallyError) {
        self.path = path
        self.mode = mode
        var flags: Int32 = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        switch mode {
        case .readWriteCreate: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        case .readWrite: flags |= SQLITE_OPEN_READWRITE
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        }
        SQLiteLibrary.prepare()
        var handle: OpaquePointer?
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(handle)
            throw TallyError(SQLiteError(code: code, message: "cannot open \(path): \(message)"), path: path)
        }
        self.handle = handle
        sqlite3_extended_result_codes(handle, 1)
        setBusyTimeout(busyTimeout)
    }

    deinit {
        statements.removeAll()
        // close_v2 defers the close until any statement still alive is finalized.
        sqlite3_close_v2(handle)
    }

    /// How long a statement waits for another connection's lock before failing with busy.
    package func setBusyTimeout(_ seconds: Double) {
        sqlite3_busy_timeout(handle, Int32(max(0, min(seconds * 1000, Double(Int32.max)))))
    }

    /// Applies `configuration`: WAL journal (read-write connections), synchronous level,
    /// foreign keys, busy timeout and statement cache size.
    package func configure(_ configuration: Configuration) throws(TallyError) {
        setBusyTimeout(configuration.busyTimeout)
        statements.capacity = max(1, configuration.statementCacheCapacity)
        publicArguments = configuration.publicStatementArguments
        if mode != .readOnly {
            let journal = try scalarText("PRAGMA journal_mode = WAL")
            guard journal?.lowercased() == "wal" else {
                throw TallyError(SQLiteError(
                    code: SQLITE_ERROR,
                    message: "could not switch \(path) to WAL mode (journal_mode is \(journal ?? "unknown")); is it on a file system without shared-memory support?",
                    sql: "PRAGMA journal_mode = WAL"), path: path)
            }
        }
        try execute("PRAGMA synchronous = \(configuration.synchronous.rawValue)")
        try execute("PRAGMA foreign_keys = \(configuration.foreignKeys ? "ON" : "OFF")")
        if mode != .readOnly {
            // Statement journals in memory. A state write fires the history trigger, so
            // SQLite keeps the pages the statement changes in a statement journal, to undo
            // it alone; with the default temp_store this system's SQLite (TEMP_STORE=1)
            // writes that journal to a file in /var/tmp: about 6 pwrite calls per document,
            // 88 % of all writes in the W3 benchmark. The journal never needs to survive a
            // crash (the WAL does) and holds only the pages one statement changes. Read-only
            // connections write no journal and keep the default, because in-memory temp
            // storage also keeps every sort in memory (SQLite's sorter then never spills),
            // and a GROUP BY over a large ledger should spill to disk instead.
            try execute("PRAGMA temp_store = MEMORY")
        }
    }

    // MARK: Errors

    /// The error for a failed call, with this connection's message, as a ``TallyError``.
    func error(_ code: Int32, sql: String?) -> TallyError {
        TallyError(sqliteError(code, sql: sql), path: path)
    }

    /// The raw SQLite error for a failed call: the returned code is authoritative; the
    /// connection's extended code refines it when both agree on the primary code.
    func sqliteError(_ code: Int32, sql: String?) -> SQLiteError {
        let extended = sqlite3_extended_errcode(handle)
        let best = (extended & 0xFF) == (code & 0xFF) ? extended : code
        return SQLiteError(code: best, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    // MARK: Statements

    /// Prepares a new statement. The caller owns it; prefer ``statement(_:)`` for Tally's
    /// own SQL and ``cachedStatement(_:)`` for other SQL that runs often.
    package func prepare(_ sql: String) throws(TallyError) -> any DatabaseStatement {
        try prepareSQLite(sql)
    }

    /// ``prepare(_:)`` with the concrete type.
    package func prepareSQLite(_ sql: String) throws(TallyError) -> SQLiteStatement {
        try SQLiteStatement(connection: self, sql: sql)
    }

    /// The prepared statement for one of Tally's own SQL statements, reset and with cleared
    /// bindings, prepared once per connection.
    package func statement(_ sql: InternalSQL) throws(TallyError) -> any DatabaseStatement {
        try internalStatement(sql)
    }

    private func internalStatement(_ sql: InternalSQL) throws(TallyError) -> SQLiteStatement {
        try statements.statement(sql) { () throws(TallyError) in try prepareSQLite(sql.sql) }
    }

    /// Returns a prepared statement for `sql`, reset and with cleared bindings, reusing the
    /// one prepared earlier on this connection when there is one.
    package func cachedStatement(_ sql: String) throws(TallyError) -> any DatabaseStatement {
        try statements.statement(sql) { () throws(TallyError) in try prepareSQLite(sql) }
    }

    /// Runs one or more SQL statements that return no rows (a script such as a migration).
    package func execute(_ sql: String) throws(TallyError) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        guard code == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(message)
            let extended = sqlite3_extended_errcode(handle)
            throw TallyError(SQLiteError(code: (extended & 0xFF) == (code & 0xFF) ? extended : code, message: text, sql: sql),
                             path: path)
        }
    }

    /// The rowid of the last row inserted on this connection.
    package var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    package var changes: Int { Int(sqlite3_changes(handle)) }

    /// True while a transaction is open.
    package var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Rows inserted, updated or deleted through this connection since it opened (triggers'
    /// rows included, rolled-back ones too).
    package var totalChanges: Int64 { sqlite3_total_changes64(handle) }

    // MARK: Transactions

    private static let beginDeferred = InternalSQL("BEGIN DEFERRED")
    private static let beginImmediate = InternalSQL("BEGIN IMMEDIATE")
    private static let beginExclusive = InternalSQL("BEGIN EXCLUSIVE")
    private static let commitSQL = InternalSQL("COMMIT")
    private static let rollbackSQL = InternalSQL("ROLLBACK")

    /// Starts a transaction (a prepared statement: parsing `BEGIN` on every durable append
    /// is measurable).
    package func begin(_ kind: TransactionKind) throws(TallyError) {
        switch kind {
        case .deferred: try statement(Self.beginDeferred).run()
        case .immediate: try statement(Self.beginImmediate).run()
        case .exclusive: try statement(Self.beginExclusive).run()
        }
    }

    /// Commits the open transaction.
    package func commit() throws(TallyError) {
        try statement(Self.commitSQL).run()
    }

    /// Rolls back the open transaction, if there is one; never fails (a failed rollback
    /// leaves SQLite to roll back when the connection closes, and the original error is the
    /// one worth reporting).
    package func rollback() {
        guard isInTransaction else { return }
        do {
            try statement(Self.rollbackSQL).run()
        } catch {
            _ = sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
        }
    }

    /// Runs `body` in a savepoint, which nests inside a transaction or another savepoint:
    /// released when `body` returns, rolled back to (and released) when it throws. Only the
    /// savepoint's changes are undone; the enclosing transaction goes on.
    package func savepoint<T>(_ body: () throws(TallyError) -> T) throws(TallyError) -> T {
        savepointDepth += 1
        defer { savepointDepth -= 1 }
        let depth = savepointDepth
        try runSavepointSQL(.begin, depth: depth)
        do {
            let result = try body()
            try runSavepointSQL(.release, depth: depth)
            return result
        } catch {
            // If SQLite already rolled the whole transaction back (e.g. SQLITE_FULL), there is
            // no savepoint left to roll back to; the error below says what happened.
            if isInTransaction {
                _ = try? runSavepointSQL(.rollback, depth: depth)
                _ = try? runSavepointSQL(.release, depth: depth)
            }
            throw error
        }
    }

    private enum SavepointStep: Int {
        case begin, release, rollback

        func sql(depth: Int) -> String {
            let name = "tally_savepoint_\(depth)"
            switch self {
            case .begin: return "SAVEPOINT \(name)"
            case .release: return "RELEASE \(name)"
            case .rollback: return "ROLLBACK TO \(name)"
            }
        }
    }

    /// The savepoint statements of the first nesting levels, prepared once: group commit
    /// runs one savepoint per request, and parsing two statements for each was measurable.
    private static let savepointSQL: [[InternalSQL]] = (1...3).map { depth in
        [SavepointStep.begin, .release, .rollback].map { InternalSQL($0.sql(depth: depth)) }
    }

    private func runSavepointSQL(_ step: SavepointStep, depth: Int) throws(TallyError) {
        if depth <= Self.savepointSQL.count {
            try statement(Self.savepointSQL[depth - 1][step.rawValue]).run()
        } else {
            try execute(step.sql(depth: depth))
        }
    }

    // MARK: Maintenance

    /// `PRAGMA wal_checkpoint` modes.
    package enum CheckpointMode: Int32, Sendable {
        case passive = 0, full = 1, restart = 2, truncate = 3
    }

    /// Copies WAL content back into the database file (`sqlite3_wal_checkpoint_v2`).
    /// `.truncate` also empties the WAL file when no reader needs it.
    package func checkpoint(_ mode: CheckpointMode = .passive) throws(TallyError) -> WALCheckpoint {
        var log: Int32 = 0
        var done: Int32 = 0
        let code = sqlite3_wal_checkpoint_v2(handle, nil, mode.rawValue, &log, &done)
        if code == SQLITE_BUSY {
            return WALCheckpoint(walFrames: Int(max(log, 0)), checkpointedFrames: Int(max(done, 0)), wasBusy: true)
        }
        guard code == SQLITE_OK else { throw error(code, sql: "PRAGMA wal_checkpoint") }
        return WALCheckpoint(walFrames: Int(max(log, 0)), checkpointedFrames: Int(max(done, 0)), wasBusy: false)
    }

    /// Sets SQLite's automatic checkpoint: the connection whose commit leaves `pages` or more
    /// frames in the WAL copies them back into the database file before its commit returns
    /// (`sqlite3_wal_autocheckpoint`; 0 turns it off). Replaces any WAL commit observer.
    package func setAutomaticCheckpoint(pages: Int) {
        sqlite3_wal_autocheckpoint(handle, Int32(clamping: max(0, pages)))
        walCommitObserver = nil
    }

    /// Replaces SQLite's automatic checkpoint with `observer`, told the WAL's size after
    /// every commit of this connection (`sqlite3_wal_hook`, which SQLite calls once the
    /// commit is done and its write lock released). When the observer answers true, this
    /// connection checkpoints right away, as the automatic checkpoint would (PASSIVE: it
    /// copies what no reader still needs and waits for no one; its result is not reported,
    /// as SQLite's own is not).
    package func observeWALCommits(_ observer: WALCommitObserver) {
        sqlite3_wal_hook(handle, { context, db, name, frames in
            guard let context else { return SQLITE_OK }
            let observer = Unmanaged<WALCommitObserver>.fromOpaque(context).takeUnretainedValue()
            if observer.committed(Int(frames)) {
                _ = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            }
            return SQLITE_OK
        }, Unmanaged.passUnretained(observer).toOpaque())
        walCommitObserver = observer  // after the hook no longer points at the one it replaces
    }

    /// Copies this database into `destination` with SQLite's online backup API, a
    /// consistent snapshot even while other connections write. `progress` receives
    /// (pages remaining, total pages) after each step.
    package func backup(to destination: SQLiteConnection, pagesPerStep: Int32 = 1024,
                        progress: ((Int, Int) -> Void)? = nil) throws(TallyError) {
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

    /// `PRAGMA data_version`: changes whenever another connection (of any process) commits
    /// to this database, never for this connection's own commits. A read of the WAL index
    /// in shared memory, no I/O.
    package func otherCommitsVersion() throws(TallyError) -> Int64? {
        let statement = try internalStatement(Self.dataVersionSQL)
        defer { statement.reset() }
        _ = try statement.step()
        return statement.int64(0)
    }

    private static let dataVersionSQL = InternalSQL("PRAGMA data_version")

    /// The version of the SQLite library in use, e.g. "3.40.1".
    package static var sqliteVersion: String { String(cString: sqlite3_libversion()) }
}

/// One of Tally's own SQL statements, prepared once per connection and found again by a
/// small integer rather than by hashing its text.
///
/// Declare them as `static let` constants beside the code that runs them.
package final class InternalSQL: Sendable {
    /// The SQL text.
    package let sql: String
    /// PostgreSQL's spelling, where it differs from `sql` by more than the placeholders.
    package let postgres: String?
    /// The statement's slot in every connection's internal cache.
    package let id: Int

    private static let counter = Locked(0)

    package init(_ sql: String, postgres: String? = nil) {
        self.sql = sql
        self.postgres = postgres
        self.id = Self.counter.withLock { value in
            defer { value += 1 }
            return value
        }
    }
}

/// What a connection's commits report of the WAL's size (see
/// ``SQLiteConnection/observeWALCommits(_:)``).
package final class WALCommitObserver {
    /// Called on the committing thread with the frames in the WAL after each commit;
    /// returns true for the committing connection to checkpoint at once.
    let committed: (Int) -> Bool

    package init(committed: @escaping (Int) -> Bool) {
        self.committed = committed
    }
}

/// The outcome of a WAL checkpoint.
package struct WALCheckpoint: Sendable, Equatable {
    /// Frames in the WAL file.
    package var walFrames: Int
    /// Frames copied back into the database.
    package var checkpointedFrames: Int
    /// True when readers or writers kept the checkpoint from completing.
    package var wasBusy: Bool
}
