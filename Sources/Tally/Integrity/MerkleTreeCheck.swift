/// The Merkle tree's check, one leaf at a time in seq order: rebuilds the tree from the
/// events' leaf hashes, compares every stored node with it, and every checkpoint (stored,
/// and given to `verify`) with the tree's root at the checkpoint's size.
struct MerkleTreeCheck {
    /// Checkpoints by size, smallest first: (size, root, what a finding calls it).
    private var expected: [(size: Int64, root: String, label: String)]
    /// The first checkpoint in `expected` not yet compared.
    private var next = 0
    /// Checkpoints whose root matched.
    private var matched: Int64 = 0
    private var frontier = MerkleFrontier()
    /// Stored nodes the rebuilt tree has but `merkle_nodes` lacks, or holds another hash
    /// for, as "(level, index)".
    private var missing: [String] = []
    private var differing: [String] = []
    /// What the check found so far: a caller that stops it early (the ledger is damaged)
    /// still reports these.
    private(set) var findings: [Finding] = []

    /// Reads the stored checkpoints and compares those of size 0 with the empty tree.
    init(checkpoints: [Checkpoint], on db: Connection) throws(TallyError) {
        expected = checkpoints.map { ($0.size, $0.rootHash, "the checkpoint given (size \($0.size))") }
        for row in try db.rows("SELECT id, size, root FROM checkpoints ORDER BY id") {
            guard row.count == 3, case let .integer(id) = row[0], case let .integer(size) = row[1], case let .text(root) = row[2] else { continue }
            expected.append((size, root, "stored checkpoint #\(id) (size \(size))"))
        }
        expected.sort { $0.size < $1.size }
        compareCheckpoints()
    }

    /// Adds the next event's leaf hash (of an event whose stored hash checked out).
    mutating func add(leaf: Hash32, on db: Connection) throws(TallyError) {
        let completed: [MerkleNode]
        do {
            completed = try frontier.append(leafHash: leaf)
        } catch {
            throw TallyError.internal("the Merkle tree cannot grow: \(error)")
        }
        for node in completed where node.level >= MerkleLog.lowestStoredLevel {
            switch try MerkleLog.storedNode(level: node.level, index: node.index, on: db) {
            case nil: missing.append("(\(node.level), \(node.index))")
            case let stored? where stored != node.hash: differing.append("(\(node.level), \(node.index))")
            default: break
            }
        }
        // The root only where a checkpoint was signed: computing it costs a hash per level,
        // and doing so after every event was a fifth of a whole verify.
        if next < expected.count, expected[next].size == frontier.size { compareCheckpoints() }
    }

    /// After the last event: the nodes that differ or are missing, nodes beyond the tree,
    /// and checkpoints larger than the ledger; returns the root and how many checkpoints
    /// matched.
    mutating func finish(on db: Connection) throws(TallyError) -> (root: String, checkpoints: Int64) {
        let size = frontier.size
        if !differing.isEmpty {
            findings.append(Finding(kind: .corrupt, detail: "\(differing.count) stored Merkle node(s) disagree with the events under them, "
                + "first \(differing.prefix(3).joined(separator: ", ")) (level, index): the ledger or the tree was changed behind Tally's back, "
                + "so proofs made from them will not verify"))
        }
        if !missing.isEmpty {
            findings.append(Finding(kind: .missing, detail: "\(missing.count) Merkle node(s) are missing, first \(missing.prefix(3).joined(separator: ", ")) "
                + "(level, index): events were added without Tally; the next append through Tally rebuilds them"))
        }
        var stored: Int64 = 0
        var level = MerkleLog.lowestStoredLevel
        while (Int64(1) << Int64(level)) <= size {
            stored += size >> Int64(level)
            level += 1
        }
        let present = try db.scalarInt("SELECT count(*) FROM merkle_nodes") ?? 0
        if present > stored - Int64(missing.count) {
            findings.append(Finding(kind: .corrupt, detail: "merkle_nodes holds \(present - (stored - Int64(missing.count))) node(s) beyond the tree of "
                + "\(size) events: events they covered were removed"))
        }
        for checkpoint in expected[next...] {
            findings.append(Finding(kind: .corrupt, detail: "\(checkpoint.label) covers \(checkpoint.size) events but the ledger has \(size): "
                + "events it signed were removed"))
        }
        return (frontier.root.hex, matched)
    }

    /// Compares the checkpoints of the tree's current size with its root.
    private mutating func compareCheckpoints() {
        let size = frontier.size
        var root: Hash32?
        while next < expected.count, expected[next].size == size {
            let checkpoint = expected[next]
            let actual = root ?? frontier.root
            root = actual
            if checkpoint.root.lowercased() == actual.hex {
                matched += 1
            } else {
                findings.append(Finding(kind: .corrupt, detail: "\(checkpoint.label) signed Merkle root \(checkpoint.root), but the ledger's first "
                    + "\(size) events now hash to \(actual.hex): the history was rewritten after it was signed. Restore from a backup older than the rewrite"))
            }
            next += 1
        }
    }
}
