#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One schema migration: a `Migrations/NNNN_name.sql` file, embedded at build time.
package struct Migration: Sendable, Equatable {
    /// The number the file name starts with (`0001_initial.sql` → 1).
    package let version: Int
    /// The file name, e.g. `0001_initial.sql`.
    package let name: String
    /// The file's exact text.
    package let sql: String
    /// Lowercase hex SHA-256 of the file's bytes, recorded in `schema_migrations`.
    package let checksum: String

    /// Whether a database that recorded `recorded` for this migration applied this same SQL:
    /// the checksum of this text, or of an earlier text of it whose edits were comments only
    /// (``Migrator/commentOnlyRevisions``).
    package func matches(recorded: String) -> Bool {
        recorded == checksum || Migrator.commentOnlyRevisions[version]?.contains(recorded) == true
    }
}

/// Applies the embedded migrations and refuses databases it must not touch.
///
/// Like GRDB's `DatabaseMigrator`, it refuses unknown history: an applied migration whose
/// text changed, a database migrated by a newer build, or a file that is not a Tally
/// database are all reported before anything is written.
package struct Migrator: Sendable {
    /// `PRAGMA application_id` of every Tally database: "TALY" in ASCII.
    package static let applicationID: Int32 = 0x5441_4C59

    /// Checksums of earlier texts of a migration that differ from today's in comments only,
    /// so databases that applied them are not refused as "migration changed". Each entry
    /// is proven comment-only by a test that keeps the released text as a fixture.
    ///
    /// - 0001: released in 0.1 with two comment lines that named an internal design note.
    package static let commentOnlyRevisions: [Int: Set<String>] = [
        1: ["fae0f8f0f18c6736adf02fe55d762b2300030cc3a9c61c7996f9d83d00b3c928"],
    ]

    /// The migrations this build carries, in version order.
    package let migrations: [Migration]

    /// The latest schema version this build knows.
    package var latestVersion: Int { migrations.last?.version ?? 0 }

    /// A migrator for the migrations embedded in this build.
    package static let embedded = Migrator(migrations: EmbeddedMigrations.files.compactMap { file -> Migration? in
        guard let data = Data(base64Encoded: file.base64),
              let version = Int(file.name.prefix(while: \.isNumber)) else { return nil }
        let bytes = [UInt8](data)
        return Migration(version: version, name: file.name, sql: String(decoding: bytes, as: UTF8.self),
                         checksum: Digest.sha256Hex(bytes))
    }.sorted { $0.version < $1.version })

    /// `0x000004D2`: an application id as eight hex digits.
    static func hex(_ value: Int32) -> String {
        let digits = String(UInt32(bitPattern: value), radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// Creates a migrator over explicit migrations (tests use this to simulate history).
    package init(migrations: [Migration]) {
        self.migrations = migrations
    }

    /// Where a database stands relative to this build.
    package struct Status: Sendable, Equatable {
        /// True when the file has no schema at all yet (new or empty).
        package var isEmpty: Bool
        /// `PRAGMA user_version`.
        package var userVersion: Int
        /// Migrations already applied, in order.
        package var applied: [Migration]
        /// Migrations this build would apply.
        package var pending: [Migration]
    }

    /// Inspects `db` without changing it, and throws if this build must refuse it.
    package func status(of db: Connection) throws(TallyError) -> Status {
        let path = db.path
        let appID = Int32(truncatingIfNeeded: try db.scalarInt("PRAGMA application_id") ?? 0)
        let objects = try db.scalarInt("SELECT count(*) FROM sqlite_schema") ?? 0
        if appID == 0 {
            guard objects == 0 else {
                throw TallyError.notATallyDatabase(path: path, reason: "it is an SQLite database with \(objects) schema \(objects == 1 ? "object" : "objects") but without Tally's application_id")
            }
            return Status(isEmpty: true, userVersion: 0, applied: [], pending: migrations)
        }
        guard appID == Self.applicationID else {
            throw TallyError.notATallyDatabase(
                path: path,
                reason: "its application_id is \(Self.hex(appID)), Tally's is \(Self.hex(Self.applicationID))")
        }
        let userVersion = Int(try db.scalarInt("PRAGMA user_version") ?? 0)
        if userVersion > latestVersion {
            throw TallyError.schemaTooNew(path: path, found: userVersion, known: latestVersion)
        }
        let hasTable = try db.scalarInt("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'") ?? 0
        var applied: [Migration] = []
        if hasTable > 0 {
            for row in try db.rows("SELECT version, name, checksum FROM schema_migrations ORDER BY version") {
                guard row.count == 3, case let .integer(version) = row[0], case let .text(name) = row[1], case let .text(checksum) = row[2] else {
                    throw TallyError.corruptDatabase(path: path, detail: "schema_migrations holds a row with unexpected types")
                }
                guard version <= latestVersion else {
                    throw TallyError.schemaTooNew(path: path, found: Int(version), known: latestVersion)
                }
                guard let known = migrations.first(where: { $0.version == version }) else {
                    throw TallyError.corruptDatabase(path: path, detail: "schema_migrations records migration \(version) (\(name)), which this build does not have")
                }
                guard known.matches(recorded: checksum) else {
                    throw TallyError.migrationChanged(path: path, version: Int(version), name: name, applied: checksum, embedded: known.checksum)
                }
                applied.append(known)
            }
        }
        // Applied history must be a prefix of ours: no gaps, nothing skipped.
        guard applied == Array(migrations.prefix(applied.count)) else {
            throw TallyError.corruptDatabase(path: path, detail: "schema_migrations has gaps: applied versions \(applied.map(\.version)), known \(migrations.map(\.version))")
        }
        // A Tally database whose records were reset (schema_migrations emptied or dropped,
        // user_version set back) still has its tables: migrating it again would fail half-way
        // or, worse, succeed on top of a changed schema. Say so instead.
        let recordedVersion = applied.last?.version ?? 0
        guard userVersion == recordedVersion else {
            throw TallyError.corruptDatabase(
                path: path,
                detail: "PRAGMA user_version is \(userVersion) but schema_migrations records version \(recordedVersion): the migration records were changed outside Tally")
        }
        if applied.isEmpty && objects > 0 {
            throw TallyError.corruptDatabase(
                path: path,
                detail: "it carries Tally's application_id and \(objects) schema objects, but no migration is recorded: the migration records were reset outside Tally")
        }
        return Status(isEmpty: false, userVersion: userVersion, applied: applied, pending: Array(migrations.dropFirst(applied.count)))
    }

    /// Applies every pending migration, each in its own `BEGIN IMMEDIATE` transaction,
    /// recording it in `schema_migrations` and `PRAGMA user_version`. Safe when several
    /// processes open a new database at once: each transaction re-reads the history first.
    /// Returns the migrations this call applied.
    @discardableResult
    package func migrate(_ db: Connection) throws(TallyError) -> [Migration] {
        var appliedNow: [Migration] = []
        for migration in try status(of: db).pending {
            do {
                let didApply = try db.transaction(.immediate) { () throws(TallyError) -> Bool in
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
            } catch let .sqlite(error) {
                throw TallyError.sqlite(SQLiteError(code: error.code, message: "migration \(migration.name) failed: \(error.message)"))
            }
        }
        return appliedNow
    }
}

extension Migrator.Status {
    /// The public view of this status.
    var `public`: Store.MigrationStatus {
        Store.MigrationStatus(schemaVersion: userVersion, latestVersion: Migrator.embedded.latestVersion,
                        applied: applied.map { Store.MigrationStatus.Entry(version: $0.version, name: $0.name, checksum: $0.checksum) },
                        pending: pending.map { Store.MigrationStatus.Entry(version: $0.version, name: $0.name, checksum: $0.checksum) })
    }
}

extension Store {
    /// Where a database stands relative to the migrations this build of Tally carries.
    public struct MigrationStatus: Sendable, Equatable, Codable {
        /// One migration file.
        public struct Entry: Sendable, Equatable, Codable {
            /// The number its file name starts with (`0001_initial.sql` → 1).
            public var version: Int
            /// The file name.
            public var name: String
            /// Lowercase hex SHA-256 of the file's bytes.
            public var checksum: String
        }

        /// The database's schema version (`PRAGMA user_version`); 0 for a new file.
        public var schemaVersion: Int
        /// The latest version this build knows.
        public var latestVersion: Int
        /// Migrations applied to the database, in order.
        public var applied: [Entry]
        /// Migrations this build would apply, in order.
        public var pending: [Entry]

        enum CodingKeys: String, CodingKey {
            case applied, pending
            case schemaVersion = "schema_version", latestVersion = "latest_version"
        }
    }
}
