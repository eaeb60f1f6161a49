import Crypto
@testable import Tally
import Testing

@Suite("Generated roots and proofs match the RFC 6962 reference data byte for byte")
struct MerkleFixtureTests {
    let fixture: MerkleFixture
    let tree: BuiltTree

    init() throws {
        fixture = try MerkleFixture.load()
        tree = try BuiltTree(leafHashes: try fixture.leafInputs().map { MerkleHash.leaf($0) })
    }

    @Test("Leaf hashes are SHA-256(0x00 ‖ input) and the empty tree is SHA-256 of nothing")
    func leafAndEmptyHashes() throws {
        #expect(MerkleHash.emptyTree == (try Hash32(hex: fixture.empty_tree_root)))
        #expect(try MerkleTree(nodes: tree.store).root(size: 0) == MerkleHash.emptyTree)
        for (input, leaf) in zip(try fixture.leafInputs(), tree.leaves) {
            var hasher = SHA256()
            hasher.update(data: [0x00] + input)
            #expect(leaf.bytes == Array(hasher.finalize()))
            // The UnsafeRawBufferPointer entry point agrees with ContiguousBytes.
            #expect(input.withUnsafeBytes { MerkleHash.leaf($0) } == leaf)
        }
    }

    @Test("Every published root for sizes 1 to 8 comes out of root(size:) and of the frontier")
    func roots() throws {
        var frontier = MerkleFrontier()
        for size in Int64(1)...8 {
            let expected = try fixture.root(size: size)
            #expect(try tree.tree(limitedTo: size).root(size: size) == expected, "size \(size)")
            try frontier.append(leafHash: tree.leaves[Int(size - 1)])
            #expect(frontier.root == expected, "frontier size \(size)")
        }
    }

    @Test("Every inclusion proof in the file is generated identically and verifies")
    func inclusionProofs() throws {
        for item in fixture.inclusion {
            let expected = try hashes(item.audit_path)
            let root = try Hash32(hex: item.root)
            let leaf = try Hash32(hex: item.leaf_hash)
            #expect(leaf == tree.leaves[Int(item.leaf_index)])
            let generated = try tree.tree(limitedTo: item.tree_size).inclusionProof(leafIndex: item.leaf_index, size: item.tree_size)
            #expect(generated == expected, "index \(item.leaf_index) size \(item.tree_size)")
            #expect(MerkleVerifier.expectedInclusionProofLength(leafIndex: item.leaf_index, treeSize: item.tree_size) == expected.count)
            try MerkleVerifier.verifyInclusion(
                leafHash: leaf, leafIndex: item.leaf_index, treeSize: item.tree_size, proof: expected, root: root)
            let input = try fixture.leafInputs()[Int(item.leaf_index)]
            try input.withUnsafeBytes { raw in
                try MerkleVerifier.verifyInclusion(
                    leafData: raw, leafIndex: item.leaf_index, treeSize: item.tree_size, proof: expected, root: root)
            }
        }
    }

    @Test("Every consistency proof in the file is generated identically and verifies")
    func consistencyProofs() throws {
        for item in fixture.consistency {
            let expected = try hashes(item.proof)
            let generated = try tree.tree(limitedTo: item.new_size).consistencyProof(from: item.old_size, to: item.new_size)
            #expect(generated == expected, "\(item.old_size) -> \(item.new_size)")
            #expect(MerkleVerifier.expectedConsistencyProofLength(oldSize: item.old_size, newSize: item.new_size) == expected.count)
            try MerkleVerifier.verifyConsistency(
                oldSize: item.old_size, newSize: item.new_size,
                oldRoot: try Hash32(hex: item.old_root), newRoot: try Hash32(hex: item.new_root), proof: expected)
        }
    }

    @Test("Generators refuse bad arguments with MerkleTreeError before reading anything")
    func generatorArguments() throws {
        let merkle = tree.tree(limitedTo: 8)
        #expect(throws: MerkleTreeError.emptyOldTree) { try merkle.consistencyProof(from: 0, to: 5) }
        #expect(throws: MerkleTreeError.oldSizeExceedsNewSize(old: 6, new: 5)) { try merkle.consistencyProof(from: 6, to: 5) }
        #expect(throws: MerkleTreeError.leafIndexOutOfRange(index: 5, size: 5)) { try merkle.inclusionProof(leafIndex: 5, size: 5) }
        #expect(throws: MerkleTreeError.leafIndexOutOfRange(index: -1, size: 5)) { try merkle.inclusionProof(leafIndex: -1, size: 5) }
        #expect(throws: MerkleTreeError.negativeSize(-1)) { try merkle.root(size: -1) }
        #expect(merkle.nodes.counter.reads == 0)
    }

    @Test("An error thrown by the node source propagates unchanged")
    func sourceErrorsPropagate() throws {
        struct Broken: MerkleNodeSource {
            struct DiskOnFire: Error, Equatable {}
            func node(level: Int, index: Int64) throws -> Hash32 { throw DiskOnFire() }
        }
        let merkle = MerkleTree(nodes: Broken())
        #expect(throws: Broken.DiskOnFire()) { try merkle.root(size: 7) }
        #expect(throws: Broken.DiskOnFire()) { try merkle.inclusionProof(leafIndex: 3, size: 7) }
        #expect(throws: Broken.DiskOnFire()) { try merkle.consistencyProof(from: 3, to: 7) }
        #expect(throws: Broken.DiskOnFire()) { try MerkleFrontier(size: 7, nodes: Broken()) }
        // A store missing a node reports which one.
        #expect(throws: InMemoryNodeStore.MissingNode(level: 2, index: 0)) {
            try MerkleTree(nodes: InMemoryNodeStore()).root(size: 4)
        }
    }
}
