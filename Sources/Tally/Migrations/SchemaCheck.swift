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

    /// The objects the migrations up to `version` create, computed once per version and
    /// process (applying the migrations to `:memory:` takes about a millisecond).
    static func expected(upTo version: Int, migrator: Migrator) throws(TallyError) -> Set<Object> {
        if let cached = cache.withLock({ $0[version] }) { return cached }
        let memory = try SQLiteConnection(path: ":memory:", mode: .readWriteCreate)
        for migration in migrator.migrations where migration.version <= version {
            try memory.execute(migration.sql)
        }
        let objects = try objects(of: memory)
        cache.withLock { $0[version] = objects }
        return objects
    }

    private static let cache = Locked<[Int: Set<Object>]>([:])

    /// The schema objects of `db`, without SQLite's own (`sqlite_*`) and the automatic
    /// indexes of UNIQUE constraints (they have no SQL and follow from their tables').
    static func objects(of db: Connection) throws(TallyError) -> Set<Object> {
        var objects = Set<Object>()
        for row in try db.rows("SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'") {
            guard row.count == 4, case let .text(type) = row[0], case let .text(name) = row[1], case let .text(table) = row[2] else {
                continue
            }
            var sql: String?
            if case let .text(text) = row[3] { sql = text }
            objects.insert(Object(type: type, name: name, table: table, sql: sql))
        }
        return objects
    }

    /// What differs between `db`'s schema and the migrations' (empty when it is intact), one
    /// sentence per object: missing, changed, or not Tally's.
    static func problems(of db: Connection, migrator: Migrator) throws(TallyError) -> [String] {
        let version = Int(try db.scalarInt("PRAGMA user_version") ?? 0)
        guard version > 0 else { return [] }
        let expected = try expected(upTo: version, migrator: migrator)
        let actual = try objects(of: db)
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
