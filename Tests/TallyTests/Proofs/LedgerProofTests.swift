import Foundation
import Testing
@testable import Tally

/// The ledger's Merkle tree as the store keeps it, signed checkpoints, and proofs checked
/// with nothing but the proof and a checkpoint.
@Suite("Ledger proofs: the tree grows with every append, proofs check out without the database, forgeries do not")
struct LedgerProofTests {
    let directory = TemporaryDirectory("tally-proofs")

    private func store(_ stores: TestStores, _ name: String = "p", events: Int = 0) throws -> Store {
        let store = try stores.store(name)
        if events > 0 {
            try store.ledger.append(contentsOf: (0..<events).map {
                NewEvent(stream: "s/\($0 % 5)", kind: "charge", amount: Int64($0 + 1), currency: "EUR", payload: ["n": .number(Double($0))])
            })
        }
        return store
    }

    private func key(for store: Store) throws -> Checkpoint.SigningKey {
        try Checkpoint.SigningKey.generate(forLedger: store.ledgerID())
    }

    /// The reference tree over the ledger's events, leaf by leaf from `LedgerHash.leaf`.
    private func reference(_ store: Store) throws -> ReferenceTree {
        var cursor = store.ledger.events()
        return ReferenceTree(leaves: try cursor.collect().map { try LedgerHash.leaf(of: $0) })
    }

    private func root(_ store: Store, size: Int64) throws -> Hash32 {
        try store.sql { db in try MerkleTree(nodes: MerkleLog.NodeSource(db: db, leafLimit: size)).root(size: size) }
    }

    @Test("single appends, batches, combined writes, group commit and imports all keep the stored tree equal to RFC 9162's",
          arguments: Backend.available)
    func treeMatchesReference(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try store(stores)
        for index in 0..<37 { try store.ledger.append(stream: "one", kind: "k", payload: ["i": .number(Double(index))]) }
        try store.ledger.append(contentsOf: (0..<100).map { NewEvent(stream: "batch", kind: "k", eventID: "b-\($0)") })
        try store.write { tx in
            let event = try tx.ledger.append(stream: "combined", kind: "k")
            try tx.state.put("docs/a", body: [:], causedBy: event)
        }
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for index in 0..<20 { _ = try? store.ledger.append(stream: "w\(worker)", kind: "k", eventID: "w\(worker)-\(index)") }
        }
        // A failed request inside a group-commit batch must not leave its leaf in the tree.
        #expect(throws: TallyError.self) { try store.ledger.append(NewEvent(stream: "batch", kind: "k", expectedStreamVersion: 1)) }
        var reference = try self.reference(store)
        let size = Int64(reference.leaves.count)
        #expect(size == 298)
        for checked in [1, 2, 15, 16, 17, 100, 128, 255, 256, 297, 298] {
            #expect(try root(store, size: Int64(checked)) == reference.mth(0..<checked), "root at \(checked)")
        }
        // Another store instance (a fresh cache) and an import both continue the same tree.
        let other = try self.store(stores)
        try other.ledger.append(stream: "other", kind: "k")
        try store.exportSnapshot(to: directory.file("s.jsonl"))
        let copy = try self.store(stores, "copy")
        try copy.importSnapshot(from: directory.file("s.jsonl"))
        try copy.ledger.append(stream: "after-import", kind: "k")
        var copyReference = try self.reference(copy)
        #expect(try root(copy, size: 300) == copyReference.mth(0..<300))
        #expect(try copy.verify().findings.isEmpty)
    }

    @Test("every inclusion proof at a checkpoint's size verifies with the proof and the checkpoint alone", arguments: Backend.available)
    func inclusionProofs(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try store(stores, events: 77)
        let key = try key(for: store)
        let checkpoint = try store.signCheckpoint(with: key)
        #expect(checkpoint.size == 77)
        let published = try Checkpoint(signedNote: checkpoint.signedNote, publicKey: key.publicKeyText)
        #expect(published == checkpoint)
        var reference = try self.reference(store)
        for seq in Int64(1)...77 {
            let proof = try store.inclusionProof(seq: seq, treeSize: 77)
            #expect(proof.auditPath == reference.path(Int(seq - 1), 0..<77).map(\.hex))
            // Through JSON, as an auditor would receive it.
            let received = try JSONDecoder().decode(InclusionProof.self, from: try JSONEncoder().encode(proof))
            try received.verify(against: published)
        }
    }

    @Test("consistency proofs between checkpoints verify; the empty tree and sizes beyond the ledger are refused", arguments: Backend.available)
    func consistencyProofs(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try store(stores, events: 40)
        let key = try key(for: store)
        let old = try store.signCheckpoint(with: key)
        try store.ledger.append(contentsOf: (0..<33).map { NewEvent(stream: "later", kind: "k", eventID: "l-\($0)") })
        let new = try store.signCheckpoint(with: key)
        let proof = try store.consistencyProof(from: old.size, to: new.size)
        try proof.verify(from: old, to: new)
        var reference = try self.reference(store)
        #expect(proof.path == reference.subproof(40, 0..<73, true).map(\.hex))
        #expect(throws: TallyError.self) { try store.consistencyProof(from: 0, to: 10) }
        #expect(throws: TallyError.self) { try store.consistencyProof(from: 10, to: 74) }
        #expect(throws: TallyError.self) { try proof.verify(from: new, to: old) }
    }

    @Test("forged inclusion proofs are each refused: altered event, swapped siblings, truncated or padded path, another size, a node as the leaf", arguments: Backend.available)
    func forgedInclusion(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try store(stores, events: 23)
        let checkpoint = try store.signCheckpoint(with: try key(for: store))
        let honest = try store.inclusionProof(seq: 11, treeSize: 23)
        try honest.verify(against: checkpoint)
        func mutate(_ change: (inout [String: Any]) -> Void) throws -> InclusionProof {
            var object = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(honest)) as? [String: Any] ?? [:]
            change(&object)
            return try JSONDecoder().decode(InclusionProof.self, from: try JSONSerialization.data(withJSONObject: object))
        }
        let path = honest.auditPath
        let forgeries: [(String, InclusionProof)] = [
            ("altered amount", try mutate { object in
                var event = object["event"] as? [String: Any] ?? [:]
                event["amount"] = 999_999
                object["event"] = event
            }),
            ("swapped siblings", try mutate { $0["audit_path"] = [path[1], path[0]] + path.dropFirst(2) }),
            ("truncated path", try mutate { $0["audit_path"] = Array(path.dropLast()) }),
            ("padded path", try mutate { $0["audit_path"] = path + [path[0]] }),
            ("another tree size", try mutate { $0["tree_size"] = 24 }),
            ("another leaf index", try mutate { $0["leaf_index"] = 11 }),
            ("a node given as the leaf hash", try mutate { $0["leaf_hash"] = path[0] }),
            ("not hex", try mutate { $0["audit_path"] = ["zz"] + path.dropFirst() }),
        ]
        for (name, forged) in forgeries {
            let error = try #require(throws: TallyError.self, "\(name) was accepted") { try forged.verify(against: checkpoint) }
            guard case .proofRejected = error else { Issue.record("\(name): \(error)"); continue }
        }
        // A proof of the right shape for another event of the same tree does not pass as this one.
        let other = try store.inclusionProof(seq: 12, treeSize: 23)
        let spliced = try mutate { $0["audit_path"] = other.auditPath }
        #expect(throws: TallyError.self) { try spliced.verify(against: checkpoint) }
    }

    @Test("checkpoints: another key's signature, an edited note and a key for another ledger are refused", arguments: Backend.available)
    func checkpointSignatures(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try store(stores, events: 5)
        let key = try key(for: store)
        let checkpoint = try store.signCheckpoint(with: key)
        let stranger = try Checkpoint.SigningKey.generate(forLedger: try store.ledgerID())
        // Every refusal says which rule broke in words, never a Swift enum's spelling.
        func refusal(_ attempt: () throws -> Void) throws -> String {
            let error = try #require(throws: TallyError.self) { try attempt() }
            #expect(!error.problem.contains("Tally."), "\(error.problem)")
            return error.problem
        }
        #expect(try refusal { _ = try Checkpoint(signedNote: checkpoint.signedNote, publicKey: stranger.publicKeyText) }
            .contains("no signature is by the key given (signed by tally/"))
        let edited = checkpoint.signedNote.replacingOccurrences(of: "\n5\n", with: "\n6\n")
        #expect(try refusal { _ = try Checkpoint(signedNote: edited, publicKey: key.publicKeyText) }
            .contains("the signature by tally/"))
        #expect(try refusal { _ = try Checkpoint(signedNote: "no signatures\n", publicKey: key.publicKeyText) }
            .hasSuffix("the note is malformed: no empty line separates the text from the signatures"))
        #expect(try refusal { _ = try Checkpoint(unverifiedNote: "tally/x\n5\n\n— sig\n") }
            .hasSuffix("the checkpoint has fewer than its three lines (origin, size, root hash)"))
        #expect(try refusal { _ = try Checkpoint(signedNote: checkpoint.signedNote, publicKey: "not a key") }
            .hasSuffix("its name is empty or contains a space or '+'"))
        #expect(try refusal { _ = try Checkpoint.SigningKey(privateKeyText: "PRIVATE+KEY+name+zz+AAAA") }
            .hasSuffix("it does not have that shape, or its hex or base64 is malformed"))
        let otherLedger = try Checkpoint.SigningKey.generate(forLedger: UUID().uuidString.lowercased())
        let refused = try #require(throws: TallyError.self) { try store.signCheckpoint(with: otherLedger) }
        #expect(refused.problem.contains("made for"), "\(refused)")
        // Keys survive their text form.
        let reread = try Checkpoint.SigningKey(privateKeyText: key.privateKeyText + "\n")
        #expect(reread.publicKeyText == key.publicKeyText)
        #expect(throws: TallyError.self) { try Checkpoint.SigningKey(privateKeyText: "PRIVATE+KEY+nonsense") }
        #expect(try store.checkpoints() == [checkpoint])
    }

    @Test("a history rewritten with every hash recomputed passes its own chain check but fails the checkpoint kept elsewhere",
          arguments: Backend.available)
    func rewrittenHistory(backend: Backend) throws {
        let stores = TestStores(backend)
        let original = try store(stores, "original", events: 30)
        let key = try key(for: original)
        let published = try original.signCheckpoint(with: key)
        // The rewriter builds a new ledger under the same identity: every chain hash and
        // Merkle node is valid for the new events.
        _ = try store(stores, "forged")  // created (and migrated) under its own identity first
        try stores.tamper("UPDATE ledger_identity SET ledger_id = '\(try original.ledgerID())'", dropping: [], in: "forged")
        let reopened = try store(stores, "forged")
        try reopened.ledger.append(contentsOf: (0..<30).map {
            NewEvent(stream: "s/\($0 % 5)", kind: "charge", amount: $0 == 7 ? 1 : Int64($0 + 1), currency: "EUR", payload: ["n": .number(Double($0))])
        })
        let selfCheck = try reopened.verify()
        #expect(selfCheck.isClean, "\(selfCheck.findings)")
        let checkpoint = try Checkpoint(signedNote: published.signedNote, publicKey: key.publicKeyText)
        let report = try reopened.verify(checkpoints: [checkpoint])
        #expect(report.isCorrupt)
        #expect(report.findings.contains { $0.kind == .corrupt && $0.detail.contains("rewritten") }, "\(report.findings)")
        // The original passes the same check.
        let honest = try original.verify(checkpoints: [checkpoint])
        #expect(honest.isClean && honest.checkpointsChecked == 2)
    }

    @Test("verify checks every signed checkpoint at its own size, in the middle of the ledger too", arguments: Backend.available)
    func checkpointsAtEverySize(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try store(stores, events: 5)
        let key = try key(for: store)
        var signed = [try store.signCheckpoint(with: key)]
        for more in [12, 23] {
            try store.ledger.append(contentsOf: (0..<more).map { NewEvent(stream: "m/\($0 % 3)", kind: "k", payload: ["n": .number(Double($0))]) })
            signed.append(try store.signCheckpoint(with: key))
        }
        #expect(signed.map(\.size) == [5, 17, 40])
        let report = try store.verify(checkpoints: [signed[1]])
        #expect(report.isClean, "\(report.findings)")
        #expect(report.checkpointsChecked == 4)  // the three stored, and the one given again
        // One that names the middle size with another root is found, whatever comes after it.
        let other = try self.store(stores, "other", events: 17)
        let foreign = try other.signCheckpoint(with: try self.key(for: other))
        let mismatch = try store.verify(checkpoints: [foreign])
        #expect(mismatch.findings.contains { $0.kind == .corrupt && $0.detail.contains("the checkpoint given (size 17)") }, "\(mismatch.findings)")
        #expect(mismatch.checkpointsChecked == 3)
    }

    @Test("verify reads the ledger once for both checks: a gap stops the chain check while the tree check goes on; an altered event stops both",
          arguments: Backend.available)
    func oneWalkForChainAndTree(backend: Backend) throws {
        let stores = TestStores(backend)
        let gapped = try store(stores, "gap", events: 64)
        _ = try gapped.signCheckpoint(with: try key(for: gapped))
        try stores.tamper("DELETE FROM ledger WHERE seq = 10", dropping: ["ledger_no_delete"], in: "gap")
        let gap = try gapped.verify()
        #expect(gap.chain.firstBreak == ChainReport.Break(seq: 11, reason: .gap(expected: 10)), "\(gap.chain)")
        #expect(gap.chain.eventsChecked == 10)
        #expect(gap.chain.headSeq == 11)
        // The tree was rebuilt over all 63 remaining events: its root, and what differs.
        #expect(gap.merkleRoot != nil)
        #expect(gap.findings.contains { $0.detail.contains("covers 64 events but the ledger has 63") }, "\(gap.findings)")
        #expect(gap.findings.contains { $0.detail.contains("disagree with the events under them") }, "\(gap.findings)")
        #expect(!gap.findings.contains { $0.detail.contains("for its Merkle tree") }, "\(gap.findings)")

        let edited = try store(stores, "edited", events: 64)
        try stores.tamper("UPDATE ledger SET amount = 999 WHERE seq = 5", dropping: ["ledger_no_update"], in: "edited")
        let altered = try edited.verify()
        guard case .hashMismatch = altered.chain.firstBreak?.reason, altered.chain.firstBreak?.seq == 5 else {
            Issue.record("expected a hash mismatch at seq 5, got \(altered.chain)")
            return
        }
        #expect(altered.merkleRoot == nil)
        #expect(altered.findings.contains {
            $0.kind == .corrupt && $0.detail.contains("reading the ledger for its Merkle tree failed") && $0.detail.contains("ledger seq 5 was altered")
        }, "\(altered.findings)")
        #expect(altered.exitStatus == 3)
    }

    @Test("verify rebuilds the tree: an altered stored node, nodes of removed events and a cut-off ledger under a checkpoint are found",
          arguments: Backend.available)
    func verifyTree(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try store(stores, events: 64)
        _ = try store.signCheckpoint(with: try key(for: store))
        let zeros = backend == .sqlite ? "zeroblob(32)" : "decode(repeat('00', 32), 'hex')"
        try stores.tamper("UPDATE merkle_nodes SET hash = \(zeros) WHERE level = 4 AND idx = 1",
                          dropping: ["merkle_nodes_no_update"], in: "p")
        let altered = try store.verify()
        #expect(altered.findings.contains { $0.kind == .corrupt && $0.detail.contains("disagree") }, "\(altered.findings)")
        // A proof built from the altered node does not verify against the checkpoint.
        let checkpoint = try #require(try store.checkpoints().first)
        let proof = try store.inclusionProof(seq: 1, treeSize: 64)
        #expect(throws: TallyError.self) { try proof.verify(against: checkpoint) }

        let cut = try self.store(stores, "cut", events: 64)
        _ = try cut.signCheckpoint(with: try key(for: cut))
        try stores.tamper("DELETE FROM ledger WHERE seq > 40", dropping: ["ledger_no_delete"], in: "cut")
        let report = try cut.verify()
        #expect(report.findings.contains { $0.detail.contains("covers 64 events but the ledger has 40") }, "\(report.findings)")
        #expect(report.findings.contains { $0.detail.contains("beyond the tree") }, "\(report.findings)")
    }

    @Test("a proof verifies the events of its own tree and reads none beyond it; a re-hashed payload that is not JSON is refused by proofs and appends",
          arguments: Backend.available)
    func proofsReadTheirOwnTreeOnly(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try store(stores, events: 40)
        var reference = try self.reference(store)
        // Seq 37 is altered behind Tally's back, in the same block of 16 events as sizes 33…48.
        try stores.tamper("UPDATE ledger SET amount = amount + 1 WHERE seq = 37", dropping: ["ledger_no_update"], in: "p")

        let inside36 = try store.consistencyProof(from: 5, to: 36)
        #expect(inside36.newRoot == reference.mth(0..<36).hex)
        #expect(inside36.oldRoot == reference.mth(0..<5).hex)
        #expect(try store.inclusionProof(seq: 35, treeSize: 36).root == reference.mth(0..<36).hex)
        for attempt in [{ _ = try store.consistencyProof(from: 5, to: 38) }, { _ = try store.inclusionProof(seq: 35, treeSize: 37) }] {
            let error = try #require(throws: TallyError.self) { try attempt() }
            #expect(error.problem.contains("ledger seq 37 was altered"), "\(error)")
        }

        // A payload replaced by bytes that are not JSON by Tally's rules (SQLite's json_valid
        // and PostgreSQL's jsonb, which the schema checks with, accept a repeated name), with
        // the hash recomputed over them, passes the hash check but not the payload check.
        var cursor = store.ledger.events(from: 33, through: 33)
        let event = try #require(try cursor.collect().first)
        let garbage = Array(#"{"a":1,"a":2}"#.utf8)
        let hash = garbage.withUnsafeBufferPointer { LedgerHash.hash(LedgerHash.Fields(event), canonicalPayload: $0) }
        try stores.tamper(#"UPDATE ledger SET payload = '{"a":1,"a":2}', hash = '\#(hash)' WHERE seq = 33"#,
                          dropping: ["ledger_no_update"], in: "p")
        let error = try #require(throws: TallyError.self) { try store.consistencyProof(from: 5, to: 34) }
        #expect(error.problem.contains("ledger seq 33 has a payload that is not valid JSON"), "\(error)")
        // The tip an append extends is read the same way.
        let tip = try store.ledger.head()
        let tipEvent = try #require(try { var cursor = store.ledger.events(from: tip.seq, through: tip.seq); return try cursor.collect().first }())
        let tipHash = garbage.withUnsafeBufferPointer { LedgerHash.hash(LedgerHash.Fields(tipEvent), canonicalPayload: $0) }
        try stores.tamper(#"UPDATE ledger SET payload = '{"a":1,"a":2}', hash = '\#(tipHash)' WHERE seq = \#(tip.seq)"#,
                          dropping: ["ledger_no_update"], in: "p")
        let appendError = try #require(throws: TallyError.self) { try store.ledger.append(stream: "s/0", kind: "charge") }
        #expect(appendError.problem.contains("ledger seq \(tip.seq) has a payload that is not valid JSON"), "\(appendError)")
    }

    @Test("an event deleted behind Tally's back where the tree must be rebuilt stops the next append, naming the seq and what to do",
          arguments: Backend.available)
    func deletedEventStopsTheRebuild(backend: Backend) throws {
        let stores = TestStores(backend)
        _ = try store(stores, events: 40)
        // Seqs 33…40 are past the last stored level-4 node: a new store replays them.
        try stores.tamper("DELETE FROM ledger WHERE seq = 35", dropping: ["ledger_no_delete"], in: "p")
        let reopened = try store(stores)
        let error = try #require(throws: TallyError.self) { try reopened.ledger.append(stream: "s/0", kind: "charge") }
        #expect(error.problem.contains("ledger seq 35 is missing, below the ledger's last seq 40"), "\(error)")
        #expect(error.problem.contains("Store.restore(from:to:)"), "\(error)")
        #expect(try reopened.ledger.head().seq == 40)
    }

    @Test("events added without Tally leave nodes missing (reported); the next append through Tally rebuilds them",
          arguments: Backend.available)
    func eventsFromElsewhere(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try store(stores, events: 10)
        // Events inserted through SQL with a valid chain, as another tool might (Tally's
        // triggers check the chain on either engine).
        let head = try store.ledger.head()
        var previous = head.hash
        let connection = try stores.raw("p")
        for seq in Int64(11)...40 {
            let recordedAt = "2026-11-29T00:00:00.000Z"
            let fields = LedgerHash.Fields(prevHash: previous, seq: seq, eventID: "sql-\(seq)", stream: "sql", streamVersion: seq - 10,
                                           kind: "k", amount: nil, currency: nil, quantity: nil, recordedAt: recordedAt)
            let hash = try LedgerHash.hash(fields, payload: [:])
            try connection.execute("""
                INSERT INTO ledger (seq, event_id, stream, stream_version, kind, payload, recorded_at, prev_hash, hash)
                VALUES (?, ?, 'sql', ?, 'k', '{}', ?, ?, ?)
                """, [seq, "sql-\(seq)", seq - 10, recordedAt, previous, hash])
            previous = hash
        }
        let before = try store.verify()
        #expect(before.findings.contains { $0.kind == .missing && $0.detail.contains("Merkle node") }, "\(before.findings)")
        #expect(!before.isCorrupt)
        try store.ledger.append(stream: "tally", kind: "k")
        #expect(try store.verify().isClean)
        var reference = try self.reference(store)
        #expect(try root(store, size: 41) == reference.mth(0..<41))
    }

    @Test("an import longer than one run of pending tree nodes (4,096 subtree roots, 32,768 events) stores every node the appends stored")
    func longImportStoresEveryNode() throws {
        // merkle_nodes keeps levels 4 and up: about one node per 8 events, so 40,000 events
        // make the importer store its pending nodes once part-way (at 4,096) and once at the end.
        let stores = TestStores(.sqlite)
        let source = try store(stores, "long-source", events: 40_000)
        let checkpoint = try source.signCheckpoint(with: try key(for: source))
        try source.exportSnapshot(to: directory.file("long.jsonl"))
        let copy = try self.store(stores, "long-copy")
        try copy.importSnapshot(from: directory.file("long.jsonl"))

        let nodesSQL = "SELECT level, idx, hex(hash) FROM merkle_nodes ORDER BY level, idx"
        let expected = try source.sql { db in try db.rows(nodesSQL) }
        let imported = try copy.sql { db in try db.rows(nodesSQL) }
        #expect(expected.count > 4_096)
        #expect(imported.count == expected.count)
        #expect(imported == expected)
        // The copy proves what the source signed, at a leaf past the first run and at the last.
        #expect(try copy.checkpoints() == [checkpoint])
        for seq: Int64 in [1, 33_000, 40_000] {
            try copy.inclusionProof(seq: seq, treeSize: 40_000).verify(against: checkpoint)
        }
        #expect(try copy.verify().findings.isEmpty)
    }

    @Test("snapshots carry checkpoints; an import checks each against the tree its events build", arguments: Backend.available)
    func snapshotsCarryCheckpoints(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try store(stores, events: 20)
        let checkpoint = try store.signCheckpoint(with: try key(for: store))
        try store.exportSnapshot(to: directory.file("s.jsonl"))
        let copy = try self.store(stores, "copy")
        let report = try copy.importSnapshot(from: directory.file("s.jsonl"))
        #expect(report.checkpoints == 1)
        #expect(try copy.checkpoints() == [checkpoint])
        _ = try copy.importSnapshot(from: directory.file("s.jsonl"), mode: .merge)
        #expect(try copy.checkpoints().count == 1)

        // A snapshot whose checkpoint record claims another root is refused.
        var lines = try String(contentsOfFile: directory.file("s.jsonl"), encoding: .utf8).split(separator: "\n").map(String.init)
        let index = try #require(lines.firstIndex { $0.contains("\"type\":\"checkpoint\"") })
        lines[index] = lines[index].replacingOccurrences(of: checkpoint.rootHash, with: String(repeating: "0", count: 64))
        let body = lines.dropLast().joined(separator: "\n") + "\n"
        let trailer = "{\"type\":\"end\",\"records\":\(lines.count - 2),\"sha256\":\"\(Digest.sha256Hex(Data(body.utf8)))\"}\n"
        try Data((body + trailer).utf8).write(to: URL(fileURLWithPath: directory.file("bad.jsonl")))
        let fresh = try self.store(stores, "fresh")
        #expect(throws: TallyError.self) { try fresh.importSnapshot(from: directory.file("bad.jsonl")) }
        #expect(try fresh.ledger.head().seq == 0)
    }
}
