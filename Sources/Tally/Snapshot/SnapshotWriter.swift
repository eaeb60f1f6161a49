import Crypto

/// Streams one snapshot into a byte sink, hashing every byte for the trailer, verifying
/// every document's checksum and every event's hash on the way.
///
/// Lines are formatted here, on the thread of the read transaction, in batches that
/// ``SnapshotExportVerifier`` checks and hashes on a second thread (see ``SnapshotExportBatch``);
/// a batch reaches the sink only once verified.
struct SnapshotWriter {
    let databasePath: String
    let write: (UnsafeRawBufferPointer) throws(TallyError) -> Void
    /// The lines being formatted, and their documents' body checks: the next batch.
    private var pending: [UInt8] = []
    private var pendingChecks: [SnapshotExportBatch.BodyCheck] = []
    private var verifier: SnapshotExportVerifier?
    /// Runs ``verifier`` one batch behind the formatting (made with it, once the header is out).
    private var verifying: BatchHandOver<SnapshotExportBatch>?
    /// The file's digest once the verifier has stopped at a body that is not its canonical
    /// text: from that batch on, this thread verifies and hashes every line itself.
    private var ownDigest: SHA256?
    private var bytes: Int64 = 0

    init(databasePath: String, write: @escaping (UnsafeRawBufferPointer) throws(TallyError) -> Void) {
        self.databasePath = databasePath
        self.write = write
        pending.reserveCapacity(SnapshotExportBatch.targetBytes + 64 * 1024)
    }

    private mutating func send(_ data: [UInt8]) throws(TallyError) {
        let sink = write
        let result: Result<Void, TallyError> = data.withUnsafeBytes { raw in Result { () throws(TallyError) in try sink(raw) } }
        try result.get()
        bytes += Int64(data.count)
    }

    /// Ends the line just formatted into ``pending``; a full batch goes to the verifier.
    private mutating func endLine() throws(TallyError) {
        pending.append(UInt8(ascii: "\n"))
        if pending.count >= SnapshotExportBatch.targetBytes { try submitPending() }
    }

    /// Hands ``pending`` to the verifier as a batch, then sends the batch submitted before it.
    private mutating func submitPending() throws(TallyError) {
        guard !pending.isEmpty, let verifying else { return }
        let batch = SnapshotExportBatch(bytes: pending, bodyChecks: pendingChecks)
        pending = []
        pending.reserveCapacity(SnapshotExportBatch.targetBytes + 64 * 1024)
        pendingChecks.removeAll(keepingCapacity: true)
        if let verified = verifying.submit(batch) { try deliver(verified) }
    }

    /// Sends everything formatted so far and returns the digest of all of it.
    private mutating func drain() throws(TallyError) -> SHA256.Digest {
        try submitPending()
        if let verified = verifying?.finish() { try deliver(verified) }
        guard let digest = ownDigest ?? verifier?.digest else {
            throw TallyError.internal("the snapshot's digest was asked for before its header was written")
        }
        return digest.finalize()
    }

    /// Sends a verified batch. The first batch the verifier refused, and every one after it,
    /// is verified here instead: a body whose stored text is not canonical is written in its
    /// canonical form when that hashes to its checksum, and reported as corrupt when not.
    private mutating func deliver(_ batch: SnapshotExportBatch) throws(TallyError) {
        if ownDigest == nil {
            if batch.mismatches.isEmpty {
                try send(batch.bytes)
                return
            }
            // Nothing from this batch on was added by the verifier, which has stopped.
            ownDigest = verifier?.digest
        }
        var repaired: [UInt8] = []
        var sent = 0
        for index in batch.bodyChecks.indices where !batch.bodyIsIntact(index) {
            let check = batch.bodyChecks[index]
            let canonical = try batch.canonicalBody(index)
            repaired.append(contentsOf: batch.bytes[sent..<check.body.lowerBound])
            repaired.append(contentsOf: canonical)
            sent = check.body.upperBound
        }
        if sent == 0 {
            repaired = batch.bytes
        } else {
            repaired.append(contentsOf: batch.bytes[sent...])
        }
        ownDigest?.update(data: repaired)
        try send(repaired)
    }

    mutating func write(db: Connection, options: Store.ExportOptions,
                        progress: (@Sendable (OperationProgress) -> Void)?) throws(TallyError) -> Store.ExportSummary {
        // The first read fixes the transaction's snapshot; everything below belongs to it.
        let head = try LedgerTable.head(on: db)
        let ledgerID = try LedgerIdentity.read(on: db)
        let prefixUpper = options.keyPrefix + "\u{7F}"
        // The total only feeds progress reports. Counting reads every row (the whole table
        // for a range of keys, as much as the export itself), so it is skipped without a
        // progress callback, and without a prefix the smallest index answers it.
        var documentTotal: Int64 = 0
        if progress != nil {
            documentTotal = try (options.keyPrefix.isEmpty
                ? db.scalarInt("SELECT count(*) FROM state")
                : db.scalarInt("SELECT count(*) FROM state WHERE key >= ? AND key < ?", [options.keyPrefix, prefixUpper])) ?? 0
        }
        let header: JSONValue = [
            "format": .string(SnapshotFormat.formatName),
            "version": .number(Double(SnapshotFormat.version)),
            "schema_version": .number(Double(Migrator.embedded.latestVersion)),
            "created_at": .string(Timestamp.now()),
            "ledger_id": .string(ledgerID),
            "ledger_head": ["seq": .number(Double(head.seq)), "hash": .string(head.hash)],
            "include_ledger": .bool(options.includeLedger),
            "key_prefix": .string(options.keyPrefix),
        ]
        var headerLine: [UInt8] = []
        do {
            try CanonicalJSON.append(header, to: &headerLine)
        } catch {
            throw TallyError.internal("the snapshot header cannot be written: \(error)")
        }
        headerLine.append(UInt8(ascii: "\n"))
        try send(headerLine)
        let verifier = SnapshotExportVerifier(header: headerLine)
        self.verifier = verifier
        verifying = BatchHandOver(label: "tally.export.verify") { verifier.verify($0) }

        var documents: Int64 = 0
        let states = try db.prepare("SELECT \(StateTable.columns) FROM state WHERE key >= ? AND key < ? ORDER BY key")
        try states.bind(options.keyPrefix, at: 1)
        try states.bind(prefixUpper, at: 2)
        while try states.step() {
            appendState(states)
            try endLine()
            documents += 1
            if documents % 1000 == 0 { progress?(OperationProgress(phase: .state, done: documents, total: documentTotal)) }
        }
        progress?(OperationProgress(phase: .state, done: documents, total: documentTotal))

        var events: Int64 = 0
        if options.includeLedger {
            let rows = try db.prepare("SELECT \(LedgerTable.columns) FROM ledger WHERE seq <= ? ORDER BY seq")
            try rows.bind(head.seq, at: 1)
            var previousHash = Digest.zeroHash
            while try rows.step() {
                try appendEvent(rows, previousHash: previousHash, expectedSeq: events + 1)
                previousHash = rows.string(11)
                try endLine()
                events += 1
                if events % 1000 == 0 { progress?(OperationProgress(phase: .ledger, done: events, total: head.seq)) }
            }
            progress?(OperationProgress(phase: .ledger, done: events, total: head.seq))
        }

        var checkpoints: Int64 = 0
        if options.includeLedger {
            // Signed checkpoints are evidence about this ledger: they travel with it.
            let rows = try db.prepare("SELECT size, root, origin, key_name, note, created_at FROM checkpoints ORDER BY id")
            while try rows.step() {
                let record: JSONValue = [
                    "type": "checkpoint", "size": .number(Double(rows.int64(0))), "root": .string(rows.string(1)),
                    "origin": .string(rows.string(2)), "key_name": .string(rows.string(3)), "note": .string(rows.string(4)),
                    "created_at": .string(rows.string(5)),
                ]
                do {
                    try CanonicalJSON.append(record, to: &pending)
                } catch {
                    throw TallyError.internal("a checkpoint record cannot be written: \(error)")
                }
                try endLine()
                checkpoints += 1
            }
        }

        var consumers: Int64 = 0
        if options.includeLedger {
            // Positions belong with the ledger they point into (the schema keeps them at or
            // below the head this transaction read).
            let rows = try db.prepare("SELECT name, position FROM consumers ORDER BY name")
            while try rows.step() {
                CanonicalJSON.appendASCII("{\"type\":\"consumer\",\"name\":", to: &pending)
                CanonicalJSON.appendQuoted(rows.string(0), to: &pending)
                CanonicalJSON.appendASCII(",\"position\":", to: &pending)
                LedgerHash.appendInteger(rows.int64(1), to: &pending)
                pending.append(UInt8(ascii: "}"))
                try endLine()
                consumers += 1
            }
        }

        let digest = Digest.hex(try drain())
        var end: [UInt8] = []
        CanonicalJSON.appendASCII("{\"type\":\"end\",\"records\":", to: &end)
        LedgerHash.appendInteger(documents + events + checkpoints + consumers, to: &end)
        CanonicalJSON.appendASCII(",\"sha256\":", to: &end)
        CanonicalJSON.appendQuoted(digest, to: &end)
        end.append(UInt8(ascii: "}"))
        end.append(UInt8(ascii: "\n"))
        try send(end)
        return Store.ExportSummary(path: "-", documents: documents, events: events, consumers: consumers, bytes: bytes,
                             ledgerHeadSeq: head.seq, ledgerHeadHash: head.hash, sha256: digest)
    }

    /// Appends one state record as stored, its text columns copied as they are; its body is
    /// verified against its checksum with its batch (see ``deliver(_:)``): bodies are stored
    /// canonical, so hashing the stored bytes is the whole check for an intact row.
    private mutating func appendState(_ row: Statement) {
        let ranges = SnapshotFormat.appendStateRecord(stored: row, to: &pending)
        pendingChecks.append(.init(key: ranges.key, body: ranges.body, checksum: ranges.checksum))
    }

    /// Appends one event record after checking it extends the chain, so a snapshot never
    /// carries a broken ledger that its own import would refuse.
    private mutating func appendEvent(_ row: Statement, previousHash: String, expectedSeq: Int64) throws(TallyError) {
        let (fields, hash) = (LedgerTable.hashedFields(of: row), row.string(11))
        let intact = row.withUTF8(8) { LedgerHash.hash(fields, canonicalPayload: $0) } == hash
        guard fields.seq == expectedSeq, fields.prevHash == previousHash, intact else {
            throw TallyError.corruptDatabase(path: databasePath, detail: "the ledger chain breaks at seq \(fields.seq); verify the database for details. The snapshot was not written")
        }
        row.withUTF8(8) { SnapshotFormat.appendEventRecord(fields, canonicalPayload: $0, hash: hash, to: &pending) }
    }
}
