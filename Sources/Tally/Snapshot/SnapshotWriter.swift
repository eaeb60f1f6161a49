import Crypto

/// Streams one snapshot into a byte sink, hashing every byte for the trailer, verifying
/// every document's checksum and every event's hash on the way.
struct SnapshotWriter {
    let databasePath: String
    let write: (UnsafeRawBufferPointer) throws(TallyError) -> Void
    private var hasher = SHA256()
    private var line: [UInt8] = []
    private var bytes: Int64 = 0

    init(databasePath: String, write: @escaping (UnsafeRawBufferPointer) throws(TallyError) -> Void) {
        self.databasePath = databasePath
        self.write = write
        line.reserveCapacity(64 * 1024)
    }

    private mutating func emit() throws(TallyError) {
        line.append(UInt8(ascii: "\n"))
        hasher.update(data: line)
        try send()
    }

    private mutating func send() throws(TallyError) {
        let sink = write
        let result: Result<Void, TallyError> = line.withUnsafeBytes { raw in Result { () throws(TallyError) in try sink(raw) } }
        try result.get()
        bytes += Int64(line.count)
        line.removeAll(keepingCapacity: true)
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
        do {
            try CanonicalJSON.append(header, to: &line)
        } catch {
            throw TallyError.internal("the snapshot header cannot be written: \(error)")
        }
        try emit()

        var documents: Int64 = 0
        let states = try db.prepare("SELECT \(StateTable.columns) FROM state WHERE key >= ? AND key < ? ORDER BY key")
        try states.bind(options.keyPrefix, at: 1)
        try states.bind(prefixUpper, at: 2)
        while try states.step() {
            try appendState(states)
            try emit()
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
                try emit()
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
                    try CanonicalJSON.append(record, to: &line)
                } catch {
                    throw TallyError.internal("a checkpoint record cannot be written: \(error)")
                }
                try emit()
                checkpoints += 1
            }
        }

        var consumers: Int64 = 0
        if options.includeLedger {
            // Positions belong with the ledger they point into (the schema keeps them at or
            // below the head this transaction read).
            let rows = try db.prepare("SELECT name, position FROM consumers ORDER BY name")
            while try rows.step() {
                CanonicalJSON.appendASCII("{\"type\":\"consumer\",\"name\":", to: &line)
                CanonicalJSON.appendQuoted(rows.string(0), to: &line)
                CanonicalJSON.appendASCII(",\"position\":", to: &line)
                LedgerHash.appendInteger(rows.int64(1), to: &line)
                line.append(UInt8(ascii: "}"))
                try emit()
                consumers += 1
            }
        }

        let digest = Digest.hex(hasher.finalize())
        CanonicalJSON.appendASCII("{\"type\":\"end\",\"records\":", to: &line)
        LedgerHash.appendInteger(documents + events + checkpoints + consumers, to: &line)
        CanonicalJSON.appendASCII(",\"sha256\":", to: &line)
        CanonicalJSON.appendQuoted(digest, to: &line)
        line.append(UInt8(ascii: "}"))
        line.append(UInt8(ascii: "\n"))
        try send()
        return Store.ExportSummary(path: "-", documents: documents, events: events, consumers: consumers, bytes: bytes,
                             ledgerHeadSeq: head.seq, ledgerHeadHash: head.hash, sha256: digest)
    }

    /// Appends one state record, re-verifying the body against its checksum: bodies are
    /// stored canonical, so hashing the stored bytes is the whole check for an intact row.
    private mutating func appendState(_ row: Statement) throws(TallyError) {
        let key = row.string(0)
        let checksum = row.string(4)
        let intact = row.withUTF8(3) { Digest.sha256(of: UnsafeRawBufferPointer($0), is: checksum) }
        if intact {
            row.withUTF8(3) { body in
                SnapshotFormat.appendStateRecord(key: key, version: row.int64(1), status: row.optionalString(2), canonicalBody: body,
                                                 checksum: checksum, updatedAt: row.string(5), ledgerSeq: row.optionalInt64(6),
                                                 to: &line)
            }
            return
        }
        // Not the canonical text it should be: re-verified through its canonical form, which
        // throws corruptState when the content really changed.
        let stored = try StateTable.canonicalRow(from: row)
        stored.body.withUnsafeBufferPointer { body in
            SnapshotFormat.appendStateRecord(key: key, version: stored.row.version, status: stored.row.status, canonicalBody: body,
                                             checksum: checksum, updatedAt: stored.row.updatedAt, ledgerSeq: stored.row.ledgerSeq,
                                             to: &line)
        }
    }

    /// Appends one event record after checking it extends the chain, so a snapshot never
    /// carries a broken ledger that its own import would refuse.
    private mutating func appendEvent(_ row: Statement, previousHash: String, expectedSeq: Int64) throws(TallyError) {
        let (fields, hash) = (LedgerTable.hashedFields(of: row), row.string(11))
        let intact = row.withUTF8(8) { LedgerHash.hash(fields, canonicalPayload: $0) } == hash
        guard fields.seq == expectedSeq, fields.prevHash == previousHash, intact else {
            throw TallyError.corruptDatabase(path: databasePath, detail: "the ledger chain breaks at seq \(fields.seq); verify the database for details. The snapshot was not written")
        }
        row.withUTF8(8) { SnapshotFormat.appendEventRecord(fields, canonicalPayload: $0, hash: hash, to: &line) }
    }
}
