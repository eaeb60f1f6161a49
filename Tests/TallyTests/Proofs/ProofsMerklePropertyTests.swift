@testable import Tally
import Testing

@Suite("Random trees up to 300 leaves agree with a literal RFC 9162 implementation")
struct MerklePropertyTests {
    static let maxSize = 300
    let tree: BuiltTree
    let reference: ReferenceTree

    init() throws {
        var rng = SeededGenerator(seed: 0x7A11_7E57)
        let leaves = (0..<Self.maxSize).map { _ in
            MerkleHash.leaf((0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
        tree = try BuiltTree(leafHashes: leaves)
        reference = ReferenceTree(leaves: leaves)
    }

    /// Every single-element mutation of `proof` we try.
    static func mutations(of proof: [Hash32], using rng: inout SeededGenerator) -> [(String, [Hash32])] {
        var result: [(String, [Hash32])] = [("extra hash", proof + [MerkleHash.emptyTree])]
        if !proof.isEmpty {
            result.append(("drop last", Array(proof.dropLast())))
            result.append(("drop first", Array(proof.dropFirst())))
            let j = Int.random(in: 0..<proof.count, using: &rng)
            var flipped = proof
            flipped[j] = flipped[j].flippingBit(Int.random(in: 0..<256, using: &rng))
            result.append(("flip bit in \(j)", flipped))
        }
        if proof.count >= 2 {
            let j = Int.random(in: 0..<(proof.count - 1), using: &rng)
            var swapped = proof
            swapped.swapAt(j, j + 1)
            if swapped != proof { result.append(("swap \(j)", swapped)) }
        }
        return result
    }

    @Test("2,000 random (m, n) pairs: generated proofs equal the RFC's, verify, and no mutation verifies")
    func randomPairs() throws {
        var reference = self.reference // memoizes subtree hashes as it goes
        var rng = SeededGenerator(seed: 2_000)
        for _ in 0..<2_000 {
            let n = Int64.random(in: 1...Int64(Self.maxSize), using: &rng)
            let m = Int64.random(in: 1...n, using: &rng)
            let i = Int64.random(in: 0..<n, using: &rng)
            let merkle = tree.tree(limitedTo: n)
            let newRoot = try merkle.root(size: n)
            let oldRoot = try merkle.root(size: m)
            #expect(newRoot == reference.mth(0..<Int(n)))
            #expect(oldRoot == reference.mth(0..<Int(m)))

            // Inclusion.
            let path = try merkle.inclusionProof(leafIndex: i, size: n)
            #expect(path == reference.path(Int(i), 0..<Int(n)), "PATH(\(i), D[\(n)])")
            let leaf = tree.leaves[Int(i)]
            try MerkleVerifier.verifyInclusion(leafHash: leaf, leafIndex: i, treeSize: n, proof: path, root: newRoot)
            for (label, mutated) in Self.mutations(of: path, using: &rng) {
                #expect(verificationError { () throws(ProofVerificationError) in
                    try MerkleVerifier.verifyInclusion(leafHash: leaf, leafIndex: i, treeSize: n, proof: mutated, root: newRoot)
                } != nil, "inclusion \(i)/\(n) \(label)")
            }
            // Neighbouring index or size, each with the real root of that size
            // (a size and root always travel together in a checkpoint).
            for (index, size) in [(i + 1, n), (i - 1, n), (i, n + 1), (i, n - 1)]
            where index >= 0 && size >= 1 && size <= Int64(Self.maxSize) {
                let otherRoot = try tree.tree(limitedTo: size).root(size: size)
                #expect(verificationError { () throws(ProofVerificationError) in
                    try MerkleVerifier.verifyInclusion(leafHash: leaf, leafIndex: index, treeSize: size, proof: path, root: otherRoot)
                } != nil, "inclusion \(i)/\(n) presented as \(index)/\(size)")
            }

            // Consistency.
            let proof = try merkle.consistencyProof(from: m, to: n)
            #expect(proof == reference.subproof(Int(m), 0..<Int(n), true), "PROOF(\(m), D[\(n)])")
            try MerkleVerifier.verifyConsistency(oldSize: m, newSize: n, oldRoot: oldRoot, newRoot: newRoot, proof: proof)
            for (label, mutated) in Self.mutations(of: proof, using: &rng) {
                #expect(verificationError { () throws(ProofVerificationError) in
                    try MerkleVerifier.verifyConsistency(oldSize: m, newSize: n, oldRoot: oldRoot, newRoot: newRoot, proof: mutated)
                } != nil, "consistency \(m)->\(n) \(label)")
            }
            if m < n {
                #expect(verificationError { () throws(ProofVerificationError) in
                    try MerkleVerifier.verifyConsistency(
                        oldSize: m, newSize: n, oldRoot: oldRoot.flippingBit(5), newRoot: newRoot, proof: proof)
                } != nil, "consistency \(m)->\(n) with a wrong old root")
            }
        }
    }

    @Test("Proofs read only complete nodes, O(log n) of them")
    func readBudget() throws {
        for n in Int64(1)...Int64(Self.maxSize) {
            // Height of the tree; each proof reads at most ~2 nodes per level.
            let height = Int64(64 - UInt64(n).leadingZeroBitCount)
            let budget = Int(2 * height + 2)
            for i in Set([0, n / 3, n / 2, n - 1]) {
                let merkle = tree.tree(limitedTo: n) // throws on any incomplete node
                _ = try merkle.inclusionProof(leafIndex: i, size: n)
                #expect(merkle.nodes.counter.reads <= budget, "inclusion \(i)/\(n) read \(merkle.nodes.counter.reads)")
            }
            for m in Set([1, n / 3, n / 2, n - 1, n]) where m >= 1 {
                let merkle = tree.tree(limitedTo: n)
                _ = try merkle.consistencyProof(from: m, to: n)
                #expect(merkle.nodes.counter.reads <= budget, "consistency \(m)->\(n) read \(merkle.nodes.counter.reads)")
            }
            let merkle = tree.tree(limitedTo: n)
            _ = try merkle.root(size: n)
            #expect(merkle.nodes.counter.reads == n.nonzeroBitCount)
        }
    }
}
