/// Proves that a database's schema is exactly the one Tally's migrations made: every table,
/// index, view and trigger, compared by its SQL with what the embedded migrations create on
/// an empty in-memory database.
///
/// The triggers are part of Tally's promises (the ledger is append-only, the chain is
/// extended only by its next event, history records every write), and anyone with the
/// sqlite3 CLI can drop or rewrite one. A changed schema is therefore damage: `verify`
/// reports it and a store refuses to open such a database for writing. Views, indexes and
/// tables of your own are allowed; triggers of your own are not.
enum SchemaCheck {
    /// One schema object as `sqlite_schema` lists it.
    struct Object: Hashable {
        var type: String
        var name: String
        var table: String
        var sql: String?
    }

    /// The objects the migrations up to `version` create, computed once per set of migrations
    /// and process (applying the migrations to `:memory:` takes about a millisecond).
    static func expected(upTo version: Int, migrator: Migrator) throws(TallyError) -> Set<Object> {
        // Keyed by the migrations' checksums, not the version alone: tests (and any other
        // caller) may bring a migrator whose version N differs from the embedded one's.
        let key = migrationsDigest(migrator, upTo: version)
        if let cached = cache.withLock({ $0[key] }) { return cached }
        let memory = try SQLiteConnection(path: ":memory:", mode: .readWriteCreate)
        for migration in migrator.migrations where migration.version <= version {
            try memory.execute(migration.sql)
        }
        let objects = Set(try objects(of: memory))
        cache.withLock { $0[key] = objects }
        return objects
    }

    private static let cache = Locked<[String: Set<Object>]>([:])

    /// The schema the embedded migrations create, known when this build was made: which
    /// migrations (``migrationsDigest(_:upTo:)``) make which schema (``digest(of:)``).
    ///
    /// With it, opening an intact database compares one SHA-256 of its schema instead of
    /// running every migration on `:memory:` first, which was a quarter of the instructions of
    /// a `tally append`. The known digests are a shortcut only: when they do not apply (another
    /// migrator, an older version, another SQLite that words its schema text differently) or
    /// the database's schema differs, the migrations are run and the objects compared as
    /// before. `SchemaCheckTests` fails, printing the new values, when a migration changes.
    static let embeddedSchema = (
        version: 4,
        migrationsDigest: "92fdfaec0da5922fff841bd887822337f04d8998703c7b2da30622cd45eeeb29",
        schemaDigest: "0ae7ce9c072ddfa60f31c356fbae60a6e6babbddef8f48b421627ea22cf16db4")

    /// SHA-256 of the checksums of `migrator`'s migrations up to `version`, in order.
    static func migrationsDigest(_ migrator: Migrator, upTo version: Int) -> String {
        var text: [UInt8] = []
        for migration in migrator.migrations where migration.version <= version {
            text.append(contentsOf: String(migration.version).utf8)
            text.append(UInt8(ascii: ":"))
            text.append(contentsOf: migration.checksum.utf8)
            text.append(UInt8(ascii: "\n"))
        }
        return Digest.sha256Hex(text)
    }

    /// SHA-256 of schema objects: each field of each object, length-prefixed (the decimal
    /// UTF-8 length, a colon, the text), the objects in (type, name) order. Laid out as
    /// bytes: every open of a store for writing takes it, and building it as a `String`
    /// cost a third of the check.
    static func digest(of objects: some Collection<Object>) -> String {
        var text: [UInt8] = []
        for object in objects.sorted(by: { ($0.type, $0.name) < ($1.type, $1.name) }) {
            for field in [object.type, object.name, object.table, object.sql ?? "\u{0}"] {
                text.append(contentsOf: String(field.utf8.count).utf8)
                text.append(UInt8(ascii: ":"))
                text.append(contentsOf: field.utf8)
            }
        }
        return Digest.sha256Hex(text)
    }

    /// True when ``embeddedSchema`` applies to `migrator` at `version` and `objects` are that
    /// schema; false means "not decided here" (compare with the migrations' objects).
    private static func isKnownSchema(_ objects: [Object], version: Int, migrator: Migrator) -> Bool {
        version == embeddedSchema.version
            && migrationsDigest(migrator, upTo: version) == embeddedSchema.migrationsDigest
            && digest(of: objects) == embeddedSchema.schemaDigest
    }

    /// The schema objects of `db`, without SQLite's own (`sqlite_*`) and the automatic
    /// indexes of UNIQUE constraints (they have no SQL and follow from their tables'). A
    /// list, not a set: hashing every trigger's SQL text was most of an intact schema's
    /// check, which needs only the digest; the full comparison makes its own set.
    static func objects(of db: Connection) throws(TallyError) -> [Object] {
        var objects: [Object] = []
        for row in try db.rows("SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'") {
            guard row.count == 4, case let .text(type) = row[0], case let .text(name) = row[1], case let .text(table) = row[2] else {
                continue
            }
            var sql: String?
            if case let .text(text) = row[3] { sql = text }
            objects.append(Object(type: type, name: name, table: table, sql: sql))
        }
        return objects
    }

    /// What differs between `db`'s schema and the migrations' (empty when it is intact), one
    /// sentence per object: missing, changed, or not Tally's.
    static func problems(of db: Connection, migrator: Migrator) throws(TallyError) -> [String] {
        let version = Int(try db.scalarInt("PRAGMA user_version") ?? 0)
        guard version > 0 else { return [] }
        let listed = try objects(of: db)
        if isKnownSchema(listed, version: version, migrator: migrator) { return [] }
        let expected = try expected(upTo: version, migrator: migrator)
        let actual = Set(listed)
        guard expected != actual else { return [] }
        // (Compared by name below: which objects are missing, changed, or added.)
        let expectedByName = Dictionary(expected.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let actualByName = Dictionary(actual.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var problems: [String] = []
        for name in expectedByName.keys.sorted() {
            guard let wanted = expectedByName[name] else { continue }
            guard let found = actualByName[name] else {
                problems.append("the schema has no \(wanted.type) \(name) (it was dropped outside Tally)")
                continue
            }
            if found != wanted {
                problems.append("the \(wanted.type) \(name) differs from the one Tally's migrations create (it was changed outside Tally)")
            }
        }
        // Your own views, indexes and tables are welcome (the sqlite3 CLI is a way in); a
        // trigger of your own is not: it runs inside Tally's writes and can change them.
        for name in actualByName.keys.sorted() where expectedByName[name] == nil {
            if let extra = actualByName[name], extra.type == "trigger" {
                problems.append("the schema has a trigger \(name) on \(extra.table) that Tally's migrations do not create")
            }
        }
        return problems
    }
}
