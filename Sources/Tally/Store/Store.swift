#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging

/// The front door: opens a Tally database, migrates it, and hands out the ledger, the state
/// documents and one-transaction writes over both.
///
/// ```swift
/// let store = try Store(path: "tally.db")
/// let charge = try store.ledger.append(stream: "invoice/INV-1", kind: "charge",
///                                      amount: 12_50, currency: "EUR")
/// try store.write { tx in
///     let pay = try tx.ledger.append(stream: "invoice/INV-1", kind: "payment",
///                                    amount: -12_50, currency: "EUR")
///     try tx.state.update("invoices/INV-1", status: "paid", causedBy: pay)
/// }
/// ```
///
/// A `Store` is `Sendable`: share one per database across threads and tasks. Writes go
/// through one writer connection (`BEGIN IMMEDIATE`); reads use a small pool of read-only
/// connections that WAL lets run beside the writer. Other processes may open the same file.
/// The calls a server makes on its request path — `read`, `write`, appends and `record`,
/// `put`, `save`, `update`, `delete`, `get` — have `async` twins that never block a task's
/// thread, cursors and ``LedgerFeed`` are `AsyncSequence`s, and ``Consumer`` runs as a
/// task; maintenance calls (export, import, mirror, verify, backup) are blocking: run them
/// on a thread of your own.
public final class Store: Sendable {
    /// How a store opens and runs its database.
    public struct Configuration: Sendable {
        /// SQLite's `PRAGMA synchronous` levels.
        public enum Synchronous: String, Sendable, CaseIterable {
            /// No fsync at all: a crash of the machine may corrupt the database. Tests only.
            case off = "OFF"
            /// Survives a crash of the process; power loss may lose the last commits.
            case normal = "NORMAL"
            /// Every acknowledged commit survives power loss (the default).
            case full = "FULL"
            /// As `full`, and also syncs the directory after deleting a journal.
            case extra = "EXTRA"
        }

        /// `PRAGMA synchronous`; ``Synchronous/full`` (the default) makes every acknowledged
        /// write survive power loss.
        public var synchronous: Synchronous = .full
        /// Seconds to wait for another process's write lock before failing (finite, 0 or more).
        public var busyTimeout: Double = 10
        /// Most read-only connections kept open for concurrent reads (at least 1).
        public var maximumReaders = 4
        /// Open without writing: no migration, every write throws.
        public var readOnly = false
        /// Largest ledger payload accepted, in bytes of canonical JSON (at least 2, `{}`).
        public var maximumPayloadBytes = 1 << 20
        /// Largest state document body accepted, in bytes of canonical JSON (at least 2, `{}`).
        public var maximumDocumentBytes = 8 << 20
        /// Where Tally logs (at `info` and below, as a library should). Nil uses the
        /// task-local `Logger.current` of the task that opens the store.
        public var logger: Logger?
        /// When set, every state change committed through ``StateStore`` is also written to
        /// the state-file mirror in this directory (write-through), with the manifest's
        /// document count and digest. The database stays the source of truth: a failed
        /// file write is logged, and ``Store/mirror(to:progress:)-3oejo`` or
        /// ``Store/repair(mirror:removeExtra:progress:)-269ox`` catches up. A snapshot import
        /// does not write through (it may touch every document: mirror after it), and
        /// appends that change no document leave the manifest's ledger head behind until
        /// the next document write or mirror.
        public var mirrorDirectory: String?
        /// Include bound arguments in ``SQLiteError/arguments``. Off by default: arguments
        /// may hold customer data that must not reach logs. Turn it on while debugging.
        public var publicStatementArguments = false
        /// When the WAL's content is copied back into the database file: by default on a
        /// thread of the store's own, so that no commit waits for it (SQLite only;
        /// PostgreSQL checkpoints its own WAL).
        public var walCheckpointing: WALCheckpointing = .background(pages: 1_000)

        /// When a SQLite store copies its write-ahead log back into the database file (a
        /// *checkpoint*). Commits are durable in the WAL either way; the choice is which
        /// thread pays for the copy.
        public enum WALCheckpointing: Sendable, Equatable {
            /// A thread of the store's own checkpoints (`PASSIVE`) once a commit leaves
            /// `pages` pages or more in the WAL; writers go on committing meanwhile. The
            /// writer copies only the few pages a round leaves behind (at most `pages` / 8),
            /// so that the WAL can start over from its beginning. If the WAL still grows to
            /// 8 × `pages` (the thread cannot keep up, or a long read holds the WAL back), the
            /// committing writer checkpoints as SQLite would. The thread starts with the first
            /// checkpoint and ends with the store. The default, 1,000 pages, is SQLite's own
            /// threshold.
            case background(pages: Int)
            /// The commit that leaves `pages` pages or more in the WAL checkpoints before it
            /// returns, on the committing thread: SQLite's automatic checkpoint
            /// (`PRAGMA wal_autocheckpoint`), as plain SQLite and most wrappers run it.
            case onCommit(pages: Int)

            var pages: Int {
                switch self {
                case let .background(pages), let .onCommit(pages): pages
                }
            }
        }

        /// The defaults: read-write, `synchronous=FULL`, 10 s busy timeout, 4 readers.
        public init() {}

        /// Refuses values no store can work with, naming the property: both initializers
        /// call it before they touch the database.
        func validate() throws(TallyError) {
            func refuse(_ property: String, _ reason: String) -> TallyError {
                .invalidInput(field: "Store.Configuration.\(property)", reason: reason)
            }
            guard busyTimeout.isFinite, busyTimeout >= 0 else {
                throw refuse("busyTimeout", "\(busyTimeout) is not a number of seconds; use 0 or more (the default is 10)")
            }
            guard maximumReaders >= 1 else {
                throw refuse("maximumReaders", "\(maximumReaders) readers cannot serve a read; use at least 1 (the default is 4)")
            }
            for (property, value, defaultValue) in [("maximumPayloadBytes", maximumPayloadBytes, 1 << 20),
                                                    ("maximumDocumentBytes", maximumDocumentBytes, 8 << 20)] where value < 2 {
                throw refuse(property, "\(value) bytes would refuse even an empty object ({}, 2 bytes); use at least 2 (the default is \(defaultValue))")
            }
            guard walCheckpointing.pages >= 1 else {
                throw refuse("walCheckpointing", "\(walCheckpointing.pages) pages is not a threshold; use at least 1 (SQLite's default is 1,000)")
            }
        }

        var connection: SQLiteConnection.Configuration {
            var configuration = SQLiteConnection.Configuration()
            configuration.synchronous = synchronous
            configuration.busyTimeout = busyTimeout
            configuration.publicStatementArguments = publicStatementArguments
            return configuration
        }
    }

    /// The database file's path: as given to ``init(path:configuration:)``, made absolute
    /// against the current directory when it was relative (the store opens connections and
    /// files by it later, when the process may have changed directory); for a PostgreSQL
    /// store, the connection string with any password masked.
    public let path: String
    /// The configuration the store was opened with.
    public let configuration: Configuration
    /// The names of the migrations this open applied (empty when the schema was current).
    public let appliedMigrations: [String]
    /// The logger the store writes to.
    let logger: Logger

    let writer: Locked<Connection>?
    let readers: ConnectionPool
    let groupCommitter = GroupCommitter()
    let queues: StoreQueues
    let commits = CommitNotifier()
    /// The connection string of a PostgreSQL store (with its password), for the sessions it
    /// opens besides its pool (consumer locks); nil for a file.
    let postgresConninfo: String?
    /// What the writer knew of the ledger's tip, stream versions and Merkle tree after its
    /// last commit (see `LedgerTable.AppendCursor.firstTip(on:)` for when it is trusted);
    /// taken by ``appendCursor(on:)`` and given back by ``rememberCommit(of:on:)`` (tests read it).
    let appendMemo = Locked<LedgerTable.AppendMemo?>(nil)
    /// Wakes followers for commits made by other connections; started by the first follower.
    let changeWatcher: ChangeWatcher
    /// Checkpoints the WAL beside the writer (SQLite, ``Configuration/WALCheckpointing/background(pages:)``).
    let checkpointer: BackgroundCheckpointer?

    /// The ledger: append-only, hash-chained events.
    public var ledger: Ledger { Ledger(context: .store(self)) }
    /// The state documents: versioned, checksummed JSON.
    public var state: StateStore { StateStore(context: .store(self)) }

    /// Opens the database at `path`, creating and migrating it when needed.
    ///
    /// - Throws: ``TallyError/notATallyDatabase(path:reason:)`` for a file that is not a
    ///   Tally database (it is left untouched), ``TallyError/schemaTooNew(path:found:known:)``,
    ///   ``TallyError/migrationChanged(path:version:name:applied:embedded:)``,
    ///   ``TallyError/corruptDatabase(path:detail:)`` for a schema changed behind Tally's back,
    ///   ``TallyError/migrationPending(path:current:latest:)`` for a read-only open of an
    ///   old schema, and ``TallyError/invalidInput(field:reason:)`` for a configuration no
    ///   store can work with (a negative busy timeout, no readers), naming the property.
    public init(path: String, configuration: Configuration = Configuration()) throws(TallyError) {
        try configuration.validate()
        try Self.checkDatabasePath(path, creating: !configuration.readOnly)
        // Readers, the change watcher, the checkpoint thread and the file operations (backup,
        // statistics, the replicator probe) open the file later, when first needed: by then
        // the process may have changed directory, and a relative path would name another
        // file (or none). It is resolved once, now.
        let location = Self.resolved(path)
        self.path = location
        self.postgresConninfo = nil
        self.configuration = configuration
        self.logger = configuration.logger ?? Logger.current
        self.queues = StoreQueues(readers: configuration.maximumReaders)
        self.changeWatcher = ChangeWatcher(path: location, notifier: commits, logger: configuration.logger ?? Logger.current)
        let migrator = Migrator.embedded
        let connectionConfiguration = configuration.connection

        if configuration.readOnly {
            let probe = try SQLiteConnection(path: location, mode: .readOnly, busyTimeout: configuration.busyTimeout)
            let status = try migrator.status(of: probe)
            guard !status.isEmpty else {
                throw TallyError.notATallyDatabase(path: location, reason: "the file holds no Tally schema yet; open it read-write once to create it")
            }
            guard status.pending.isEmpty else {
                throw TallyError.migrationPending(path: location, current: status.applied.last?.version ?? 0, latest: migrator.latestVersion)
            }
            writer = nil
            checkpointer = nil
            appliedMigrations = []
        } else {
            let connection = try SQLiteConnection(path: location, mode: .readWriteCreate, busyTimeout: configuration.busyTimeout)
            // Check before configuring: switching to WAL writes the file header, and a file
            // that is not ours must be left exactly as it was.
            _ = try migrator.status(of: connection)
            let applied = try migrator.migrate(connection)
            try connection.configure(connectionConfiguration)
            // A schema changed behind Tally's back (a dropped trigger) must not be written to.
            if let problem = try SchemaCheck.problems(of: connection, migrator: migrator).first {
                throw TallyError.corruptDatabase(path: location, detail: problem + "; Tally will not write to it")
            }
            for migration in applied {
                logger.info("applied migration", metadata: ["migration": "\(migration.name)", "db": "\(location)"])
            }
            appliedMigrations = applied.map(\.name)
            switch configuration.walCheckpointing {
            case let .background(pages):
                let synchronous = configuration.synchronous
                let checkpointer = BackgroundCheckpointer(pages: pages, path: location, logger: logger) { () throws(TallyError) in
                    let connection = try SQLiteConnection(path: location, mode: .readWrite, busyTimeout: connectionConfiguration.busyTimeout)
                    // Only the sync level, which decides how a checkpoint syncs: the store's.
                    // Nothing that writes (`configure` would set the journal mode, a write to
                    // the file's header, were the file ever not the store's).
                    try connection.execute("PRAGMA synchronous = \(synchronous.rawValue)")
                    return connection
                }
                connection.observeWALCommits(checkpointer.observer)
                self.checkpointer = checkpointer
            case let .onCommit(pages):
                connection.setAutomaticCheckpoint(pages: pages)
                checkpointer = nil
            }
            writer = Locked(connection)
        }
        readers = ConnectionPool(capacity: configuration.maximumReaders) { () throws(TallyError) -> Connection in
            let connection = try SQLiteConnection(path: location, mode: .readOnly, busyTimeout: connectionConfiguration.busyTimeout)
            try connection.configure(connectionConfiguration)
            return connection
        }
    }

    /// Why a read-only store refuses a PostgreSQL database without Tally's tables (the
    /// command line recognizes it to give its own advice).
    package static let noPostgresSchemaYet = "the database holds no Tally schema yet; open it read-write once to create it"

    /// Opens the Tally database on a PostgreSQL server, creating and migrating its schema
    /// when needed. Everything else is as with a file: the same API, rules and reports.
    ///
    /// ```swift
    /// let store = try Store(postgres: "postgresql:///tally?host=/var/run/postgresql")
    /// ```
    ///
    /// Appends from any number of processes serialize on the ledger's head row, so seqs stay
    /// gap-free and in commit order; group commit works within each process. File-level
    /// operations (backup, restore, WAL checkpoints) are SQLite's and throw here: use
    /// PostgreSQL's tools (pg_basebackup, pg_dump). `synchronous_commit` follows
    /// ``Configuration/synchronous`` (on unless you choose `.normal` or `.off`).
    ///
    /// - Parameters:
    ///   - conninfo: A libpq connection string: a `postgresql://` URI or `key=value`
    ///     pairs. Several hosts with `target_session_attrs=read-write` find the primary
    ///     after a failover.
    ///   - configuration: As for a file; `busyTimeout` becomes the sessions' `lock_timeout`.
    /// - Throws: ``TallyError/postgres(code:message:sql:)`` when the server cannot be reached,
    ///   ``TallyError/notATallyDatabase(path:reason:)`` for a database holding someone else's
    ///   tables, and the migration errors of ``init(path:configuration:)``.
    public init(postgres conninfo: String, configuration: Configuration = Configuration()) throws(TallyError) {
        try configuration.validate()
        path = PostgresConnection.displayName(conninfo)
        postgresConninfo = conninfo
        self.configuration = configuration
        self.logger = configuration.logger ?? Logger.current
        self.queues = StoreQueues(readers: configuration.maximumReaders)
        self.changeWatcher = ChangeWatcher(postgres: conninfo, display: path, notifier: commits,
                                           logger: configuration.logger ?? Logger.current)
        self.checkpointer = nil
        let synchronous = configuration.synchronous == .full || configuration.synchronous == .extra ? "on" : "off"
        let setup = "SET synchronous_commit = \(synchronous); SET lock_timeout = '\(Int(min(configuration.busyTimeout * 1000, Double(Int32.max))))ms'"
        func connect() throws(TallyError) -> PostgresConnection {
            try PostgresConnection(conninfo: conninfo, sessionSetup: setup)
        }
        let connection = try connect()
        if configuration.readOnly {
            let applied = try PostgresMigrator.applied(on: connection)
            guard applied.count == PostgresMigrator.latestVersion else {
                throw applied.isEmpty
                    ? TallyError.notATallyDatabase(path: path, reason: Self.noPostgresSchemaYet)
                    : TallyError.migrationPending(path: path, current: applied.count, latest: PostgresMigrator.latestVersion)
            }
            writer = nil
            appliedMigrations = []
        } else {
            let applied = try PostgresMigrator.migrate(connection)
            for migration in applied {
                logger.info("applied migration", metadata: ["migration": "postgres/\(migration.name)", "db": "\(path)"])
            }
            appliedMigrations = applied.map { "postgres/" + $0.name }
            writer = Locked(connection)
        }
        readers = ConnectionPool(capacity: configuration.maximumReaders) { () throws(TallyError) -> Connection in
            try connect()
        }
    }

    deinit {
        changeWatcher.stop()
        checkpointer?.stop()
    }

    /// `path` made absolute against the current directory (unchanged when it is absolute
    /// already, or when the current directory cannot be read).
    static func resolved(_ path: String) -> String {
        guard !path.hasPrefix("/"), let directory = System.currentDirectory() else { return path }
        return directory.hasSuffix("/") ? directory + path : directory + "/" + path
    }

    /// Refuses paths that cannot be a database before SQLite turns them into vaguer errors:
    /// empty, NUL, a directory, a missing parent directory (when creating) or nothing at all
    /// (when opening read-only).
    static func checkDatabasePath(_ path: String, creating: Bool) throws(TallyError) {
        guard !path.isEmpty, !path.utf8.contains(0) else {
            throw TallyError.invalidInput(field: "database path", reason: "it is empty or contains a NUL byte")
        }
        switch System.statInfo(path) {
        case let .success(info):
            if info.kind == .directory {
                throw TallyError.invalidInput(field: "database path", reason: "\(path) is a directory; name a database file")
            }
            // SQLite would open a FIFO (and block on it, or fail with a misleading "disk I/O
            // error"), a socket or a device; none of them can hold a database.
            if info.kind != .regular {
                throw TallyError.invalidInput(field: "database path", reason: "\(path) is \(info.kind.description), not a file; name a database file")
            }
        case .failure(.noSuchFile):
            guard creating else {
                throw TallyError.io(step: "open", path: path, errno: Errno.noSuchFile.rawValue)
            }
            let directory = FileOperations.split(path).directory
            if case let .failure(error) = System.statInfo(directory) {
                throw TallyError.io(step: "open", path: directory, errno: error.rawValue)
            }
        case let .failure(error):
            throw TallyError.io(step: "open", path: path, errno: error.rawValue)
        }
    }

    // MARK: Internal access

    /// Runs `body` with exclusive use of the writer connection, outside any transaction.
    func withWriter<T>(_ body: (Connection) throws(TallyError) -> T) throws(TallyError) -> T {
        guard let writer else { throw readOnlyError() }
        return try writer.withLock { (connection: inout Connection) throws(TallyError) -> T in try body(connection) }
    }

    /// The SQLite connection behind `connection`, for operations that only SQLite has
    /// (WAL checkpoints, the online backup API, file restores); on PostgreSQL an error
    /// naming the PostgreSQL tool that does the job.
    static func sqliteOnly(_ connection: Connection, _ operation: String, alternative: String) throws(TallyError) -> SQLiteConnection {
        guard let sqlite = connection as? SQLiteConnection else {
            throw TallyError.invalidInput(field: "store", reason: "\(operation) works on SQLite databases; this store is on PostgreSQL, where \(alternative)")
        }
        return sqlite
    }

    func readOnlyError() -> TallyError {
        .invalidInput(field: "store", reason: "\(path) was opened read-only (Store.Configuration.readOnly); open it read-write to write")
    }

    /// Runs `body` in one read transaction on a reader connection: every query in it sees
    /// the same committed state, even while writers go on.
    func readTransaction<T>(_ body: (Connection) throws(TallyError) -> T) throws(TallyError) -> T {
        try readers.withTypedConnection { (db: Connection) throws(TallyError) -> T in
            try db.transaction(.deferred) { () throws(TallyError) -> T in try body(db) }
        }
    }

    // MARK: Schema and maintenance

    /// Where the database stands relative to this build's migrations.
    public func migrationStatus() throws(TallyError) -> Store.MigrationStatus {
        try readers.withTypedConnection { (db: Connection) throws(TallyError) -> Store.MigrationStatus in
            if let postgres = db as? PostgresConnection {
                let applied = try PostgresMigrator.applied(on: postgres)
                let entry = { (migration: Migration) in
                    Store.MigrationStatus.Entry(version: migration.version, name: "postgres/" + migration.name, checksum: migration.checksum)
                }
                return Store.MigrationStatus(schemaVersion: applied.last?.version ?? 0, latestVersion: PostgresMigrator.latestVersion,
                                             applied: applied.map(entry),
                                             pending: PostgresMigrator.migrations.dropFirst(applied.count).map(entry))
            }
            return try Migrator.embedded.status(of: db).public
        }
    }

    /// Where the database at `path` stands relative to this build's migrations, read
    /// without changing anything (no migration, no WAL switch).
    public static func migrationStatus(path: String) throws(TallyError) -> Store.MigrationStatus {
        try checkDatabasePath(path, creating: false)
        let connection = try SQLiteConnection(path: path, mode: .readOnly)
        return try Migrator.embedded.status(of: connection).public
    }

    /// Copies the WAL's content into the database file.
    ///
    /// With background checkpoints (``Configuration/WALCheckpointing/background(pages:)``,
    /// the default) it first waits for a round of the store's checkpoint thread in flight,
    /// rather than failing busy beside it.
    ///
    /// - Parameter truncate: Also empty the `-wal` file, waiting up to the busy timeout for
    ///   readers and writers to finish. Do not truncate while a replicator such as
    ///   Litestream watches the database: it reads the WAL itself.
    /// - Returns: What was copied, and whether other connections kept it from completing.
    @discardableResult
    public func checkpointWAL(truncate: Bool = false) throws(TallyError) -> Store.WALCheckpointResult {
        let result = try withWriter { (connection: Connection) throws(TallyError) -> WALCheckpoint in
            let db = try Self.sqliteOnly(connection, "checkpointWAL(truncate:)", alternative: "PostgreSQL checkpoints its own WAL")
            // After the background checkpoint in flight, if any: two at once, one would fail busy.
            guard let checkpointer else { return try checkpoint(db, truncate: truncate) }
            return try checkpointer.takingTurns { () throws(TallyError) in try checkpoint(db, truncate: truncate) }
        }
        return Store.WALCheckpointResult(walFrames: result.walFrames, checkpointedFrames: result.checkpointedFrames,
                                wasBusy: result.wasBusy)
    }

    /// A passive checkpoint, or a truncating one that refuses at once when a replicator
    /// holds the WAL.
    private func checkpoint(_ db: SQLiteConnection, truncate: Bool) throws(TallyError) -> WALCheckpoint {
        guard truncate else { return try db.checkpoint(.passive) }
        // First without waiting: a truncating checkpoint that waits holds off every
        // writer for the whole busy timeout. If a replicator holds its permanent read
        // transaction, waiting cannot help: refuse at once.
        db.setBusyTimeout(0)
        defer { db.setBusyTimeout(configuration.busyTimeout) }
        let first = try db.checkpoint(.truncate)
        guard first.wasBusy else { return first }
        if let replicator = ReplicatorProbe.replicator(of: path) {
            throw TallyError.replicatorAttached(path: path, operation: "a truncating checkpoint",
                                                process: replicator.command, pid: replicator.pid)
        }
        db.setBusyTimeout(configuration.busyTimeout)
        return try db.checkpoint(.truncate)
    }
}

extension Store {
    /// The outcome of ``Store/checkpointWAL(truncate:)``.
    public struct WALCheckpointResult: Sendable, Equatable, Codable {
        /// Frames in the WAL file before the checkpoint.
        public var walFrames: Int
        /// Frames copied back into the database file.
        public var checkpointedFrames: Int
        /// True when readers or writers kept the checkpoint from completing (and, for a
        /// truncating checkpoint, from emptying the WAL).
        public var wasBusy: Bool

        enum CodingKeys: String, CodingKey {
            case walFrames = "wal_frames", checkpointedFrames = "checkpointed_frames", wasBusy = "busy"
        }
    }
}

extension Store {
    /// The append cursor of a write transaction beginning on the writer `db`: it starts from
    /// what the writer remembered at its last commit, which it takes (a transaction that
    /// fails leaves none, and the next one reads the tip again).
    func appendCursor(on db: Connection) -> LedgerTable.AppendCursor {
        appendMemo.withLock { LedgerTable.AppendCursor(takingFrom: &$0, on: db) }
    }

    /// Remembers what `cursor`'s transaction knew, once it has committed on the writer `db`.
    func rememberCommit(of cursor: inout LedgerTable.AppendCursor, on db: Connection) {
        let memo = cursor.memoAfterCommit(on: db)
        appendMemo.withLock { $0 = memo }
    }
}

extension Store {
    /// Whether Tally leaves SQLite's memory statistics on. `false` (the default) turns them
    /// off when Tally opens its first SQLite connection in the process.
    ///
    /// SQLite's memory statistics make every allocation inside SQLite take a process-wide
    /// mutex; turning them off made state writes 13–15 % faster in Tally's benchmarks, and
    /// SQLite recommends it for builds that do not need them. The setting belongs to the
    /// SQLite library, not to a store, so it changes SQLite for the whole process: with it
    /// off, SQLite's count of memory in use, its high-water mark and its soft and hard heap
    /// limits no longer work, for other SQLite users in the process too. Set this to `true`
    /// before opening the first store if anything in your process relies on them.
    ///
    /// Tally changes nothing when SQLite is already in use in the process (SQLite accepts
    /// the change only before it initializes), and a value set after the first store opened
    /// has no effect. PostgreSQL stores do not use SQLite.
    public static var keepsSQLiteMemoryStatistics: Bool {
        get { SQLiteLibrary.keepsMemoryStatistics }
        set { SQLiteLibrary.keepsMemoryStatistics = newValue }
    }
}
