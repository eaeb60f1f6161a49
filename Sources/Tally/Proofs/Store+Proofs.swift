extension Store {
    /// Signs the ledger's current Merkle tree head with `key`, records the checkpoint in the
    /// database and returns it. Publish ``Checkpoint/signedNote`` somewhere the database's
    /// owner cannot rewrite.
    ///
    /// - Throws: ``TallyError/invalidInput(field:reason:)`` when `key` was made for another
    ///   ledger (its name must be `tally/<ledgerID()>`).
    public func signCheckpoint(with key: Checkpoint.SigningKey) throws(TallyError) -> Checkpoint {
        try writeTransaction { (tx: Transaction) throws(TallyError) -> Checkpoint in
            let db = try tx.usableConnection(writing: true)
            let origin = Checkpoint.originPrefix + (try LedgerIdentity.read(on: db))
            guard key.name == origin else {
                throw TallyError.invalidInput(
                    field: "key", reason: "it was made for '\(TallyError.printable(key.name))' but this ledger is '\(origin)'; make a key for this ledger (Checkpoint.SigningKey.generate(forLedger:))")
            }
            let head = try LedgerTable.head(on: db)
            let frontier = try MerkleLog.frontier(size: head.seq, cached: tx.appendCursor.frontier, on: db, storing: true)
            tx.appendCursor.frontier = frontier
            let note: CheckpointNote
            let signed: String
            do {
                note = try CheckpointNote(origin: origin, size: head.seq, root: frontier.root)
                signed = try note.signedNote(signer: key.signer)
            } catch {
                throw TallyError.internal("signing the checkpoint failed: \(error)")
            }
            let checkpoint = Checkpoint(note: note, signedNote: signed)
            try db.execute("INSERT INTO checkpoints (size, root, origin, key_name, note, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                           [checkpoint.size, checkpoint.rootHash, origin, key.name, signed, Timestamp.now()])
            return checkpoint
        }
    }

    /// The checkpoints signed for this ledger, oldest first.
    public func checkpoints() throws(TallyError) -> [Checkpoint] {
        try readTransaction { (db: Connection) throws(TallyError) -> [Checkpoint] in
            var result: [Checkpoint] = []
            for row in try db.rows("SELECT note FROM checkpoints ORDER BY id") {
                guard case let .text(note)? = row.first else { continue }
                do throws(TallyError) {
                    result.append(try Checkpoint(unverifiedNote: note))
                } catch {
                    throw TallyError.corruptDatabase(path: db.path, detail: "a stored checkpoint is not a checkpoint any more: \(error.problem)")
                }
            }
            return result
        }
    }

    /// Proves that event `seq` is in the tree of the first `treeSize` events (a
    /// checkpoint's size, to check the proof against that checkpoint). Reads O(log n) rows.
    ///
    /// - Throws: ``TallyError/invalidInput(field:reason:)`` unless 1 ≤ seq ≤ treeSize ≤ the
    ///   ledger's size.
    public func inclusionProof(seq: Int64, treeSize: Int64) throws(TallyError) -> InclusionProof {
        try readTransaction { (db: Connection) throws(TallyError) -> InclusionProof in
            let head = try LedgerTable.head(on: db).seq
            guard treeSize >= 1, treeSize <= head else {
                throw TallyError.invalidInput(field: "tree size", reason: "\(treeSize) is outside the ledger (1…\(head) events)")
            }
            guard seq >= 1, seq <= treeSize else {
                throw TallyError.invalidInput(field: "seq", reason: "\(seq) is not in a tree of \(treeSize) events (seq 1…\(treeSize))")
            }
            guard let (event, leaf) = try MerkleLog.leaves(from: seq, through: seq, on: db).first else {
                throw TallyError.corruptDatabase(path: db.path, detail: "ledger seq \(seq) is missing")
            }
            let tree = MerkleTree(nodes: MerkleLog.NodeSource(db: db, leafLimit: treeSize))
            do {
                let path = try tree.inclusionProof(leafIndex: seq - 1, size: treeSize)
                let root = try tree.root(size: treeSize)
                return InclusionProof(leafIndex: seq - 1, treeSize: treeSize, leafHash: leaf.hex, auditPath: path.map(\.hex),
                                      root: root.hex, event: event)
            } catch {
                throw MerkleLog.translate(error, db: db)
            }
        }
    }

    /// Proves that the tree of the first `newSize` events extends the tree of the first
    /// `oldSize` (to check two checkpoints of those sizes against each other).
    ///
    /// - Throws: ``TallyError/invalidInput(field:reason:)`` unless 1 ≤ oldSize ≤ newSize ≤
    ///   the ledger's size.
    public func consistencyProof(from oldSize: Int64, to newSize: Int64) throws(TallyError) -> ConsistencyProof {
        try readTransaction { (db: Connection) throws(TallyError) -> ConsistencyProof in
            let head = try LedgerTable.head(on: db).seq
            guard oldSize >= 1, oldSize <= newSize, newSize <= head else {
                throw TallyError.invalidInput(field: "sizes", reason: "\(oldSize) → \(newSize) is not a pair 1 ≤ old ≤ new ≤ \(head) (the ledger's size)")
            }
            let tree = MerkleTree(nodes: MerkleLog.NodeSource(db: db, leafLimit: newSize))
            do {
                let path = try tree.consistencyProof(from: oldSize, to: newSize)
                return ConsistencyProof(oldSize: oldSize, newSize: newSize, oldRoot: try tree.root(size: oldSize).hex,
                                        newRoot: try tree.root(size: newSize).hex, path: path.map(\.hex))
            } catch {
                throw MerkleLog.translate(error, db: db)
            }
        }
    }
}
