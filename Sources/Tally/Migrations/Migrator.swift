import Foundation

/// One schema migration: a `Migrations/NNNN_name.sql` file, embedded at build time.
public struct Migration: Sendable, Equatable {
    /// The number the file name starts with (`0001_initial.sql` → 1).
    public let version: Int
    /// The file name, e.g. `0001_initial.sql`.
    public let name: String
    /// The file's exact text.
    public let sql: String
    /// Lowercase hex SHA-256 of the file's bytes, recorded in `schema_migrations`.
    public let checksum: String
}

/// Applies the embedded migrations and refuses databases it must not touch.
///
/// Like GRDB's `DatabaseMigrator`, it refuses unknown history: an applied migration whose
/// text changed, a database migrated by a newer build, or a file that is not a Tally
/// database are all reported before anything is written.
public struct Migrator: Sendable {
    /// `PRAGMA application_id` of every Tally database: "TALY" in ASCII.
    public static let applicationID: Int32 = 0x5441_4C59

    /// The migrations this build carries, in version order.
    public let migrations: [Migration]

    /// The latest schema version this build knows.
    public var latestVersion: Int { migrations.last?.version ?? 0 }

    /// A migrator for the migrations embedded in this build.
    public static let embedded = Migrator(migrations: EmbeddedMigrations.files.compactMap { file in
        guard let data = Data(base64Encoded: file.base64),
              let version = Int(file.name.prefix(while: \.isNumber)) else { return nil }
        return Migration(version: version, name: file.name, sql: String(decoding: data, as: UTF8.self),
                         checksum: Digest.sha256Hex(data))
    }.sorted { $0.version < $1.version })

    /// Creates a migrator over explicit migrations (tests use this to simulate history).
    public init(migrations: [Migration]) {
        self.migrations = migrations
    }

    /// Where a database stands relative to this build.
    public struct Status: Sendable, Equatable {
        /// True when the file has no schema at all yet (new or empty).
        public var isEmpty: Bool
        /// Migrations already applied, in order.
        public var applied: [Migration]
        /// Migrations this build would apply.
        public var pending: [Migration]
    }

    /// Inspects `db` without changing it, and throws if this build must refuse it.
    public func status(of db: Connection) throws(TallyError) -> Status {
        let path = db.path
        do {
            let appID = Int32(truncatingIfNeeded: try db.scalarInt("PRAGMA application_id") ?? 0)
            if appID == 0 {
                let objects = try db.scalarInt("SELECT count(*) FROM sqlite_schema") ?? 0
                guard objects == 0 else {
                    throw TallyError.notATallyDatabase(path: path, reason: "it is an SQLite database with \(objects) schema objects but without Tally's application_id")
                }
                return Status(isEmpty: true, applied: [], pending: migrations)
            }
            guard appID == Self.applicationID else {
                throw TallyError.notATallyDatabase(path: path, reason: String(format: "its application_id is 0x%08X, Tally's is 0x%08X", UInt32(bitPattern: appID), UInt32(bitPattern: Self.applicationID)))
            }
            let userVersion = Int(try db.scalarInt("PRAGMA user_version") ?? 0)
            if userVersion > latestVersion {
                throw TallyError.schemaTooNew(path: path, found: userVersion, known: latestVersion)
            }
            let hasTable = try db.scalarInt("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'") ?? 0
            var applied: [Migration] = []
            if hasTable > 0 {
                for row in try db.rows("SELECT version, name, checksum FROM schema_migrations ORDER BY version") {
                    guard case let .integer(version) = row[0], case let .text(name) = row[1], case let .text(checksum) = row[2] else {
                        throw TallyError.corruptDatabase(path: path, detail: "schema_migrations holds a row with unexpected types")
                    }
                    guard version <= latestVersion else {
                        throw TallyError.schemaTooNew(path: path, found: Int(version), known: latestVersion)
                    }
                    guard let known = migrations.first(where: { $0.version == version }) else {
                        throw TallyError.corruptDatabase(path: path, detail: "schema_migrations records migration \(version) (\(name)), which this build does not have")
                    }
                    guard known.checksum == checksum else {
                        throw TallyError.migrationChanged(path: path, version: Int(version), name: name, applied: checksum, embedded: known.checksum)
                    }
                    applied.append(known)
                }
            }
            // Applied history must be a prefix of ours: no gaps, nothing skipped.
            guard applied == Array(migrations.prefix(applied.count)) else {
                throw TallyError.corruptDatabase(path: path, detail: "schema_migrations has gaps: applied versions \(applied.map(\.version)), known \(migrations.map(\.version))")
            }
            return Status(isEmpty: false, applied: applied, pending: Array(migrations.dropFirst(applied.count)))
        } catch let error as TallyError {
            throw error
        } catch let error as SQLiteError {
            throw TallyError(error, path: path)
        } catch {
            throw TallyError.invalidInput(field: "database", reason: "\(error)")
        }
    }

    /// Applies every pending migration, each in its own `BEGIN IMMEDIATE` transaction,
    /// recording it in `schema_migrations` and `PRAGMA user_version`. Safe when several
    /// processes open a new database at once: each transaction re-reads the history first.
    /// Returns the migrations this call applied.
    @discardableResult
    public func migrate(_ db: Connection) throws(TallyError) -> [Migration] {
        var appliedNow: [Migration] = []
        for migration in try status(of: db).pending {
            do {
                let didApply = try db.transaction(.immediate) { () throws -> Bool in
                    // Another process may have applied it while we waited for the lock.
                    guard try status(of: db).pending.first == migration else { return false }
                    try db.execute(migration.sql)
                    try db.execute("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)",
                                   [migration.version, migration.name, migration.checksum, Timestamp.now()])
                    try db.execute("PRAGMA user_version = \(migration.version)")
                    try db.execute("PRAGMA application_id = \(Self.applicationID)")
                    return true
                }
                if didApply { appliedNow.append(migration) }
            } catch let error as TallyError {
                throw error
            } catch let error as SQLiteError {
                throw TallyError.sqlite(SQLiteError(code: error.extendedResultCode, message: "migration \(migration.name) failed: \(error.message)", sql: nil))
            } catch {
                throw TallyError.invalidInput(field: "migration \(migration.name)", reason: "\(error)")
            }
        }
        return appliedNow
    }
}

extension TallyError {
    /// Wraps a SQLite error, turning damage into ``corruptDatabase(path:detail:)`` and "not a
    /// database" into ``notATallyDatabase(path:reason:)`` so callers see one vocabulary.
    init(_ error: SQLiteError, path: String) {
        if error.resultCode == 26 {  // SQLITE_NOTADB
            self = .notATallyDatabase(path: path, reason: "it is not an SQLite database (\(error.message))")
        } else if error.isCorruption {
            self = .corruptDatabase(path: path, detail: "\(error.message) (SQLite code \(error.extendedResultCode))")
        } else {
            self = .sqlite(error)
        }
    }
}
