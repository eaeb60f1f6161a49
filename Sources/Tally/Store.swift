import Foundation
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
public final class Store: Sendable {
    /// How a store opens and runs its database.
    public struct Configuration: Sendable {
        /// `PRAGMA synchronous`; `.full` (the default) makes every acknowledged write survive
        /// power loss. `.normal` survives process crashes but may lose the last commits on
        /// power loss.
        public var synchronous: Connection.Synchronous = .full
        /// Seconds to wait for another process's write lock before failing.
        public var busyTimeout: Double = 10
        /// Most read-only connections kept open for concurrent reads.
        public var maximumReaders = 4
        /// Open without writing: no migration, every write throws.
        public var readOnly = false
        /// Largest ledger payload accepted, in bytes of canonical JSON.
        public var maximumPayloadBytes = 1 << 20
        /// Where Tally logs (warnings about fallbacks, migrations applied, …).
        public var logger = Logger(label: "tally")
        /// When set, every committed state change is also written to the state-file
        /// mirror in this directory (write-through). The database stays the source of
        /// truth: a failed file write is logged, and `mirror` or `reconcile --repair`
        /// catches up.
        public var mirrorDirectory: String?

        /// The defaults: read-write, `synchronous=FULL`, 10 s busy timeout, 4 readers.
        public init() {}

        var connection: Connection.Configuration {
            var configuration = Connection.Configuration()
            configuration.synchronous = synchronous
            configuration.busyTimeout = busyTimeout
            return configuration
        }
    }

    /// The database file's path.
    public let path: String
    /// The configuration the store was opened with.
    public let configuration: Configuration
    /// Migrations this open applied (empty when the schema was current).
    public let appliedMigrations: [Migration]

    let writer: Locked<Connection>?
    let readers: ConnectionPool
    let groupCommitter = GroupCommitter()

    /// The ledger: append-only, hash-chained events.
    public var ledger: Ledger { Ledger(store: self) }
    /// The state documents: versioned, checksummed JSON.
    public var state: StateStore { StateStore(store: self) }

    /// Opens the database at `path`, creating and migrating it when needed.
    ///
    /// - Throws: ``TallyError/notATallyDatabase(path:reason:)`` for a file that is not a
    ///   Tally database (it is left untouched), ``TallyError/schemaTooNew(path:found:known:)``,
    ///   ``TallyError/migrationChanged(path:version:name:applied:embedded:)``, and
    ///   ``TallyError/migrationPending(path:current:latest:)`` for a read-only open of an old
    ///   schema.
    public init(path: String, configuration: Configuration = Configuration()) throws(TallyError) {
        guard !path.isEmpty, !path.utf8.contains(0) else {
            throw TallyError.invalidInput(field: "database path", reason: "it is empty or contains a NUL byte")
        }
        self.path = path
        self.configuration = configuration
        let migrator = Migrator.embedded
        let connectionConfiguration = configuration.connection

        if configuration.readOnly {
            let probe = try Self.open(path, mode: .readOnly, configuration: connectionConfiguration, configure: false)
            let status = try migrator.status(of: probe)
            guard !status.isEmpty else {
                throw TallyError.notATallyDatabase(path: path, reason: "the file is empty; create it with `tally init`")
            }
            guard status.pending.isEmpty else {
                throw TallyError.migrationPending(path: path, current: status.applied.last?.version ?? 0, latest: migrator.latestVersion)
            }
            writer = nil
            appliedMigrations = []
        } else {
            if FileManager.default.fileExists(atPath: path) == false {
                let directory = (path as NSString).deletingLastPathComponent
                if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
                    throw TallyError.io(step: "open", path: path, errno: ENOENT)
                }
            }
            let connection = try Self.open(path, mode: .readWriteCreate, configuration: connectionConfiguration, configure: false)
            // Check before configuring: switching to WAL writes the file header, and a file
            // that is not ours must be left exactly as it was.
            _ = try migrator.status(of: connection)
            appliedMigrations = try migrator.migrate(connection)
            try Self.configure(connection, configuration: connectionConfiguration)
            for migration in appliedMigrations {
                configuration.logger.info("applied migration", metadata: ["migration": "\(migration.name)", "db": "\(path)"])
            }
            writer = Locked(connection)
        }
        readers = ConnectionPool(capacity: configuration.maximumReaders) {
            try Self.open(path, mode: .readOnly, configuration: connectionConfiguration, configure: true)
        }
    }

    private static func open(_ path: String, mode: Connection.Mode, configuration: Connection.Configuration,
                             configure: Bool) throws(TallyError) -> Connection {
        let connection: Connection
        do {
            connection = try Connection(path: path, mode: mode, busyTimeout: configuration.busyTimeout)
        } catch {
            throw TallyError(error, path: path)
        }
        if configure { try Self.configure(connection, configuration: configuration) }
        return connection
    }

    private static func configure(_ connection: Connection, configuration: Connection.Configuration) throws(TallyError) {
        do {
            try connection.configure(configuration)
        } catch {
            throw TallyError(error, path: connection.path)
        }
    }

    // MARK: Reading and writing

    /// Runs `body` with a read-only connection inside one read transaction, so every query in
    /// it sees the same committed state, even while writers go on. Do not let the connection
    /// escape the closure. Errors thrown by `body` come back unchanged; SQLite's errors come
    /// back as ``TallyError``.
    public func read<T>(_ body: (Connection) throws -> T) throws -> T {
        try translatingSQLiteErrors {
            try readers.withConnection { db in
                try db.transaction(.deferred) { try body(db) }
            }
        }
    }

    /// Runs `body` in one write transaction (`BEGIN IMMEDIATE`): everything it does through
    /// `tx.ledger` and `tx.state` commits together when it returns, and nothing does when it
    /// throws. Do not let `tx` escape the closure. Errors thrown by `body` come back
    /// unchanged; SQLite's errors come back as ``TallyError``.
    public func write<T>(_ body: (Transaction) throws -> T) throws -> T {
        try withWriterPassingErrors { db in
            let transaction = Transaction(connection: db, store: self)
            let result = try db.transaction(.immediate) { try body(transaction) }
            // Still holding the writer lock, so two commits cannot write their files out of order.
            writeThrough(transaction.touchedKeys)
            return result
        }
    }

    /// ``read(_:)`` for the library's own closures, which throw only ``TallyError``.
    func readTyped<T>(_ body: (Connection) throws -> T) throws(TallyError) -> T {
        try mapErrors { try read(body) }
    }

    /// ``write(_:)`` for the library's own closures, which throw only ``TallyError``.
    func writeTyped<T>(_ body: (Transaction) throws -> T) throws(TallyError) -> T {
        try mapErrors { try write(body) }
    }

    /// Runs `body` with exclusive use of the writer connection, outside any transaction.
    func withWriter<T>(_ body: (Connection) throws -> T) throws(TallyError) -> T {
        try mapErrors { try withWriterPassingErrors(body) }
    }

    /// ``withWriter(_:)`` that lets `body`'s own errors through unchanged.
    func withWriterPassingErrors<T>(_ body: (Connection) throws -> T) throws -> T {
        guard let writer else {
            throw TallyError.invalidInput(field: "store", reason: "\(path) was opened read-only; open it without readOnly to write")
        }
        return try translatingSQLiteErrors { try writer.withLock { try body($0) } }
    }

    /// Runs `body`, turning SQLite's errors into ``TallyError``s that name this database and
    /// letting every other error through.
    func translatingSQLiteErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SQLiteError {
            throw TallyError(error, path: path)
        }
    }

    /// Runs `body`, turning any error into a ``TallyError`` that names this database.
    func mapErrors<T>(_ body: () throws -> T) throws(TallyError) -> T {
        do {
            return try translatingSQLiteErrors(body)
        } catch let error as TallyError {
            throw error
        } catch {
            throw TallyError.invalidInput(field: "operation", reason: String(describing: error))
        }
    }

    // MARK: Schema and maintenance

    /// Where the database at `path` stands relative to this build's migrations, read
    /// without changing anything (no migration, no WAL switch).
    public static func migrationStatus(path: String) throws(TallyError) -> Migrator.Status {
        guard FileManager.default.fileExists(atPath: path) else {
            throw TallyError.io(step: "open", path: path, errno: ENOENT)
        }
        let connection = try open(path, mode: .readOnly, configuration: Connection.Configuration(), configure: false)
        return try Migrator.embedded.status(of: connection)
    }

    /// Where the database stands relative to this build's migrations.
    public func migrationStatus() throws(TallyError) -> Migrator.Status {
        try mapErrors { try readers.withConnection { try Migrator.embedded.status(of: $0) } }
    }

    /// Copies WAL content into the database file. `.truncate` also empties the WAL file.
    @discardableResult
    public func checkpoint(_ mode: Connection.CheckpointMode = .passive) throws(TallyError) -> Connection.CheckpointResult {
        try withWriter { try $0.checkpoint(mode) }
    }
}
