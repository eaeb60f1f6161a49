/// Why a Merkle proof was refused. Each case names one check; see the
/// comments in `MerkleVerifier` for why each check exists.
package enum ProofVerificationError: Error, Equatable, Sendable {
    /// A size or index was negative.
    case negativeValue
    /// Inclusion: the leaf index is not below the tree size.
    case leafIndexOutOfRange(index: Int64, size: Int64)
    /// Consistency: the old size is larger than the new size.
    case oldSizeExceedsNewSize(old: Int64, new: Int64)
    /// Consistency: the old tree is empty, which has no proof (see `MerkleTreeError.emptyOldTree`).
    case emptyOldTree
    /// Consistency: the proof is empty although the old tree is smaller.
    case emptyProof
    /// The proof has a different number of hashes than the sizes dictate.
    case wrongProofLength(expected: Int, actual: Int)
    /// Inclusion: the path does not lead to the expected root.
    case rootMismatch
    /// Consistency: the proof does not reproduce the old root.
    case oldRootMismatch
    /// Consistency: the proof does not reproduce the new root.
    case newRootMismatch
    /// Consistency with equal sizes: the two roots differ, so the trees do.
    case rootsDifferAtSameSize
}

/// Verification of inclusion and consistency proofs from hashes alone
/// (RFC 9162 §2.1.3.2 and §2.1.4.2), for an auditor with no database.
package enum MerkleVerifier {
    /// The number of hashes in a valid inclusion proof, or nil unless
    /// 0 ≤ leafIndex < treeSize.
    package static func expectedInclusionProofLength(leafIndex: Int64, treeSize: Int64) -> Int? {
        TreeMath.inclusionProofLength(leafIndex: leafIndex, treeSize: treeSize)
    }

    /// The number of hashes in a valid consistency proof, or nil unless
    /// 0 < oldSize ≤ newSize.
    package static func expectedConsistencyProofLength(oldSize: Int64, newSize: Int64) -> Int? {
        TreeMath.consistencyProofLength(oldSize: oldSize, newSize: newSize)
    }

    /// Verifies that the leaf with this *input* is at `leafIndex` in the tree
    /// of `treeSize` leaves with root `root`.
    ///
    /// Prefer this over `verifyInclusion(leafHash:…)`: hashing the input
    /// here with the 0x00 leaf prefix is what makes it impossible to present
    /// an interior node (or anything that is not a real leaf) as a leaf.
    package static func verifyInclusion(
        leafData: UnsafeRawBufferPointer, leafIndex: Int64, treeSize: Int64, proof: [Hash32], root: Hash32
    ) throws(ProofVerificationError) {
        try verifyInclusion(
            leafHash: MerkleHash.leaf(leafData), leafIndex: leafIndex, treeSize: treeSize, proof: proof, root: root)
    }

    /// Verifies an inclusion proof for an already computed leaf hash
    /// (RFC 9162 §2.1.3.2). `treeSize` and `root` must come together from
    /// one trusted (signed) checkpoint, never from the party supplying the
    /// proof: the size only fixes the proof's shape, so a wrong size whose
    /// shape happens to match (say 300 vs 301 for leaf 208) cannot be told
    /// apart here; it is the root that commits to the size.
    package static func verifyInclusion(
        leafHash: Hash32, leafIndex: Int64, treeSize: Int64, proof: [Hash32], root: Hash32
    ) throws(ProofVerificationError) {
        guard leafIndex >= 0, treeSize >= 0 else { throw .negativeValue }
        // RFC step 1: a leaf at or past the end is not in the tree.
        guard leafIndex < treeSize else { throw .leafIndexOutOfRange(index: leafIndex, size: treeSize) }
        // The sizes fix the proof's shape. Checking the length first refuses
        // truncated, padded and other-size proofs with a precise reason, and
        // stops a node hash from standing in for a leaf by dropping the
        // bottom of the path (that only works with a shorter path).
        let expected = TreeMath.inclusionProofLength(leafIndex: leafIndex, treeSize: treeSize) ?? 0
        guard proof.count == expected else { throw .wrongProofLength(expected: expected, actual: proof.count) }

        // RFC steps 2–4, verbatim. fn tracks our node's index, sn the last
        // node's index, at the current level.
        var fn = UInt64(leafIndex)
        var sn = UInt64(treeSize - 1)
        var r = leafHash
        for p in proof {
            // 4a: path longer than the tree is tall (unreachable after the length check).
            guard sn != 0 else { throw .wrongProofLength(expected: expected, actual: proof.count) }
            if fn & 1 == 1 || fn == sn {
                // Our node is a right child, or the rightmost node with no
                // right sibling at this level: the proof hash goes on the left.
                r = MerkleHash.node(p, r)
                // Skip the levels where the right edge has no sibling.
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                r = MerkleHash.node(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        // RFC step 5: the path must have reached the root level exactly …
        guard sn == 0 else { throw .wrongProofLength(expected: expected, actual: proof.count) }
        // … and produced the trusted root. Swapped, flipped, other-index and
        // leaf-for-node substitutions all fail here.
        guard r == root else { throw .rootMismatch }
    }

    /// Verifies that the tree (`oldSize`, `oldRoot`) is a prefix of the tree
    /// (`newSize`, `newRoot`) (RFC 9162 §2.1.4.2).
    ///
    /// Equal sizes need an empty proof and equal roots. `oldSize == 0` is
    /// refused (`.emptyOldTree`), matching the generator.
    package static func verifyConsistency(
        oldSize: Int64, newSize: Int64, oldRoot: Hash32, newRoot: Hash32, proof: [Hash32]
    ) throws(ProofVerificationError) {
        guard oldSize >= 0, newSize >= 0 else { throw .negativeValue }
        // A log never shrinks; RFC 9162 requires first < second here.
        guard oldSize <= newSize else { throw .oldSizeExceedsNewSize(old: oldSize, new: newSize) }
        guard oldSize > 0 else { throw .emptyOldTree }
        if oldSize == newSize {
            // Nothing to prove: any hash in the proof is unaccounted for.
            guard proof.isEmpty else { throw .wrongProofLength(expected: 0, actual: proof.count) }
            guard oldRoot == newRoot else { throw .rootsDifferAtSameSize }
            return
        }
        // RFC step 1: for old < new an empty proof proves nothing.
        guard !proof.isEmpty else { throw .emptyProof }
        // Exact shape, as for inclusion. This matters most when the old size
        // is a power of two: the proof must then *omit* the old root (the
        // verifier supplies it in step 2), so a proof that smuggles in a
        // root of its own choosing is one hash too long and stops here.
        let expected = TreeMath.consistencyProofLength(oldSize: oldSize, newSize: newSize) ?? 0
        guard proof.count == expected else { throw .wrongProofLength(expected: expected, actual: proof.count) }

        // RFC step 2: for a power-of-two old size, the old tree is one
        // complete node and its hash is the trusted old root itself; prepend
        // it. It is never taken from the proof.
        var path = proof
        if oldSize & (oldSize - 1) == 0 {
            path.insert(oldRoot, at: 0)
        }
        // RFC steps 3–4.
        var fn = UInt64(oldSize - 1)
        var sn = UInt64(newSize - 1)
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        // RFC step 5: fr rebuilds the old root, sr the new root, from the
        // same starting node.
        var fr = path[0]
        var sr = path[0]
        // RFC step 6.
        for c in path.dropFirst() {
            // 6a (unreachable after the length check).
            guard sn != 0 else { throw .wrongProofLength(expected: expected, actual: proof.count) }
            if fn & 1 == 1 || fn == sn {
                // 6b: c is a left sibling inside the old tree, so it counts
                // towards both roots.
                fr = MerkleHash.node(c, fr)
                sr = MerkleHash.node(c, sr)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                // c lies past the old tree: only the new root includes it.
                sr = MerkleHash.node(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        // RFC step 7: all three conditions. Checking only the new root (the
        // immudb 2022 bug) would accept any old root, since the hashes that
        // rebuild the new root never have to agree with the claimed old one;
        // checking fr binds the proof to the old root. (For a power-of-two
        // old size fr is the prepended old root itself, and the old root is
        // bound instead through sr, which starts from it.)
        guard sn == 0 else { throw .wrongProofLength(expected: expected, actual: proof.count) }
        guard fr == oldRoot else { throw .oldRootMismatch }
        guard sr == newRoot else { throw .newRootMismatch }
    }
}
