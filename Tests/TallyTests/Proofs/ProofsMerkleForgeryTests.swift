import Crypto
@testable import Tally
import Testing

/// What a verifier must say when the sizes it was given change the proof's shape.
func expectedInclusionError(index: Int64, size: Int64, proofCount: Int) -> ProofVerificationError {
    guard let length = MerkleVerifier.expectedInclusionProofLength(leafIndex: index, treeSize: size) else {
        return .leafIndexOutOfRange(index: index, size: size)
    }
    return length == proofCount ? .rootMismatch : .wrongProofLength(expected: length, actual: proofCount)
}

@Suite("Mutated reference proofs are each refused with the specific error")
struct MerkleForgeryTests {
    let fixture: MerkleFixture
    let inputs: [[UInt8]]

    init() throws {
        fixture = try MerkleFixture.load()
        inputs = try fixture.leafInputs()
    }

    func rootOrNil(_ size: Int64) -> Hash32? {
        if size == 0 { return MerkleHash.emptyTree }
        return fixture.roots[String(size)].flatMap { try? Hash32(hex: $0) }
    }

    @Test("Inclusion forgeries: truncated, padded, swapped, flipped, other size, other index, leaf-for-node")
    func inclusionForgeries() throws {
        for item in fixture.inclusion {
            let proof = try hashes(item.audit_path)
            let root = try Hash32(hex: item.root)
            let leaf = try Hash32(hex: item.leaf_hash)
            let (i, n, k) = (item.leaf_index, item.tree_size, proof.count)
            func check(_ path: [Hash32], leaf leafHash: Hash32? = nil, index: Int64? = nil, size: Int64? = nil,
                       root r: Hash32? = nil) -> ProofVerificationError? {
                verificationError { () throws(ProofVerificationError) in
                    try MerkleVerifier.verifyInclusion(
                        leafHash: leafHash ?? leaf, leafIndex: index ?? i, treeSize: size ?? n, proof: path, root: r ?? root)
                }
            }
            let context = "index \(i) size \(n)"
            if k > 0 {
                #expect(check(Array(proof.dropLast())) == .wrongProofLength(expected: k, actual: k - 1), "\(context)")
                #expect(check([]) == .wrongProofLength(expected: k, actual: 0), "\(context)")
                // The proof's first element replaced by the leaf hash itself.
                #expect(check([leaf] + proof.dropFirst()) == .rootMismatch, "\(context)")
            }
            #expect(check(proof + [proof.first ?? leaf]) == .wrongProofLength(expected: k, actual: k + 1), "\(context)")
            #expect(check([root] + proof) == .wrongProofLength(expected: k, actual: k + 1), "\(context)")
            for j in 0..<max(0, k - 1) {
                var swapped = proof
                swapped.swapAt(j, j + 1)
                #expect(check(swapped) == .rootMismatch, "\(context) swap \(j)")
            }
            for j in 0..<k {
                for bit in [0, 7, 129, 255] {
                    var flipped = proof
                    flipped[j] = flipped[j].flippingBit(bit)
                    #expect(check(flipped) == .rootMismatch, "\(context) flip \(j).\(bit)")
                }
            }
            #expect(check(proof, leaf: leaf.flippingBit(3)) == .rootMismatch, "\(context)")
            #expect(check(proof, root: root.flippingBit(200)) == .rootMismatch, "\(context)")
            // The proof presented for a neighbouring size, against that size's real root.
            for otherSize in [n - 1, n + 1] where otherSize >= 0 {
                guard let otherRoot = rootOrNil(otherSize) else { continue }
                #expect(check(proof, size: otherSize, root: otherRoot)
                    == expectedInclusionError(index: i, size: otherSize, proofCount: k), "\(context) as size \(otherSize)")
            }
            // The proof presented for a neighbouring index.
            for otherIndex in [i - 1, i + 1] where otherIndex >= 0 {
                #expect(check(proof, index: otherIndex)
                    == expectedInclusionError(index: otherIndex, size: n, proofCount: k), "\(context) as index \(otherIndex)")
            }
            // Leaf confusion: the raw input hashed without the 0x00 prefix,
            // or hashed with the node prefix, is not the leaf.
            let input = inputs[Int(i)]
            let unprefixed = try Hash32(bytes: SHA256.hash(data: input))
            let nodePrefixed = try Hash32(bytes: SHA256.hash(data: [0x01] + input))
            #expect(check(proof, leaf: unprefixed) == .rootMismatch, "\(context)")
            #expect(check(proof, leaf: nodePrefixed) == .rootMismatch, "\(context)")
            #expect(check(proof, index: -1) == .negativeValue)
        }
    }

    @Test("An interior node cannot pass as a leaf, neither by hash with a shortened path nor as leaf data")
    func interiorNodeAsLeaf() throws {
        let tree = try BuiltTree(leafHashes: inputs.map { MerkleHash.leaf($0) })
        let root8 = try fixture.root(size: 8)
        let node = try tree.store.node(level: 1, index: 1) // H(0x01 ‖ h2 ‖ h3)
        // The classic second-preimage move: treat node (1,1) as "leaf 1" of a
        // 4-leaf tree. Its path up to root8 is one hash shorter than leaf 2's.
        let shortPath = try tree.tree(limitedTo: 8).inclusionProof(leafIndex: 2, size: 8).dropFirst()
        #expect(verificationError { () throws(ProofVerificationError) in
            try MerkleVerifier.verifyInclusion(leafHash: node, leafIndex: 1, treeSize: 4, proof: Array(shortPath), root: root8)
        } == nil, "the hash-only API accepts it when handed the wrong size; sizes must come from a checkpoint")
        #expect(verificationError { () throws(ProofVerificationError) in
            try MerkleVerifier.verifyInclusion(leafHash: node, leafIndex: 2, treeSize: 8, proof: Array(shortPath), root: root8)
        } == .wrongProofLength(expected: 3, actual: 2))
        // As leaf *data* the node's children hash with the 0x00 prefix, so
        // even a full-length path cannot reach the root.
        let children = tree.leaves[2].bytes + tree.leaves[3].bytes
        let fullPath = try tree.tree(limitedTo: 8).inclusionProof(leafIndex: 2, size: 8)
        for (index, path) in [(Int64(2), fullPath), (Int64(3), fullPath)] {
            let error = children.withUnsafeBytes { raw in
                verificationError { () throws(ProofVerificationError) in
                    try MerkleVerifier.verifyInclusion(leafData: raw, leafIndex: index, treeSize: 8, proof: path, root: root8)
                }
            }
            #expect(error == .rootMismatch)
        }
    }

    @Test("Consistency forgeries: empty, truncated, padded, swapped, flipped, other sizes, wrong old root")
    func consistencyForgeries() throws {
        for item in fixture.consistency {
            let proof = try hashes(item.proof)
            let (m, n, k) = (item.old_size, item.new_size, proof.count)
            let oldRoot = try Hash32(hex: item.old_root)
            let newRoot = try Hash32(hex: item.new_root)
            func check(old: Int64? = nil, new: Int64? = nil, _ path: [Hash32], oldRoot o: Hash32? = nil,
                       newRoot r: Hash32? = nil) -> ProofVerificationError? {
                verificationError { () throws(ProofVerificationError) in
                    try MerkleVerifier.verifyConsistency(
                        oldSize: old ?? m, newSize: new ?? n, oldRoot: o ?? oldRoot, newRoot: r ?? newRoot, proof: path)
                }
            }
            let context = "\(m) -> \(n)"
            let powerOfTwo = m & (m - 1) == 0
            #expect(check(old: 0, proof, oldRoot: MerkleHash.emptyTree) == .emptyOldTree, "\(context)")
            if m == n {
                #expect(check([oldRoot]) == .wrongProofLength(expected: 0, actual: 1), "\(context)")
                #expect(check([], newRoot: newRoot.flippingBit(1)) == .rootsDifferAtSameSize, "\(context)")
                continue
            }
            #expect(check(old: n, new: m, proof, oldRoot: newRoot, newRoot: oldRoot)
                == .oldSizeExceedsNewSize(old: n, new: m), "\(context)")
            #expect(check([]) == .emptyProof, "\(context)")
            if k > 1 {
                #expect(check(Array(proof.dropLast())) == .wrongProofLength(expected: k, actual: k - 1), "\(context)")
            }
            #expect(check(proof + [newRoot]) == .wrongProofLength(expected: k, actual: k + 1), "\(context)")
            // Supplying the old root inside the proof, as a careless reading
            // of the power-of-two rule would: one hash too many.
            #expect(check([oldRoot] + proof) == .wrongProofLength(expected: k, actual: k + 1), "\(context)")
            for j in 0..<max(0, k - 1) where proof[j] != proof[j + 1] {
                var swapped = proof
                swapped.swapAt(j, j + 1)
                let error = check(swapped)
                #expect(error == .oldRootMismatch || error == .newRootMismatch, "\(context) swap \(j)")
            }
            for j in 0..<k {
                var flipped = proof
                flipped[j] = flipped[j].flippingBit(77)
                let error = check(flipped)
                if powerOfTwo {
                    // Nothing in the proof feeds the old-root computation.
                    #expect(error == .newRootMismatch, "\(context) flip \(j)")
                } else if j == 0 {
                    // The seed node feeds both; the old root is checked first.
                    #expect(error == .oldRootMismatch, "\(context) flip \(j)")
                } else {
                    #expect(error == .oldRootMismatch || error == .newRootMismatch, "\(context) flip \(j)")
                }
            }
            // A proof that rebuilds the new root must not vouch for an
            // arbitrary old root (immudb 2022): for a power-of-two old size
            // the old root is the starting point of the new-root computation.
            for fakeOld in [oldRoot.flippingBit(0), newRoot, MerkleHash.emptyTree] where fakeOld != oldRoot {
                #expect(check(proof, oldRoot: fakeOld) == (powerOfTwo ? .newRootMismatch : .oldRootMismatch), "\(context)")
            }
            #expect(check(proof, newRoot: newRoot.flippingBit(9)) == .newRootMismatch, "\(context)")
            // The leaf hash of the old tree's last leaf in place of the first node.
            let lastOldLeaf = MerkleHash.leaf(inputs[Int(m - 1)])
            if proof[0] != lastOldLeaf {
                let error = check([lastOldLeaf] + proof.dropFirst())
                #expect(error == .oldRootMismatch || error == .newRootMismatch, "\(context)")
            }
            // The same proof presented for neighbouring sizes, with those sizes' real roots.
            for (otherOld, otherNew) in [(m - 1, n), (m + 1, n), (m, n - 1), (m, n + 1)] {
                guard otherOld >= 0, let o = rootOrNil(otherOld), let r = rootOrNil(otherNew) else { continue }
                let error = check(old: otherOld, new: otherNew, proof, oldRoot: o, newRoot: r)
                let label = "\(context) as \(otherOld) -> \(otherNew)"
                if otherOld == 0 {
                    #expect(error == .emptyOldTree, "\(label)")
                } else if otherOld > otherNew {
                    #expect(error == .oldSizeExceedsNewSize(old: otherOld, new: otherNew), "\(label)")
                } else if otherOld == otherNew {
                    #expect(error == .wrongProofLength(expected: 0, actual: k), "\(label)")
                } else if let length = MerkleVerifier.expectedConsistencyProofLength(oldSize: otherOld, newSize: otherNew),
                          length != k {
                    #expect(error == .wrongProofLength(expected: length, actual: k), "\(label)")
                } else {
                    #expect(error == .oldRootMismatch || error == .newRootMismatch, "\(label)")
                }
            }
        }
    }
}
