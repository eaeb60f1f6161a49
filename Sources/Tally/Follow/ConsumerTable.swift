/// All the SQL behind ``Consumer``s, on a connection the caller holds inside a transaction.
enum ConsumerTable {
    private static let positionSQL = InternalSQL("SELECT position FROM consumers WHERE name = ?")
    private static let createSQL = InternalSQL(
        "INSERT INTO consumers (name, position, created_at, updated_at) VALUES (?, 0, ?, ?) ON CONFLICT (name) DO NOTHING")
    private static let moveSQL = InternalSQL("UPDATE consumers SET position = ?, updated_at = ? WHERE name = ?")
    private static let listSQL = InternalSQL("SELECT name, position, created_at, updated_at FROM consumers ORDER BY name")
    private static let removeSQL = InternalSQL("DELETE FROM consumers WHERE name = ?")
    private static let upsertSQL = InternalSQL("""
        INSERT INTO consumers (name, position, created_at, updated_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
        """)

    /// Consumer names become part of a lock file's name: letters, digits, `.`, `_`, `-`.
    static func validate(_ name: String) throws(TallyError) {
        let bytes = Array(name.utf8)
        guard (1...64).contains(bytes.count),
              bytes.allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }),
              bytes[0] != 0x2E, bytes[0] != 0x2D else {
            throw TallyError.invalidInput(
                field: "consumer name",
                reason: "'\(TallyError.printable(name))' is not a consumer name: use 1…64 letters, digits, '.', '_' or '-', not starting with '.' or '-'")
        }
    }

    static func position(of name: String, on db: Connection) throws(TallyError) -> Int64? {
        let statement = try db.statement(positionSQL)
        defer { statement.reset() }
        try statement.bind(name, at: 1)
        return try statement.step() ? statement.int64(0) : nil
    }

    static func create(_ name: String, on db: Connection) throws(TallyError) {
        let statement = try db.statement(createSQL)
        defer { statement.reset() }
        let now = Timestamp.now()
        try statement.bind(name, at: 1)
        try statement.bind(now, at: 2)
        try statement.bind(now, at: 3)
        try statement.run()
    }

    /// Moves an existing consumer to `position` (which the schema keeps at or below the head).
    static func move(_ name: String, to position: Int64, on db: Connection) throws(TallyError) {
        let statement = try db.statement(moveSQL)
        defer { statement.reset() }
        try statement.bind(position, at: 1)
        try statement.bind(Timestamp.now(), at: 2)
        try statement.bind(name, at: 3)
        try statement.run()
    }

    /// Sets a consumer's position, creating it if needed (snapshot import).
    static func upsert(_ name: String, position: Int64, on db: Connection) throws(TallyError) {
        let statement = try db.statement(upsertSQL)
        defer { statement.reset() }
        let now = Timestamp.now()
        try statement.bind(name, at: 1)
        try statement.bind(position, at: 2)
        try statement.bind(now, at: 3)
        try statement.bind(now, at: 4)
        try statement.run()
    }

    static func remove(_ name: String, on db: Connection) throws(TallyError) -> Bool {
        let statement = try db.statement(removeSQL)
        defer { statement.reset() }
        try statement.bind(name, at: 1)
        try statement.run()
        return db.changes > 0
    }

    static func list(on db: Connection) throws(TallyError) -> [(name: String, position: Int64, createdAt: String, updatedAt: String)] {
        let statement = try db.statement(listSQL)
        defer { statement.reset() }
        var rows: [(name: String, position: Int64, createdAt: String, updatedAt: String)] = []
        while try statement.step() {
            rows.append((statement.string(0), statement.int64(1), statement.string(2), statement.string(3)))
        }
        return rows
    }
}
