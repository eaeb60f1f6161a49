import Foundation
@testable import Tally
import Testing

/// The RFC 6962 reference data in Fixtures/rfc6962-merkle.json.
struct MerkleFixture: Decodable {
    struct Inclusion: Decodable {
        let leaf_index: Int64
        let tree_size: Int64
        let leaf_hash: String
        let audit_path: [String]
        let root: String
    }

    struct Consistency: Decodable {
        let old_size: Int64
        let new_size: Int64
        let old_root: String
        let new_root: String
        let proof: [String]
    }

    let leaf_inputs_hex: [String]
    let roots: [String: String]
    let empty_tree_root: String
    let inclusion: [Inclusion]
    let consistency: [Consistency]

    static func load() throws -> MerkleFixture {
        // A copy of the Certificate Transparency reference data (Tests/TallyTests/Fixtures).
        let url = packageRoot.appendingPathComponent("Tests/TallyTests/Fixtures/rfc6962-merkle.json")
        return try JSONDecoder().decode(MerkleFixture.self, from: Data(contentsOf: url))
    }

    func leafInputs() throws -> [[UInt8]] {
        try leaf_inputs_hex.map { try #require(ByteEncoding.bytes(fromHex: $0)) }
    }

    func root(size: Int64) throws -> Hash32 {
        try Hash32(hex: #require(roots[String(size)]))
    }
}

/// Parses a list of hex hashes.
func hashes(_ hex: [String]) throws -> [Hash32] {
    try hex.map { try Hash32(hex: $0) }
}

/// A tree built the way the ledger will build it: leaf hashes at level 0,
/// and every node a frontier emits at level ≥ 1.
struct BuiltTree {
    var leaves: [Hash32] = []
    var store = InMemoryNodeStore()
    var frontier = MerkleFrontier()

    init(leafHashes: [Hash32]) throws {
        for hash in leafHashes { try append(hash) }
    }

    mutating func append(_ leafHash: Hash32) throws {
        store.store(MerkleNode(level: 0, index: Int64(leaves.count), hash: leafHash))
        leaves.append(leafHash)
        for node in try frontier.append(leafHash: leafHash) { store.store(node) }
    }

    /// A tree view that fails the test if it is asked for a node that is not
    /// complete within `size`.
    func tree(limitedTo size: Int64) -> MerkleTree<AuditingSource> {
        MerkleTree(nodes: AuditingSource(base: store, size: size))
    }
}

/// Wraps a store, refusing nodes that are incomplete within `size` and
/// counting reads (a class so the count survives the struct copies).
struct AuditingSource: MerkleNodeSource {
    struct IncompleteNodeRequested: Error, Equatable {
        let level: Int
        let index: Int64
        let size: Int64
    }

    final class Counter { var reads = 0 }

    let base: InMemoryNodeStore
    let size: Int64
    let counter = Counter()

    func node(level: Int, index: Int64) throws -> Hash32 {
        counter.reads += 1
        // Complete iff (index + 1)·2^level ≤ size.
        guard level >= 0, level < 63, index >= 0, index + 1 <= size >> Int64(level) else {
            throw IncompleteNodeRequested(level: level, index: index, size: size)
        }
        return try base.node(level: level, index: index)
    }
}

/// RFC 9162 §2.1 written as literally as possible over an array of leaf
/// hashes, as an independent oracle for the node-based generators.
struct ReferenceTree {
    let leaves: [Hash32]
    private var cache: [Range<Int>: Hash32] = [:]

    init(leaves: [Hash32]) { self.leaves = leaves }

    static func largestPowerOfTwoBelow(_ n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    /// MTH(D[range]).
    mutating func mth(_ range: Range<Int>) -> Hash32 {
        if range.isEmpty { return MerkleHash.emptyTree }
        if range.count == 1 { return leaves[range.lowerBound] }
        if let hit = cache[range] { return hit }
        let k = Self.largestPowerOfTwoBelow(range.count)
        let split = range.lowerBound + k
        let hash = MerkleHash.node(mth(range.lowerBound..<split), mth(split..<range.upperBound))
        cache[range] = hash
        return hash
    }

    /// PATH(m, D[range]).
    mutating func path(_ m: Int, _ range: Range<Int>) -> [Hash32] {
        if range.count <= 1 { return [] }
        let k = Self.largestPowerOfTwoBelow(range.count)
        let split = range.lowerBound + k
        if m < k { return path(m, range.lowerBound..<split) + [mth(split..<range.upperBound)] }
        return path(m - k, split..<range.upperBound) + [mth(range.lowerBound..<split)]
    }

    /// SUBPROOF(m, D[range], b).
    mutating func subproof(_ m: Int, _ range: Range<Int>, _ b: Bool) -> [Hash32] {
        if m == range.count { return b ? [] : [mth(range)] }
        let k = Self.largestPowerOfTwoBelow(range.count)
        let split = range.lowerBound + k
        if m <= k { return subproof(m, range.lowerBound..<split, b) + [mth(split..<range.upperBound)] }
        return subproof(m - k, split..<range.upperBound, false) + [mth(range.lowerBound..<split)]
    }
}

extension Hash32 {
    /// The same hash with one bit inverted.
    func flippingBit(_ bit: Int) -> Hash32 {
        var raw = bytes
        raw[bit / 8 % 32] ^= UInt8(1 << (bit % 8))
        return (try? Hash32(bytes: raw)) ?? self
    }
}

/// Runs a verification and returns its error (nil if it passed).
func verificationError(_ body: () throws(ProofVerificationError) -> Void) -> ProofVerificationError? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}
