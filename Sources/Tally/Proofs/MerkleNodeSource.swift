/// A stored complete subtree: node (`level`, `index`) is the root of the
/// perfect subtree over leaves [index·2^level, (index+1)·2^level).
/// Level 0 nodes are leaf hashes.
package struct MerkleNode: Hashable, Sendable, CustomStringConvertible {
    /// Height above the leaves (0 = a leaf hash).
    package var level: Int
    /// Position among the nodes of this level, counted from the left.
    package var index: Int64
    /// The subtree's root hash.
    package var hash: Hash32

    /// Creates a node record.
    package init(level: Int, index: Int64, hash: Hash32) {
        self.level = level
        self.index = index
        self.hash = hash
    }

    /// "(level, index) hash", for test failures.
    package var description: String { "(\(level), \(index)) \(hash)" }
}

/// Where tree algorithms read complete-subtree roots from.
///
/// Every request is for a node that is complete within the tree size the
/// caller asked about: (index+1)·2^level ≤ size. The ledger serves level ≥ 1
/// from its node table and level 0 by re-hashing the event row, so it never
/// has to store or compute anything on the ragged right edge.
///
/// Any error thrown here propagates unchanged out of the `MerkleTree` call
/// that made the request.
package protocol MerkleNodeSource {
    /// Returns the root hash of the complete subtree (`level`, `index`).
    func node(level: Int, index: Int64) throws -> Hash32
}

/// A node source backed by a dictionary, for tests, tools and benchmarks.
///
/// Fill it from the nodes a `MerkleFrontier` emits plus the leaf hashes.
package struct InMemoryNodeStore: MerkleNodeSource, Sendable {
    /// Key of a stored node.
    package struct Key: Hashable, Sendable {
        /// Height above the leaves.
        package var level: Int
        /// Index within the level.
        package var index: Int64

        /// Creates a key for node (`level`, `index`).
        package init(level: Int, index: Int64) {
            self.level = level
            self.index = index
        }
    }

    /// Thrown when a requested node was never stored.
    package struct MissingNode: Error, Equatable, Sendable {
        /// Height of the missing node.
        package var level: Int
        /// Index of the missing node.
        package var index: Int64

        /// Creates the error for node (`level`, `index`).
        package init(level: Int, index: Int64) {
            self.level = level
            self.index = index
        }
    }

    /// All stored nodes.
    package private(set) var nodes: [Key: Hash32] = [:]

    /// Creates an empty store.
    package init() {}

    /// Stores (or replaces) one node.
    package mutating func store(_ node: MerkleNode) {
        nodes[Key(level: node.level, index: node.index)] = node.hash
    }

    /// Reads a node, throwing `MissingNode` if absent.
    package func node(level: Int, index: Int64) throws -> Hash32 {
        guard let hash = nodes[Key(level: level, index: index)] else {
            throw MissingNode(level: level, index: index)
        }
        return hash
    }
}
