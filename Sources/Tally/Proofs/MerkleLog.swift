/// The ledger's Merkle tree (RFC 9162 §2.1) as the database keeps it: the events are the
/// leaves, `merkle_nodes` holds the roots of complete subtrees of level 4 and up, and the
/// levels below are recomputed from the events of their block of 16 when a proof needs them
/// (``NodeSource`` reads each block once per call).
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
            frontier = try MerkleFrontier(size: covered, nodes: NodeSource(db: db, leafLimit: covered))
        } catch {
            throw translate(error, db: db)
        }
        var start = covered + 1
        while start <= size {
            let through = Swift.min(size, start + 4_095)
            let leaves = try leafHashes(from: start, through: through, on: db)
            guard leaves.count == Int(through - start + 1) else {
                throw TallyError.corruptDatabase(path: db.path, detail: "ledger seq \(start + Int64(leaves.count)) is missing, below the ledger's last seq \(size): events were deleted outside Tally; Store.verify() reports what else changed, and Store.restore(from:to:) brings back a backup")
            }
            for leaf in leaves {
                if storing { try append(leaf: leaf, to: &frontier, on: db) } else { try appendUnstored(leaf: leaf, to: &frontier) }
            }
            start = through + 1
        }
        return frontier
    }

    /// Appends one leaf and stores the level ≥ 4 subtrees it completes.
    static func append(leaf: Hash32, to frontier: inout MerkleFrontier, on db: Connection) throws(TallyError) {
        var completed: [MerkleNode] = []
        try append(leaf: leaf, to: &frontier, collecting: &completed)
        try store(completed, on: db)
    }

    /// Appends one leaf and adds the level ≥ 4 subtrees it completes to `completed`, to be
    /// stored with ``store(_:on:)`` before the transaction commits.
    static func append(leaf: Hash32, to frontier: inout MerkleFrontier, collecting completed: inout [MerkleNode]) throws(TallyError) {
        do {
            for node in try frontier.append(leafHash: leaf) where node.level >= lowestStoredLevel {
                completed.append(node)
            }
        } catch {
            throw TallyError.internal("the Merkle tree cannot grow: \(error)")
        }
    }

    /// Inserts completed subtree roots, in the order they were completed.
    static func store(_ nodes: [MerkleNode], on db: Connection) throws(TallyError) {
        for node in nodes { try store(node, on: db) }
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
    ///
    /// One proof asks for several low nodes, almost all inside the one or two blocks of
    /// 16 events at its sizes' right edges; so the events of a block are read (and verified)
    /// once, in one query, and their leaf hashes kept for the rest of the call. A block is
    /// read only up to `leafLimit`, the largest tree size the caller asks about, so events
    /// outside that tree are never read. Use one source per call.
    final class NodeSource: MerkleNodeSource {
        let db: Connection
        let leafLimit: Int64
        /// Leaf hashes by block (the level-4 index): leaf `j` of the block is seq `16·block + j + 1`.
        private var blocks: [Int64: [Hash32]] = [:]

        init(db: Connection, leafLimit: Int64) {
            self.db = db
            self.leafLimit = leafLimit
        }

        func node(level: Int, index: Int64) throws -> Hash32 {
            if level >= MerkleLog.lowestStoredLevel {
                guard let hash = try MerkleLog.storedNode(level: level, index: index, on: db) else {
                    throw TallyError.corruptDatabase(
                        path: db.path,
                        detail: "Merkle node (level \(level), index \(index)) is missing: events were added without Tally; append one event through Tally to rebuild the tree, or run verify")
                }
                return hash
            }
            let firstLeaf = index << Int64(level)
            let width = 1 << level
            let block = firstLeaf >> Int64(MerkleLog.lowestStoredLevel)
            let leaves = try leavesOfBlock(block)
            let offset = Int(firstLeaf - block << Int64(MerkleLog.lowestStoredLevel))
            guard offset + width <= leaves.count else {
                throw TallyError.corruptDatabase(path: db.path, detail: "ledger seqs \(firstLeaf + 1)… are missing under Merkle node (level \(level), index \(index))")
            }
            var layer = Array(leaves[offset..<offset + width])
            while layer.count > 1 {
                layer = stride(from: 0, to: layer.count, by: 2).map { MerkleHash.node(layer[$0], layer[$0 + 1]) }
            }
            return layer[0]
        }

        /// The leaf hashes of `block`'s events up to `leafLimit`, read once; stops at the
        /// first missing seq.
        private func leavesOfBlock(_ block: Int64) throws(TallyError) -> [Hash32] {
            if let cached = blocks[block] { return cached }
            let first = block << Int64(MerkleLog.lowestStoredLevel) + 1
            let last = Swift.min(leafLimit, first + (1 << Int64(MerkleLog.lowestStoredLevel)) - 1)
            let leaves = try MerkleLog.leafHashes(from: first, through: last, on: db)
            blocks[block] = leaves
            return leaves
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

    /// The leaf hashes of events `from…through` (each verified), stopping at the first seq
    /// that is missing.
    static func leafHashes(from: Int64, through: Int64, on db: Connection) throws(TallyError) -> [Hash32] {
        let statement = try db.statement(leavesSQL)
        defer { statement.reset() }
        try statement.bind(from, at: 1)
        try statement.bind(through, at: 2)
        var result: [Hash32] = []
        result.reserveCapacity(Int(Swift.max(0, Swift.min(through - from + 1, 4_096))))
        while try statement.step() {
            guard statement.int64(0) == from + Int64(result.count) else { break }
            result.append(try LedgerTable.verifiedLink(from: statement, path: db.path).leaf)
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
