/// Proof that one event is in the ledger as a checkpoint describes it (RFC 9162 §2.1.3):
/// the event, its leaf position and the audit path of sibling hashes from its leaf to the
/// root. Checked with the proof and a checkpoint alone — no database — by
/// ``verify(against:)``, or `tally verify-proof`.
///
/// In JSON (`tally prove --json`), hashes are lowercase hex:
///
/// ```json
/// {"leaf_index": 41, "tree_size": 1042, "leaf_hash": "…", "audit_path": ["…", …],
///  "root": "…", "event": {"seq": 42, …}}
/// ```
public struct InclusionProof: Sendable, Hashable, Codable {
    /// The leaf's position, 0-based: the event's seq − 1.
    public let leafIndex: Int64
    /// The number of events in the tree the proof is for.
    public let treeSize: Int64
    /// `SHA-256(0x00 || JCS(E))` of the event (informational: verification recomputes it
    /// from ``event``).
    public let leafHash: String
    /// Sibling hashes from the leaf up to the root.
    public let auditPath: [String]
    /// The root of the tree of ``treeSize`` events.
    public let root: String
    /// The event the proof is about.
    public let event: LedgerEvent

    enum CodingKeys: String, CodingKey {
        case leafIndex = "leaf_index", treeSize = "tree_size", leafHash = "leaf_hash", auditPath = "audit_path"
        case root, event
    }

    /// Checks that ``event`` is event number `leafIndex + 1` of the ledger `checkpoint`
    /// signed: the tree size and root must be the checkpoint's (never the proof's own), the
    /// leaf hash is recomputed from the event, the path must have exactly the length the
    /// sizes dictate and lead to the root, and the event's own chain hash must match it.
    ///
    /// - Throws: ``TallyError/proofRejected(reason:)`` saying which check failed.
    public func verify(against checkpoint: Checkpoint) throws(TallyError) {
        guard treeSize == checkpoint.size else {
            throw TallyError.proofRejected(reason: "the proof is for a tree of \(treeSize) events but the checkpoint is for \(checkpoint.size); prove against the checkpoint's size")
        }
        guard event.seq == leafIndex + 1 else {
            throw TallyError.proofRejected(reason: "the event is seq \(event.seq) but the proof is for leaf \(leafIndex) (seq \(leafIndex + 1))")
        }
        let chain = try event.computedHash()
        guard chain == event.hash else {
            throw TallyError.proofRejected(reason: "the event's content hashes to \(chain), not to its hash \(event.hash): it was altered")
        }
        let leaf = try LedgerHash.leaf(of: event)
        guard leaf.hex == leafHash.lowercased() else {
            throw TallyError.proofRejected(reason: "leaf_hash \(leafHash) is not the hash of the event (\(leaf.hex))")
        }
        let path = try ProofHashes.parse(auditPath, field: "audit_path")
        let trustedRoot = try ProofHashes.parse(checkpoint.rootHash, field: "checkpoint root")
        do {
            try MerkleVerifier.verifyInclusion(leafHash: leaf, leafIndex: leafIndex, treeSize: checkpoint.size, proof: path, root: trustedRoot)
        } catch {
            throw TallyError.proofRejected(reason: "the inclusion proof does not hold: \(ProofHashes.describe(error))")
        }
    }
}

/// Proof that a later checkpoint's ledger extends an earlier one's (RFC 9162 §2.1.4): the
/// first `oldSize` events are the same in both, so nothing before the earlier checkpoint
/// was rewritten, removed or reordered.
public struct ConsistencyProof: Sendable, Hashable, Codable {
    /// The earlier tree's size.
    public let oldSize: Int64
    /// The later tree's size.
    public let newSize: Int64
    /// The earlier tree's root, hex.
    public let oldRoot: String
    /// The later tree's root, hex.
    public let newRoot: String
    /// The proof's hashes, hex.
    public let path: [String]

    enum CodingKeys: String, CodingKey {
        case oldSize = "old_size", newSize = "new_size", oldRoot = "old_root", newRoot = "new_root", path
    }

    /// Checks that `new` extends `old`, using only the checkpoints' sizes and roots (the
    /// proof's own roots must equal them).
    ///
    /// - Throws: ``TallyError/proofRejected(reason:)`` saying which check failed.
    public func verify(from old: Checkpoint, to new: Checkpoint) throws(TallyError) {
        guard old.origin == new.origin else {
            throw TallyError.proofRejected(reason: "the checkpoints are of different ledgers (\(old.origin), \(new.origin))")
        }
        guard oldSize == old.size, newSize == new.size else {
            throw TallyError.proofRejected(reason: "the proof is from size \(oldSize) to \(newSize) but the checkpoints are for \(old.size) and \(new.size)")
        }
        guard oldRoot.lowercased() == old.rootHash, newRoot.lowercased() == new.rootHash else {
            throw TallyError.proofRejected(reason: "the proof's roots are not the checkpoints' roots")
        }
        let hashes = try ProofHashes.parse(path, field: "path")
        let (oldHash, newHash) = (try ProofHashes.parse(old.rootHash, field: "old root"), try ProofHashes.parse(new.rootHash, field: "new root"))
        do {
            try MerkleVerifier.verifyConsistency(oldSize: old.size, newSize: new.size, oldRoot: oldHash, newRoot: newHash, proof: hashes)
        } catch {
            throw TallyError.proofRejected(reason: "the consistency proof does not hold: \(ProofHashes.describe(error))")
        }
    }
}

/// Hex hashes of proofs and checkpoints.
enum ProofHashes {
    static func parse(_ hex: String, field: String) throws(TallyError) -> Hash32 {
        do {
            return try Hash32(hex: hex)
        } catch {
            throw TallyError.proofRejected(reason: "\(field) '\(TallyError.printable(String(hex.prefix(80))))' is not 64 hex digits")
        }
    }

    static func parse(_ hexes: [String], field: String) throws(TallyError) -> [Hash32] {
        var result: [Hash32] = []
        result.reserveCapacity(hexes.count)
        for (index, hex) in hexes.enumerated() { result.append(try parse(hex, field: "\(field)[\(index)]")) }
        return result
    }

    static func describe(_ error: ProofVerificationError) -> String {
        switch error {
        case .negativeValue: return "a size or index is negative"
        case let .leafIndexOutOfRange(index, size): return "leaf \(index) is not in a tree of \(size)"
        case let .oldSizeExceedsNewSize(old, new): return "the old size \(old) is larger than the new size \(new)"
        case .emptyOldTree: return "there is nothing to prove from an empty tree"
        case .emptyProof: return "the proof is empty"
        case let .wrongProofLength(expected, actual): return "the path has \(actual) hashes where these sizes need \(expected)"
        case .rootMismatch: return "the path does not lead to the checkpoint's root"
        case .oldRootMismatch: return "the proof does not rebuild the old root"
        case .newRootMismatch: return "the proof does not rebuild the new root"
        case .rootsDifferAtSameSize: return "the two trees have the same size but different roots"
        }
    }
}
