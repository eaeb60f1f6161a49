/// Why a tree query was refused before any node was read.
package enum MerkleTreeError: Error, Equatable, Sendable {
    /// A tree size was negative.
    case negativeSize(Int64)
    /// The leaf index was negative or not below the tree size.
    case leafIndexOutOfRange(index: Int64, size: Int64)
    /// A consistency proof from the empty tree was requested. RFC 9162
    /// defines PROOF(m, D[n]) only for 0 < m ≤ n: the empty tree is trivially
    /// a prefix of every tree, so there is nothing to prove, and a caller
    /// asking has a bug (or is being steered into skipping the old-root check).
    case emptyOldTree
    /// The old size of a consistency proof exceeds the new size.
    case oldSizeExceedsNewSize(old: Int64, new: Int64)
    /// The tree already holds `Int64.max` leaves.
    case treeFull
}

/// Proof generation over stored complete subtrees (RFC 9162 §2.1).
///
/// Every method reads O(log n) nodes, and only nodes complete within the
/// size asked about. Subtrees on the ragged right edge are recomputed from
/// the complete subtrees of their binary decomposition, never from leaves
/// one by one. Errors thrown by the node source propagate unchanged;
/// invalid arguments throw `MerkleTreeError`.
package struct MerkleTree<Source: MerkleNodeSource> {
    /// Where complete-subtree roots are read from.
    package var nodes: Source

    /// Wraps a node source.
    package init(nodes: Source) {
        self.nodes = nodes
    }

    /// MTH(D[size]), the root of the first `size` leaves; the empty-tree
    /// hash for size 0. Reads one node per set bit of `size`.
    package func root(size: Int64) throws -> Hash32 {
        guard size >= 0 else { throw MerkleTreeError.negativeSize(size) }
        if size == 0 { return MerkleHash.emptyTree }
        return try rangeHash(start: 0, end: UInt64(size))
    }

    /// PATH(leafIndex, D[size]) of RFC 9162 §2.1.3.1: sibling hashes from
    /// the leaf up to the root.
    package func inclusionProof(leafIndex: Int64, size: Int64) throws -> [Hash32] {
        guard size >= 0 else { throw MerkleTreeError.negativeSize(size) }
        guard leafIndex >= 0, leafIndex < size else {
            throw MerkleTreeError.leafIndexOutOfRange(index: leafIndex, size: size)
        }
        var proof: [Hash32] = []
        try appendPath(level: 0, index: UInt64(leafIndex), size: UInt64(size), into: &proof)
        return proof
    }

    /// PROOF(oldSize, D[newSize]) of RFC 9162 §2.1.4.1 (SUBPROOF with b =
    /// true). Empty when the sizes are equal. Throws
    /// `MerkleTreeError.emptyOldTree` for `oldSize == 0`.
    ///
    /// Equivalent node-level construction: take the last complete subtree of
    /// the old tree's decomposition (the "anchor"); the proof is that node
    /// (omitted when it is the whole old tree, i.e. old size is a power of
    /// two) followed by the anchor's audit path in the new tree.
    package func consistencyProof(from oldSize: Int64, to newSize: Int64) throws -> [Hash32] {
        guard oldSize >= 0 else { throw MerkleTreeError.negativeSize(oldSize) }
        guard newSize >= 0 else { throw MerkleTreeError.negativeSize(newSize) }
        guard oldSize <= newSize else { throw MerkleTreeError.oldSizeExceedsNewSize(old: oldSize, new: newSize) }
        guard oldSize > 0 else { throw MerkleTreeError.emptyOldTree }
        if oldSize == newSize { return [] }
        let anchor = TreeMath.consistencyAnchor(oldSize: UInt64(oldSize))
        var proof: [Hash32] = []
        if anchor.index != 0 {
            proof.append(try nodes.node(level: anchor.level, index: Int64(anchor.index)))
        }
        try appendPath(level: anchor.level, index: anchor.index, size: UInt64(newSize), into: &proof)
        return proof
    }

    /// Appends the audit path of complete node (`level`, `index`) within a
    /// tree of `size` leaves, bottom-up. See `TreeMath.pathShape`.
    private func appendPath(level: Int, index: UInt64, size: UInt64, into proof: inout [Hash32]) throws {
        let shape = TreeMath.pathShape(level: level, index: index, size: size)
        proof.reserveCapacity(proof.count + shape.inner + shape.border)
        for step in 0..<shape.inner {
            let nodeLevel = level + step
            let sibling = (index >> UInt64(step)) ^ 1
            // Complete iff (sibling + 1)·2^level ≤ size, written without the
            // multiplication so it cannot overflow.
            if sibling + 1 <= size >> UInt64(nodeLevel) {
                proof.append(try nodes.node(level: nodeLevel, index: Int64(sibling)))
            } else {
                // Only the highest inner sibling can reach past the end:
                // it is the right-edge subtree [sibling·2^level, size).
                proof.append(try rangeHash(start: sibling << UInt64(nodeLevel), end: size))
            }
        }
        var step = shape.inner
        var remaining = index >> UInt64(step)
        while remaining != 0 {
            if remaining & 1 == 1 {
                // Ancestor is a right child: its complete left sibling.
                proof.append(try nodes.node(level: level + step, index: Int64((index >> UInt64(step)) ^ 1)))
            }
            remaining >>= 1
            step += 1
        }
    }

    /// MTH(D[start:end]) for a non-empty range whose start is a multiple of
    /// the largest power of two ≤ its length (true of every range the RFC's
    /// recursion produces). The range decomposes into complete subtrees by
    /// the set bits of its length, largest first; MTH splits at the largest
    /// power of two < n, which is the same as folding those subtrees from
    /// the right: H(a, H(b, H(c, d))).
    private func rangeHash(start: UInt64, end: UInt64) throws -> Hash32 {
        var remaining = end - start
        guard remaining != 0 else { return MerkleHash.emptyTree }
        // Walk the set bits from the lowest (rightmost subtree) up; after
        // clearing a bit, `remaining` is the offset at which that subtree starts.
        var level = remaining.trailingZeroBitCount
        remaining &= remaining - 1
        var accumulator = try nodes.node(level: level, index: Int64((start + remaining) >> UInt64(level)))
        while remaining != 0 {
            level = remaining.trailingZeroBitCount
            remaining &= remaining - 1
            let left = try nodes.node(level: level, index: Int64((start + remaining) >> UInt64(level)))
            accumulator = MerkleHash.node(left, accumulator)
        }
        return accumulator
    }
}
