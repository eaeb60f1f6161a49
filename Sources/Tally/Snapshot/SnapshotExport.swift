import Crypto
import Foundation

/// What to put in a snapshot.
public struct ExportOptions: Sendable {
    /// Include the ledger's events (default). Without them the snapshot holds state only
    /// and cannot prove the chain.
    public var includeLedger = true
    /// Only state documents whose key starts with this prefix ("" = all).
    public var keyPrefix = ""
    /// The snapshot file's permissions.
    public var permissions: mode_t = 0o600

    /// All documents and the whole ledger, mode 0600.
    public init() {}
}

/// Progress of a long operation, reported to a callback (the CLI draws a bar from it).
public struct Progress: Sendable, Equatable {
    /// What is being processed: "state", "ledger", "files", "backup".
    public var phase: String
    /// Items done so far in this phase.
    public var done: Int64
    /// Items expected in this phase (0 when unknown).
    public var total: Int64
}

/// What an export wrote.
public struct ExportSummary: Sendable, Codable, Equatable {
    /// The snapshot file.
    public var path: String
    /// State records written.
    public var documents: Int64
    /// Event records written.
    public var events: Int64
    /// The file's size in bytes.
    public var bytes: Int64
    /// The ledger head the snapshot is consistent with.
    public var ledgerHeadSeq: Int64
    /// That event's hash.
    public var ledgerHeadHash: String
    /// The digest in the trailer: SHA-256 of every byte before it.
    public var sha256: String

    enum CodingKeys: String, CodingKey {
        case path, documents, events, bytes, sha256
        case ledgerHeadSeq = "ledger_head_seq", ledgerHeadHash = "ledger_head_hash"
    }
}

extension Store {
    /// Writes a snapshot of the database to `path`, atomically: the file appears complete or
    /// not at all, and an existing file is replaced only once the new one is durable.
    ///
    /// The snapshot is read in one read transaction, so it is consistent (its ledger head,
    /// documents and events belong together) even while other threads and processes write.
    /// Memory stays flat: rows are streamed to the file. Every document's checksum and every
    /// event's hash are verified on the way, so a damaged database is never exported as if
    /// it were intact.
    ///
    /// - Throws: ``TallyError/corruptState(key:expected:actual:)`` or
    ///   ``TallyError/corruptDatabase(path:detail:)`` for damaged data,
    ///   ``TallyError/io(step:path:errno:)`` for file errors. The target is untouched on error.
    @discardableResult
    public func exportSnapshot(to path: String, options: ExportOptions = ExportOptions(),
                               progress: (@Sendable (Progress) -> Void)? = nil) throws(TallyError) -> ExportSummary {
        let writer: AtomicFile.Writer
        do {
            writer = try AtomicFile.Writer(path: path, permissions: options.permissions)
        } catch {
            throw Self.tallyError(error, path: path)
        }
        do {
            let summary = try readTyped { db in
                try SnapshotWriter(writer: writer, databasePath: self.path).write(db: db, options: options, progress: progress)
            }
            try writer.commit()
            return summary
        } catch {
            writer.discard()
            throw Self.tallyError(error, path: path)
        }
    }

    static func tallyError(_ error: any Error, path: String) -> TallyError {
        if let error = error as? TallyError { return error }
        return TallyError.invalidInput(field: path, reason: String(describing: error))
    }
}

/// Streams one snapshot into an atomic writer, hashing every byte for the trailer.
private struct SnapshotWriter {
    let writer: AtomicFile.Writer
    let databasePath: String

    func write(db: Connection, options: ExportOptions, progress: (@Sendable (Progress) -> Void)?) throws -> ExportSummary {
        var hasher = SHA256()
        var line: [UInt8] = []
        line.reserveCapacity(64 * 1024)
        func emit(_ line: inout [UInt8]) throws {
            line.append(UInt8(ascii: "\n"))
            hasher.update(data: line)
            try writer.write(line)
            line.removeAll(keepingCapacity: true)
        }

        // The first read fixes the transaction's snapshot; everything below belongs to it.
        let head = try LedgerTable.head(on: db)
        let prefixUpper = options.keyPrefix + "\u{7F}"
        let documentTotal = try db.scalarInt("SELECT count(*) FROM state WHERE key >= ? AND key < ?", [options.keyPrefix, prefixUpper]) ?? 0
        let header: JSONValue = [
            "format": .string(SnapshotFormat.formatName),
            "version": .number(Double(SnapshotFormat.version)),
            "schema_version": .number(Double(Migrator.embedded.latestVersion)),
            "created_at": .string(Timestamp.now()),
            "ledger_head": ["seq": .number(Double(head.seq)), "hash": .string(head.hash)],
            "include_ledger": .bool(options.includeLedger),
            "key_prefix": .string(options.keyPrefix),
        ]
        try CanonicalJSON.append(header, to: &line)
        try emit(&line)

        var documents: Int64 = 0
        let states = try db.prepare("SELECT \(StateTable.columns) FROM state WHERE key >= ? AND key < ? ORDER BY key")
        try states.bind(options.keyPrefix, at: 1)
        try states.bind(prefixUpper, at: 2)
        while try states.step() {
            let key = states.string(0)
            let checksum = states.string(4)
            try states.withUTF8(3) { (stored: UnsafeBufferPointer<UInt8>) throws -> Void in
                if Digest.sha256Hex(UnsafeRawBufferPointer(stored)) == checksum {
                    appendState(states, key: key, checksum: checksum, body: stored, to: &line)
                } else {
                    // Not the canonical text it should be: re-verify through the full path,
                    // which throws corruptState when the content really changed.
                    let document = try StateTable.document(from: states)
                    try CanonicalJSON.bytes(document.body).withUnsafeBufferPointer {
                        appendState(states, key: key, checksum: checksum, body: $0, to: &line)
                    }
                }
            }
            try emit(&line)
            documents += 1
            if documents % 1000 == 0 { progress?(Progress(phase: "state", done: documents, total: documentTotal)) }
        }
        progress?(Progress(phase: "state", done: documents, total: documentTotal))

        var events: Int64 = 0
        if options.includeLedger {
            let rows = try db.prepare("SELECT \(LedgerTable.columns) FROM ledger WHERE seq <= ? ORDER BY seq")
            try rows.bind(head.seq, at: 1)
            var previousHash = Digest.zeroHash
            while try rows.step() {
                try appendEvent(rows, previousHash: previousHash, expectedSeq: events + 1, to: &line)
                previousHash = rows.string(11)
                try emit(&line)
                events += 1
                if events % 1000 == 0 { progress?(Progress(phase: "ledger", done: events, total: head.seq)) }
            }
            progress?(Progress(phase: "ledger", done: events, total: head.seq))
        }

        let digest = Digest.hex(hasher.finalize())
        CanonicalJSON.appendASCII("{\"type\":\"end\",\"records\":", to: &line)
        LedgerHash.appendInteger(documents + events, to: &line)
        CanonicalJSON.appendASCII(",\"sha256\":", to: &line)
        CanonicalJSON.appendQuoted(digest, to: &line)
        line.append(UInt8(ascii: "}"))
        line.append(UInt8(ascii: "\n"))
        try writer.write(line)
        return ExportSummary(path: writer.path, documents: documents, events: events, bytes: writer.byteCount,
                             ledgerHeadSeq: head.seq, ledgerHeadHash: head.hash, sha256: digest)
    }

    private func appendState(_ row: Statement, key: String, checksum: String, body: UnsafeBufferPointer<UInt8>, to line: inout [UInt8]) {
        SnapshotFormat.appendStateRecord(key: key, version: row.int64(1), status: row.optionalString(2), canonicalBody: body,
                                         checksum: checksum, updatedAt: row.string(5), ledgerSeq: row.optionalInt64(6), to: &line)
    }

    /// Appends one event record after checking it extends the chain, so a snapshot never
    /// carries a broken ledger that its own import would refuse.
    private func appendEvent(_ row: Statement, previousHash: String, expectedSeq: Int64, to line: inout [UInt8]) throws {
        let seq = row.int64(0)
        let eventID = row.string(1), stream = row.string(2), kind = row.string(4)
        let streamVersion = row.int64(3)
        let amount = row.optionalInt64(5), currency = row.optionalString(6), quantity = row.optionalDouble(7)
        let recordedAt = row.string(9), prevHash = row.string(10), hash = row.string(11)
        try row.withUTF8(8) { (payload: UnsafeBufferPointer<UInt8>) throws -> Void in
            let computed = LedgerHash.hash(prevHash: prevHash, seq: seq, eventID: eventID, stream: stream,
                                           streamVersion: streamVersion, kind: kind, amount: amount, currency: currency,
                                           quantity: quantity, canonicalPayload: payload, recordedAt: recordedAt)
            guard seq == expectedSeq, prevHash == previousHash, computed == hash else {
                throw TallyError.corruptDatabase(path: databasePath, detail: "the ledger chain breaks at seq \(seq); run `tally verify` for details. The snapshot was not written")
            }
            SnapshotFormat.appendEventRecord(seq: seq, eventID: eventID, stream: stream, streamVersion: streamVersion, kind: kind,
                                             amount: amount, currency: currency, quantity: quantity, canonicalPayload: payload,
                                             recordedAt: recordedAt, prevHash: prevHash, hash: hash, to: &line)
        }
    }
}
