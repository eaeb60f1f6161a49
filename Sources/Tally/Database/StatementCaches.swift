/// The two statement caches every connection keeps, whatever the engine:
///
/// - Tally's own statements (``InternalSQL``) in slots indexed by their id: no hashing of SQL
///   text on the hot paths, and callers' statements can never evict them;
/// - other SQL (dynamic statements, tests) by its text, bounded by `capacity`.
///
/// A statement handed out again is reset and its bindings cleared.
struct StatementCaches<Statement: DatabaseStatement> {
    private var internalSlots: [Statement?] = []
    private var byText: [String: Statement] = [:]
    /// Most statements kept by text; when full, all of them are dropped (rare: Tally's hot
    /// statements live in the slots).
    var capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The statement for `sql`, prepared with `prepare` the first time.
    mutating func statement(_ sql: InternalSQL, prepare: () throws(TallyError) -> Statement) throws(TallyError) -> Statement {
        if sql.id < internalSlots.count, let statement = internalSlots[sql.id] {
            return Self.reused(statement)
        }
        let statement = try prepare()
        if sql.id >= internalSlots.count {
            internalSlots += Array(repeating: nil, count: sql.id + 1 - internalSlots.count)
        }
        internalSlots[sql.id] = statement
        return statement
    }

    /// The statement for the SQL text `sql`, prepared with `prepare` when it is not cached.
    mutating func statement(_ sql: String, prepare: () throws(TallyError) -> Statement) throws(TallyError) -> Statement {
        if let statement = byText[sql] { return Self.reused(statement) }
        let statement = try prepare()
        if byText.count >= capacity { byText.removeAll() }
        byText[sql] = statement
        return statement
    }

    /// Drops every statement (before the connection closes or reconnects).
    mutating func removeAll() {
        internalSlots.removeAll()
        byText.removeAll()
    }

    private static func reused(_ statement: Statement) -> Statement {
        statement.reset()
        statement.clearBindings()
        return statement
    }
}
