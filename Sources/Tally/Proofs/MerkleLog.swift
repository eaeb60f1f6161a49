/// The ledger's Merkle tree (RFC 9162 §2.1) as the database keeps it: the events are the
/// leaves, `merkle_nodes` holds the roots of complete subtrees of level 4 and up, and the
/// levels below are recomputed from at most 8 events when a proof needs them.
///
/// The tree grows in the transaction that appends the events: each append feeds its leaf
/// to a ``MerkleFrontier`` (the right edge of the tree, at most 63 hashes) that reports the
/// subtrees it completes, and those of level ≥ 4 are inserted. The frontier is cached by
/// the store between transactions and rebuilt from the table when another process (or an
/// import) moved the ledger.
///
/// Events inserted without Tally (at the sqlite3 prompt, past the chain trigger) get their
/// nodes at the next append through Tally, which rebuilds the frontier from the last
/// stored level-4 node and replays the events after it.
enum MerkleLog {
    /// The lowest level kept in `merkle_nodes` (the migration checks it too).
    static let lowestStoredLevel = 4

    private static let insertSQL = InternalSQL("INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
    private static let nodeSQL = InternalSQL("SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?")
    private static let coveredSQL = InternalSQL("SELECT coalesce(max(idx) + 1, 0) FROM merkle_nodes WHERE level = 4")
    private static let leavesSQL = InternalSQL("SELECT \(LedgerTable.columns) FROM ledger WHERE seq >= ? AND seq <= ? ORDER BY seq")

    // MARK: Growing the tree

    /// The frontier of the tree over the first `size` events: `cached` when it is at that
    /// size, else rebuilt from the stored nodes and, past them, from the events (storing
    /// the nodes it completes when `storing`).
    static func frontier(size: Int64, cached: MerkleFrontier?, on db: Connection, storing: Bool) throws(TallyError) -> MerkleFrontier {
        if let cached, cached.size == size { return cached }
        let coveredNodes = try scalar(coveredSQL, on: db)
        let covered = Swift.min(coveredNodes << Int64(lowestStoredLevel), size & ~Int64((1 << lowestStoredLevel) - 1))
        var frontier: MerkleFrontier
        do {
            frontier = try MerkleFrontier(size: covered, nodes: NodeSource(db: db))
        } catch {
            throw translate(error, db: db)
        }
        var start = covered + 1
        while start <= size {
            let through = Swift.min(size, start + 4_095)
            for (_, leaf) in try leaves(from: start, through: through, on: db) {
                if storing { try append(leaf: leaf, to: &frontier, on: db) } else { try appendUnstored(leaf: leaf, to: &frontier) }
            }
            start = through + 1
        }
        return frontier
    }

    /// Appends one leaf and stores the level ≥ 4 subtrees it completes.
    static func append(leaf: Hash32, to frontier: inout MerkleFrontier, on db: Connection) throws(TallyError) {
        let completed: [MerkleNode]
        do {
            completed = try frontier.append(leafHash: leaf)
        } catch {
            throw TallyError.internal("the Merkle tree cannot grow: \(error)")
        }
        for node in completed where node.level >= lowestStoredLevel {
            try store(node, on: db)
        }
    }

    private static func appendUnstored(leaf: Hash32, to frontier: inout MerkleFrontier) throws(TallyError) {
        do {
            try frontier.append(leafHash: leaf)
        } catch {
            throw TallyError.internal("the Merkle tree cannot grow: \(error)")
        }
    }

    /// Inserts a node; one already there must be the same (a different one means the
    /// events under it changed since it was stored).
    private static func store(_ node: MerkleNode, on db: Connection) throws(TallyError) {
        let statement = try db.statement(insertSQL)
        defer { statement.reset() }
        try statement.bind(Int64(node.level), at: 1)
        try statement.bind(node.index, at: 2)
        try statement.bind(SQLiteValue.blob(node.hash.bytes), at: 3)
        try statement.run()
        if db.changes == 0, let stored = try storedNode(level: node.level, index: node.index, on: db), stored != node.hash {
            throw TallyError.corruptDatabase(
                path: db.path,
                detail: "Merkle node (level \(node.level), index \(node.index)) is stored as \(stored) but the events under it hash to \(node.hash): the ledger or the tree was changed behind Tally's back")
        }
    }

    // MARK: Reading the tree

    /// Reads nodes for ``MerkleTree``: level ≥ 4 from the table, below from the events.
    struct NodeSource: MerkleNodeSource {
        let db: Connection

        func node(level: Int, index: Int64) throws -> Hash32 {
            if level >= MerkleLog.lowestStoredLevel {
                guard let hash = try MerkleLog.storedNode(level: level, index: index, on: db) else {
                    throw TallyError.corruptDatabase(
                        path: db.path,
                        detail: "Merkle node (level \(level), index \(index)) is missing: events were added without Tally; append one event through Tally to rebuild the tree, or run verify")
                }
                return hash
            }
            let first = index << Int64(level) + 1
            let leaves = try MerkleLog.leaves(from: first, through: first + (1 << Int64(level)) - 1, on: db).map(\.leaf)
            guard leaves.count == 1 << level else {
                throw TallyError.corruptDatabase(path: db.path, detail: "ledger seqs \(first)… are missing under Merkle node (level \(level), index \(index))")
            }
            var layer = leaves
            while layer.count > 1 {
                layer = stride(from: 0, to: layer.count, by: 2).map { MerkleHash.node(layer[$0], layer[$0 + 1]) }
            }
            return layer[0]
        }
    }

    static func storedNode(level: Int, index: Int64, on db: Connection) throws(TallyError) -> Hash32? {
        let statement = try db.statement(nodeSQL)
        defer { statement.reset() }
        try statement.bind(Int64(level), at: 1)
        try statement.bind(index, at: 2)
        guard try statement.step() else { return nil }
        guard case let .blob(bytes) = statement.value(0), let hash = try? Hash32(bytes: bytes) else {
            throw TallyError.corruptDatabase(path: db.path, detail: "Merkle node (level \(level), index \(index)) is not 32 bytes")
        }
        return hash
    }

    /// The events `from…through` (verified) with their leaf hashes.
    static func leaves(from: Int64, through: Int64, on db: Connection) throws(TallyError) -> [(event: LedgerEvent, leaf: Hash32)] {
        let statement = try db.statement(leavesSQL)
        defer { statement.reset() }
        try statement.bind(from, at: 1)
        try statement.bind(through, at: 2)
        var result: [(event: LedgerEvent, leaf: Hash32)] = []
        while try statement.step() {
            result.append(try LedgerTable.eventAndLeaf(from: statement, path: db.path))
        }
        return result
    }

    /// A node source error as Tally's: corruption stays, anything else is a bug.
    static func translate(_ error: any Error, db: Connection) -> TallyError {
        if let error = error as? TallyError { return error }
        return .internal("Merkle tree: \(error)")
    }

    private static func scalar(_ sql: InternalSQL, on db: Connection) throws(TallyError) -> Int64 {
        let statement = try db.statement(sql)
        defer { statement.reset() }
        return try statement.step() ? statement.int64(0) : 0
    }
}
