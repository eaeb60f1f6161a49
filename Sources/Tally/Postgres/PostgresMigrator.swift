#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Applies `Migrations/postgres/*.sql` (embedded at build time) to a PostgreSQL database,
/// with the same refusals as the SQLite ``Migrator``: a migration whose text changed since
/// it was applied, a database migrated by a newer Tally, a database holding someone else's
/// tables.
enum PostgresMigrator {
    /// The PostgreSQL migrations this build carries, in version order.
    static let migrations: [Migration] = EmbeddedMigrations.files.compactMap { file -> Migration? in
        guard file.name.hasPrefix("postgres/"), let data = Data(base64Encoded: file.base64) else { return nil }
        let name = String(file.name.dropFirst("postgres/".count))
        guard let version = Int(name.prefix(while: \.isNumber)) else { return nil }
        let bytes = [UInt8](data)
        return Migration(version: version, name: name, sql: String(decoding: bytes, as: UTF8.self), checksum: Digest.sha256Hex(bytes))
    }.sorted { $0.version < $1.version }

    /// The schema version this build knows.
    static var latestVersion: Int { migrations.last?.version ?? 0 }

    /// The migrations already applied, checked against this build's.
    static func applied(on db: PostgresConnection) throws(TallyError) -> [Migration] {
        let hasTable = try db.scalarText("SELECT to_regclass('schema_migrations')::text") != nil
        guard hasTable else {
            let ledger = try db.scalarText("SELECT to_regclass('ledger')::text")
            let state = try db.scalarText("SELECT to_regclass('state')::text")
            if ledger != nil || state != nil {
                throw TallyError.notATallyDatabase(path: db.path, reason: "it has tables named ledger or state but no Tally migration records")
            }
            return []
        }
        var applied: [Migration] = []
        for row in try db.rows("SELECT version::bigint, name, checksum FROM schema_migrations ORDER BY version") {
            guard row.count == 3, case let .integer(version) = row[0], case let .text(name) = row[1], case let .text(checksum) = row[2] else {
                throw TallyError.corruptDatabase(path: db.path, detail: "schema_migrations holds a row with unexpected types")
            }
            guard let known = migrations.first(where: { $0.version == Int(version) }) else {
                throw TallyError.schemaTooNew(path: db.path, found: Int(version), known: latestVersion)
            }
            guard known.checksum == checksum else {
                throw TallyError.migrationChanged(path: db.path, version: Int(version), name: name, applied: checksum, embedded: known.checksum)
            }
            applied.append(known)
        }
        return applied
    }

    /// Applies what is pending, each migration in its own transaction, holding an advisory
    /// lock so that two processes starting at once migrate once. Returns what it applied.
    static func migrate(_ db: PostgresConnection) throws(TallyError) -> [Migration] {
        try db.execute("SELECT pg_advisory_lock(7020401)")
        defer { _ = try? db.execute("SELECT pg_advisory_unlock(7020401)") }
        let done = try applied(on: db)
        var appliedNow: [Migration] = []
        for migration in migrations.dropFirst(done.count) {
            try db.transaction(.immediate) { () throws(TallyError) -> Void in
                try db.execute(migration.sql)
                try db.execute("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)",
                               [migration.version, migration.name, migration.checksum, Timestamp.now()])
            }
            appliedNow.append(migration)
        }
        return appliedNow
    }

    /// The triggers the migrations create; verify reports a missing one.
    static let triggers = [
        "ledger_no_update", "ledger_no_delete", "ledger_no_truncate", "ledger_chain_extends", "ledger_head_guard",
        "ledger_notify", "state_history_no_update", "state_history_no_delete", "state_version_forward",
        "state_history_on_change", "ledger_identity_no_delete", "consumers_position", "merkle_nodes_no_update",
        "checkpoints_no_update", "checkpoints_no_delete",
    ]
}
