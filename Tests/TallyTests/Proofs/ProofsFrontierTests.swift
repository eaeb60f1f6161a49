@testable import Tally
import Testing

@Suite("The frontier appends leaves, emits every complete subtree once and tracks the root")
struct FrontierTests {
    @Test("Appending 1..1000 leaves: root matches root(size:) and emitted nodes are exactly the complete subtrees")
    func appendThousand() throws {
        let count = 1_000
        let leaves = (0..<count).map { MerkleHash.leaf(Array("leaf \($0)".utf8)) }
        var reference = ReferenceTree(leaves: leaves)
        var store = InMemoryNodeStore()
        var frontier = MerkleFrontier()
        var emitted: [MerkleNode] = []
        for (index, leaf) in leaves.enumerated() {
            store.store(MerkleNode(level: 0, index: Int64(index), hash: leaf))
            let completed = try frontier.append(leafHash: leaf)
            // One node per trailing 1-bit of the old size.
            #expect(completed.count == (~index).trailingZeroBitCount)
            for node in completed { store.store(node) }
            emitted += completed
            let size = Int64(index + 1)
            #expect(frontier.size == size)
            #expect(frontier.hashes.count == size.nonzeroBitCount)
            #expect(frontier.root == (try MerkleTree(nodes: store).root(size: size)), "size \(size)")
            #expect(frontier.root == reference.mth(0..<Int(size)), "size \(size)")
        }
        // Exactly every complete subtree at level >= 1, each once, with the right hash.
        var expected: [MerkleNode] = []
        var level = 1
        while count >> level > 0 {
            for index in 0..<(count >> level) {
                let start = index << level
                expected.append(MerkleNode(level: level, index: Int64(index),
                                           hash: reference.mth(start..<(start + (1 << level)))))
            }
            level += 1
        }
        #expect(emitted.count == expected.count)
        #expect(Set(emitted) == Set(expected))
    }

    @Test("init(size:nodes:) rebuilds the same frontier with one read per set bit, and it keeps appending correctly")
    func rebuild() throws {
        let leaves = (0..<130).map { MerkleHash.leaf([UInt8($0 & 0xff), 0x5A]) }
        let built = try BuiltTree(leafHashes: leaves)
        var incremental = MerkleFrontier()
        #expect(incremental.root == MerkleHash.emptyTree)
        for size in 0...leaves.count {
            let source = AuditingSource(base: built.store, size: Int64(size))
            var rebuilt = try MerkleFrontier(size: Int64(size), nodes: source)
            #expect(source.counter.reads == size.nonzeroBitCount)
            #expect(rebuilt == incremental, "size \(size)")
            #expect(rebuilt.nodes.map(\.hash) == rebuilt.hashes)
            if size < leaves.count {
                var copy = rebuilt // value semantics: the copy is independent
                try incremental.append(leafHash: leaves[size])
                try rebuilt.append(leafHash: leaves[size])
                #expect(rebuilt == incremental)
                #expect(copy.size == Int64(size))
                try copy.append(leafHash: leaves[size])
                #expect(copy == rebuilt)
            }
        }
        #expect(throws: MerkleTreeError.negativeSize(-2)) { try MerkleFrontier(size: -2, nodes: built.store) }
    }
}
