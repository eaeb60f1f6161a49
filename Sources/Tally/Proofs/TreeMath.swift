// Index arithmetic shared by proof generation and verification.
//
// Both sides derive the shape of a proof from the sizes alone, so the
// verifier can refuse a proof of the wrong length before hashing anything,
// and the generator and verifier cannot disagree about that shape.

enum TreeMath {
    /// Number of significant bits: 0 for 0, 1 for 1, 3 for 4…7.
    static func bitLength(_ x: UInt64) -> Int { 64 - x.leadingZeroBitCount }

    /// Splits the audit path of node (`level`, `index`) in a tree of `size`
    /// leaves into its two parts (the node must be complete within `size`):
    ///
    /// - `inner`: levels where the node's ancestor and the tree's last leaf's
    ///   ancestor still differ. Each contributes one sibling; all are
    ///   complete except possibly the highest, which may be the ragged right
    ///   edge of the tree.
    /// - `border`: the remaining levels where the ancestor is a right child,
    ///   each contributing its complete left sibling. Levels where the
    ///   ancestor is the rightmost, childless-on-the-right node contribute
    ///   nothing: RFC 9162's split at the largest power of two skips them.
    static func pathShape(level: Int, index: UInt64, size: UInt64) -> (inner: Int, border: Int) {
        let last = (size - 1) >> UInt64(level)
        let inner = bitLength(index ^ last)
        let border = (index >> UInt64(inner)).nonzeroBitCount
        return (inner, border)
    }

    /// The node whose audit path in the new tree forms a consistency proof
    /// from `oldSize`: the smallest (rightmost) complete subtree of the old
    /// tree's decomposition. `0 < oldSize`.
    static func consistencyAnchor(oldSize: UInt64) -> (level: Int, index: UInt64) {
        let level = oldSize.trailingZeroBitCount
        return (level, (oldSize - 1) >> UInt64(level))
    }

    /// Proof length of RFC 9162 PATH(index, D[size]); nil unless 0 ≤ index < size.
    static func inclusionProofLength(leafIndex: Int64, treeSize: Int64) -> Int? {
        guard leafIndex >= 0, leafIndex < treeSize else { return nil }
        let shape = pathShape(level: 0, index: UInt64(leafIndex), size: UInt64(treeSize))
        return shape.inner + shape.border
    }

    /// Proof length of RFC 9162 PROOF(old, D[new]); nil unless 0 < old ≤ new.
    static func consistencyProofLength(oldSize: Int64, newSize: Int64) -> Int? {
        guard oldSize > 0, oldSize <= newSize else { return nil }
        if oldSize == newSize { return 0 }
        let anchor = consistencyAnchor(oldSize: UInt64(oldSize))
        let shape = pathShape(level: anchor.level, index: anchor.index, size: UInt64(newSize))
        // A power-of-two old tree is a single node that the verifier already
        // holds as the old root, so the proof leaves it out (RFC 9162 SUBPROOF
        // with b = true); otherwise the proof starts with that node.
        let seed = anchor.index == 0 ? 0 : 1
        return seed + shape.inner + shape.border
    }
}
