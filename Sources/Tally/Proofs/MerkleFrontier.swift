/// The right edge of a growing tree (a "compact range" over [0, size)):
/// the roots of the complete subtrees that the binary decomposition of
/// `size` splits the tree into, largest (leftmost) first. At most 63 hashes.
///
/// It appends leaves and yields the root without reading anything, and it
/// reports each complete subtree at level ≥ 1 as it forms, so the ledger can
/// store exactly the nodes that `MerkleTree` will later ask for. A value type
/// backed by a copy-on-write array: copying it is a reference-count bump.
package struct MerkleFrontier: Hashable, Sendable {
    /// Number of leaves appended so far.
    package private(set) var size: Int64
    /// Complete-subtree roots for the set bits of `size`, from the highest
    /// bit (leftmost subtree) to the lowest.
    package private(set) var hashes: [Hash32]

    /// The frontier of the empty tree.
    package init() {
        size = 0
        hashes = []
    }

    /// Rebuilds the frontier of the tree with `size` leaves, reading one node
    /// per set bit of `size` from `nodes`; source errors propagate unchanged.
    package init(size: Int64, nodes: some MerkleNodeSource) throws {
        guard size >= 0 else { throw MerkleTreeError.negativeSize(size) }
        var hashes: [Hash32] = []
        hashes.reserveCapacity(size.nonzeroBitCount)
        var start: UInt64 = 0
        let bits = UInt64(size)
        var level = TreeMath.bitLength(bits) - 1
        while level >= 0 {
            if bits >> UInt64(level) & 1 == 1 {
                hashes.append(try nodes.node(level: level, index: Int64(start >> UInt64(level))))
                start += 1 << UInt64(level)
            }
            level -= 1
        }
        self.size = size
        self.hashes = hashes
    }

    /// The frontier's nodes with their coordinates, leftmost first.
    package var nodes: [MerkleNode] {
        var result: [MerkleNode] = []
        var start: UInt64 = 0
        var position = 0
        let bits = UInt64(size)
        var level = TreeMath.bitLength(bits) - 1
        while level >= 0 {
            if bits >> UInt64(level) & 1 == 1 {
                result.append(MerkleNode(level: level, index: Int64(start >> UInt64(level)), hash: hashes[position]))
                start += 1 << UInt64(level)
                position += 1
            }
            level -= 1
        }
        return result
    }

    /// MTH of the leaves so far: the subtrees folded from the right,
    /// H(a, H(b, c)); the empty-tree hash for size 0. No reads.
    package var root: Hash32 {
        guard var accumulator = hashes.last else { return MerkleHash.emptyTree }
        for left in hashes.dropLast().reversed() {
            accumulator = MerkleHash.node(left, accumulator)
        }
        return accumulator
    }

    /// Appends one leaf hash and returns the nodes at level ≥ 1 that became
    /// complete, lowest first (one per trailing 1-bit of the old size).
    ///
    /// The leaf itself (level 0) is not returned: the ledger recomputes leaf
    /// hashes from event rows.
    @discardableResult
    package mutating func append(leafHash: Hash32) throws(MerkleTreeError) -> [MerkleNode] {
        guard size < Int64.max else { throw .treeFull }
        var completed: [MerkleNode] = []
        var carry = leafHash
        var index = UInt64(size)
        var level = 0
        // Like incrementing a binary counter: each trailing 1-bit of the old
        // size is a subtree of the same height that now gets a right sibling.
        while index & 1 == 1, let left = hashes.popLast() {
            carry = MerkleHash.node(left, carry)
            index >>= 1
            level += 1
            completed.append(MerkleNode(level: level, index: Int64(index), hash: carry))
        }
        hashes.append(carry)
        size += 1
        return completed
    }
}
