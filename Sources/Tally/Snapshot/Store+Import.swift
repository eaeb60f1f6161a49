import Crypto

extension Store {
    /// Imports a snapshot written by ``exportSnapshot(to:options:progress:)-2nwgz``, all or nothing.
    ///
    /// The whole file is checked — format and version, every line's JSON and field types,
    /// every document's checksum, duplicate keys, the ledger's hash chain and its agreement
    /// with the database's, the record count and the trailer's SHA-256 — inside one write
    /// transaction that commits only when all of it passed. Any failure rolls everything
    /// back and throws ``TallyError/snapshot(path:line:reason:)`` naming the line.
    ///
    /// A `replace` import takes the snapshot's ledger identity with its content.
    ///
    /// The checks that depend on the file alone run on a second thread, a batch of lines
    /// ahead of the one writing to the database; errors still come in line order.
    ///
    /// - Parameters:
    ///   - path: The snapshot file, as ``exportSnapshot(to:options:progress:)-2nwgz`` writes it.
    ///   - mode: ``Store/ImportMode/replace`` (default) or ``Store/ImportMode/merge``.
    ///   - dryRun: Check and report, then roll back.
    ///   - progress: Called every thousand records with the counts so far.
    /// - Throws: ``TallyError/snapshot(path:line:reason:)`` for a file that is not a valid
    ///   snapshot, ``TallyError/snapshotConflict(path:reason:)`` when its ledger is behind the
    ///   database's (replace) or diverges from it.
    @discardableResult
    public func importSnapshot(from path: String, mode: Store.ImportMode = .replace, dryRun: Bool = false,
                               progress: (@Sendable (OperationProgress) -> Void)? = nil) throws(TallyError) -> Store.ImportReport {
        let reader = try LineReader(path: path, maximumLineBytes: SnapshotFormat.maximumLineBytes(for: configuration))
        return try importSnapshot(reader: reader, mode: mode, dryRun: dryRun, progress: progress)
    }

    /// Imports a snapshot read from an open file descriptor (a pipe, standard input),
    /// named `name` in errors; the descriptor is not closed.
    @discardableResult
    public func importSnapshot(fromFileDescriptor descriptor: Int32, name: String, mode: Store.ImportMode = .replace,
                               dryRun: Bool = false,
                               progress: (@Sendable (OperationProgress) -> Void)? = nil) throws(TallyError) -> Store.ImportReport {
        let reader = LineReader(descriptor: descriptor, name: name, owned: false,
                                maximumLineBytes: SnapshotFormat.maximumLineBytes(for: configuration))
        return try importSnapshot(reader: reader, mode: mode, dryRun: dryRun, progress: progress)
    }

    private func importSnapshot(reader: LineReader, mode: Store.ImportMode, dryRun: Bool,
                                progress: (@Sendable (OperationProgress) -> Void)?) throws(TallyError) -> Store.ImportReport {
        var report = Store.ImportReport(mode: mode, dryRun: dryRun)
        var dryRunReport: Store.ImportReport?
        let limits = (document: configuration.maximumDocumentBytes, payload: configuration.maximumPayloadBytes)
        do throws(TallyError) {
            report = try writeTransaction { (tx: Transaction) throws(TallyError) -> Store.ImportReport in
                let db = tx.connection
                // Documents may name events that come later in the file.
                try db.execute(db.dialect == .sqlite ? "PRAGMA defer_foreign_keys = ON" : "SET CONSTRAINTS ALL DEFERRED")
                var importer = SnapshotImporter(reader: reader, db: db, mode: mode, limits: limits, progress: progress)
                let result = try importer.run(report)
                if dryRun {
                    // Everything was checked; roll it all back on purpose.
                    dryRunReport = result
                    throw TallyError.internal(SnapshotImporter.dryRunMarker)
                }
                tx.appendedEvents += Int(result.eventsAppended)
                tx.appendCursor.frontier = importer.treeCursor.frontier
                return result
            }
        } catch {
            if let dryRunReport, case let .internal(marker) = error, marker == SnapshotImporter.dryRunMarker {
                return dryRunReport
            }
            // The importer locates its own errors; what is left comes from the commit (deferred
            // foreign keys), after the last line.
            throw SnapshotImporter.locate(error, path: reader.path, line: reader.lineNumber)
        }
        return report
    }
}

/// One pass over a snapshot inside the import transaction: the header, then batches of lines
/// checked by ``SnapshotLineChecker`` on its queue and applied here, one batch behind.
private struct SnapshotImporter {
    /// Marks the deliberate rollback of a dry run.
    static let dryRunMarker = "dry-run rollback"

    let reader: LineReader
    let db: Connection
    let mode: Store.ImportMode
    let limits: (document: Int, payload: Int)
    let progress: (@Sendable (OperationProgress) -> Void)?

    /// The line being applied, for errors.
    private var currentLine = 1
    /// True when the import started on SQLite with no document and no history: every state
    /// record then adds a new key, with nothing to read first. (On PostgreSQL other writers
    /// may add keys during the import, so every record looks.)
    private var importsIntoPristineState = false
    /// ``caseFoldedHash(_:)`` of every key added while ``importsIntoPristineState``.
    private var foldedKeyHashes = Set<UInt64>()
    private var keyPrefix = ""
    private var includeLedger = true
    private var headerHead: (seq: Int64, hash: String) = (0, Digest.zeroHash)
    private var databaseHead: (seq: Int64, hash: String) = (0, Digest.zeroHash)
    private var lastEvent: (seq: Int64, hash: String) = (0, Digest.zeroHash)
    private var highestLedgerSeqReference: (seq: Int64, line: Int, key: String)?
    private var sawTrailer = false

    private var ledgerID: String?
    /// The Merkle tree grown with the appended events.
    private(set) var treeCursor = LedgerTable.AppendCursor()
    private var formatVersion: Int64 = 1
    private var seenConsumers = Set<String>()
    private var sawCheckpoint = false

    init(reader: LineReader, db: Connection, mode: Store.ImportMode, limits: (document: Int, payload: Int),
         progress: (@Sendable (OperationProgress) -> Void)?) {
        self.reader = reader
        self.db = db
        self.mode = mode
        self.limits = limits
        self.progress = progress
    }

    private func fail(_ reason: String, line: Int? = nil) -> TallyError {
        TallyError.snapshot(path: reader.path, line: line ?? currentLine, reason: reason)
    }

    /// Errors from deeper layers (SQL triggers, constraint checks) get the line.
    static func locate(_ error: TallyError, path: String, line: Int) -> TallyError {
        switch error {
        case .snapshot, .snapshotConflict, .io, .lockTimeout, .corruptDatabase, .notATallyDatabase, .unsafeFile, .internal:
            return error
        default:
            return .snapshot(path: path, line: line, reason: error.problem)
        }
    }

    mutating func run(_ initial: Store.ImportReport) throws(TallyError) -> Store.ImportReport {
        var report = initial
        databaseHead = try LedgerTable.head(on: db)
        importsIntoPristineState = db.dialect == .sqlite ? try StateTable.isPristine(on: db) : false
        let totalBytes = reader.fileSize ?? 0
        // The header first, here: the checks of every other line depend on it.
        let checker = try reader.nextLine { (line) throws(TallyError) -> SnapshotLineChecker in
            try readHeader(line)
            return SnapshotLineChecker(path: reader.path, header: line, keyPrefix: keyPrefix, maximumDocumentBytes: limits.document)
        }
        guard let checker else { throw fail("the file is empty; a snapshot starts with a header line", line: 0) }

        let checking = BatchHandOver<SnapshotLineBatch>(label: "tally.import.check") { checker.check($0) }
        var reading = true
        while reading {
            let (batch, atEnd) = readBatch()
            reading = !atEnd
            if let checked = checking.submit(batch) { try apply(checked, totalBytes: totalBytes, report: &report) }
        }
        if let checked = checking.finish() { try apply(checked, totalBytes: totalBytes, report: &report) }
        guard sawTrailer else {
            throw fail("the file ends without its end record; it is truncated or incomplete", line: reader.lineNumber)
        }
        do {
            try finish(&report, seenKeys: checker.seenKeys)
        } catch {
            throw Self.locate(error, path: reader.path, line: currentLine)
        }
        progress?(OperationProgress(phase: .`import`, done: reader.bytesRead, total: totalBytes))
        return report
    }

    // MARK: Lines

    /// Reads lines into a new batch until it is full or the file ends (`atEnd`). A read
    /// error ends the batch and is kept in it, to be thrown after its lines.
    private func readBatch() -> (SnapshotLineBatch, atEnd: Bool) {
        let batch = SnapshotLineBatch()
        do throws(TallyError) {
            while !batch.isFull {
                let read: Bool? = try reader.nextLine { (line) -> Bool in
                    batch.append(line, number: reader.lineNumber, bytesRead: reader.bytesRead)
                    return true
                }
                guard read != nil else { return (batch, true) }
                if !reader.endedWithNewline { batch.unterminatedLine = reader.lineNumber }
            }
        } catch {
            batch.readFailure = error
            return (batch, true)
        }
        return (batch, false)
    }

    /// Applies a checked batch's lines in order, up to the first failure, which it throws
    /// located at its line.
    private mutating func apply(_ batch: SnapshotLineBatch, totalBytes: Int64, report: inout Store.ImportReport) throws(TallyError) {
        do {
            try applyLines(of: batch, totalBytes: totalBytes, report: &report)
        } catch {
            throw Self.locate(error, path: reader.path, line: currentLine)
        }
    }

    private mutating func applyLines(of batch: SnapshotLineBatch, totalBytes: Int64, report: inout Store.ImportReport) throws(TallyError) {
        for (index, checked) in batch.checked.enumerated() {
            let line = batch.lines[index]
            currentLine = line.number
            switch checked {
            case let .failure(error):
                throw error
            case let .state(state):
                try batch.withBody(of: state) { (body) throws(TallyError) in
                    try importState(state.row, canonicalBody: body, report: &report)
                }
            case let .event(record):
                guard seenConsumers.isEmpty, !sawCheckpoint else { throw fail("an event record after a checkpoint or consumer record; events come first") }
                try importEvent(record, report: &report)
            case let .checkpoint(record):
                guard seenConsumers.isEmpty else { throw fail("a checkpoint record after a consumer record; consumers come last") }
                // The events are all in: their tree is complete before a checkpoint is checked against it.
                try LedgerTable.storePendingNodes(cursor: &treeCursor, on: db)
                try importCheckpoint(record, report: &report)
            case let .consumer(record):
                try importConsumer(record, report: &report)
            case let .end(failure):
                try LedgerTable.storePendingNodes(cursor: &treeCursor, on: db)
                if let failure { throw failure }
                sawTrailer = true
            }
            if case .end = checked {} else { report.records += 1 }
            if line.number % 1000 == 0 {
                progress?(OperationProgress(phase: .`import`, done: line.bytesRead, total: totalBytes))
            }
        }
        if let failure = batch.readFailure {
            currentLine = reader.lineNumber
            throw failure
        }
    }

    private mutating func readHeader(_ line: UnsafeBufferPointer<UInt8>) throws(TallyError) {
        guard !line.isEmpty else { throw fail("empty line") }
        if line.count >= 3, line[0] == 0xEF, line[1] == 0xBB, line[2] == 0xBF {
            throw fail("the file starts with a UTF-8 byte order mark; snapshots are plain UTF-8 without one")
        }
        let value: JSONValue
        do {
            value = try JSONValue.parseStrict(utf8: UnsafeRawBufferPointer(line))
        } catch {
            throw fail(error.description)
        }
        guard case let .object(members) = value else {
            throw fail("a record must be a JSON object")
        }
        let header = SnapshotRecord(members: members, path: reader.path, line: 1)
        guard header["type"] == nil, let format = header["format"] else {
            throw fail("the first line is not a snapshot header (it has no \"format\" member)")
        }
        guard format == .string(SnapshotFormat.formatName) else {
            throw fail("format is \(format), not \"\(SnapshotFormat.formatName)\"")
        }
        let version = try header.field("version", as: Int64.self)
        formatVersion = version
        guard SnapshotFormat.readableVersions.contains(version) else {
            throw fail("snapshot format version \(version) is not supported; this build reads versions \(SnapshotFormat.readableVersions.lowerBound)…\(SnapshotFormat.readableVersions.upperBound)")
        }
        if version >= 2 {
            let identity = try header.field("ledger_id", as: String.self)
            guard identity.utf8.count == 36, identity.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) || $0 == 0x2D }) else {
                throw fail("header member \"ledger_id\" must be a lowercase UUID")
            }
            ledgerID = identity
        }
        let schema = try header.field("schema_version", as: Int64.self)
        guard schema >= 1, schema <= Int64(Migrator.embedded.latestVersion) else {
            throw fail("the snapshot comes from schema version \(schema), newer than this build's \(Migrator.embedded.latestVersion); upgrade Tally")
        }
        _ = try header.field("created_at", as: String.self)
        guard let head = header.object("ledger_head") else {
            throw fail("header member \"ledger_head\" must be an object with seq and hash")
        }
        headerHead = (try head.field("seq", as: Int64.self, context: "ledger_head."), try head.hash("hash", context: "ledger_head."))
        if let include = header["include_ledger"] {
            guard case let .bool(flag) = include else { throw fail("header member \"include_ledger\" must be true or false") }
            includeLedger = flag
        }
        if header["key_prefix"] != nil { keyPrefix = try header.field("key_prefix", as: String.self) }
    }

    /// Writes a state record the checker passed (members, checksum, size).
    private mutating func importState(_ row: StateTable.Row, canonicalBody: UnsafeBufferPointer<UInt8>,
                                      report: inout Store.ImportReport) throws(TallyError) {
        if let ledgerSeq = row.ledgerSeq, ledgerSeq > (highestLedgerSeqReference?.seq ?? 0) {
            highestLedgerSeqReference = (ledgerSeq, currentLine, row.key)
        }
        try apply(row, canonicalBody: canonicalBody, report: &report)
    }

    private mutating func apply(_ document: StateTable.Row, canonicalBody: UnsafeBufferPointer<UInt8>,
                                report: inout Store.ImportReport) throws(TallyError) {
        let current: CurrentRow?
        let lastVersion: Int64
        if importsIntoPristineState {
            // Nothing was there and each key comes once (checked above): nothing to look up.
            current = nil
            lastVersion = 0
        } else {
            // As every state write: on PostgreSQL, the key's lock before its version is read, so an
            // import and a writer of the same document take turns (a no-op on SQLite).
            try StateTable.lockKey(document.key, on: db)
            current = try currentRow(document.key)
            lastVersion = max(current?.version ?? 0, try StateTable.lastHistoryVersion(document.key, on: db))
        }
        let identical = current.map {
            $0.version == document.version && $0.checksum == document.checksum && $0.status == document.status
                && $0.ledgerSeq == document.ledgerSeq && $0.updatedAt == document.updatedAt
        } ?? false
        if identical {
            report.unchanged += 1
            return
        }
        var toWrite = document
        switch mode {
        case .merge:
            if let current, document.version == current.version {
                report.conflicts.append(Store.ImportConflict(key: document.key, line: currentLine, version: document.version,
                                                       databaseChecksum: current.checksum, snapshotChecksum: document.checksum))
                return
            }
            guard document.version > lastVersion else {
                report.skipped += 1
                return
            }
        case .replace:
            if document.version <= lastVersion {
                // The database has moved past this version: keep history moving forward and
                // record the snapshot's content as the key's next version.
                toWrite.version = lastVersion + 1
            }
        }
        try StateTable.writeRow(toWrite, canonicalBody: canonicalBody, replacing: current != nil, on: db)
        if current == nil {
            report.added += 1
            // Into a pristine table only keys of this snapshot can collide; most keys share
            // their case-folded form with none, which a set of folded hashes shows without a
            // query (a hash collision only costs the query).
            if !importsIntoPristineState || !foldedKeyHashes.insert(Self.caseFoldedHash(document.key)).inserted {
                for other in try StateTable.caseCollisions(of: document.key, on: db) {
                    report.caseCollisions.append("\(document.key) and \(other)")
                }
            }
        } else {
            report.updated += 1
        }
    }

    /// FNV-1a over the key's bytes with ASCII letters lowercased: keys are ASCII (see
    /// ``SafePath/validateKey(_:)``), and SQLite's NOCASE folds ASCII letters only.
    private static func caseFoldedHash(_ key: String) -> UInt64 {
        var key = key
        return key.withUTF8 { bytes in
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in bytes {
                let folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
                hash = (hash ^ UInt64(folded)) &* 0x0000_0100_0000_01b3
            }
            return hash
        }
    }

    private struct CurrentRow {
        var version: Int64
        var checksum: String
        var status: String?
        var updatedAt: String
        var ledgerSeq: Int64?
    }

    private static let currentRowSQL = InternalSQL("SELECT version, checksum, status, updated_at, ledger_seq FROM state WHERE key = ?")

    private func currentRow(_ key: String) throws(TallyError) -> CurrentRow? {
        let statement = try db.statement(Self.currentRowSQL)
        defer { statement.reset() }
        try statement.bind(key, at: 1)
        guard try statement.step() else { return nil }
        return CurrentRow(version: statement.int64(0), checksum: statement.string(1), status: statement.optionalString(2),
                          updatedAt: statement.string(3), ledgerSeq: statement.optionalInt64(4))
    }

    private mutating func importEvent(_ record: SnapshotRecord, report: inout Store.ImportReport) throws(TallyError) {
        guard includeLedger else { throw fail("an event record in a snapshot whose header says include_ledger is false") }
        let seq = try record.field("seq", as: Int64.self)
        guard seq == lastEvent.seq + 1 else {
            throw fail(seq <= lastEvent.seq ? "event seq \(seq) is out of order or repeated (after seq \(lastEvent.seq))"
                                            : "the ledger has a gap: seq \(seq) follows seq \(lastEvent.seq)")
        }
        let event = NewEvent(
            stream: try record.field("stream", as: String.self), kind: try record.field("kind", as: String.self),
            amount: try record.optionalField("amount", as: Int64.self), currency: try record.optionalField("currency", as: String.self),
            quantity: try record.optionalField("quantity", as: Double.self), payload: record["payload"] ?? .null,
            eventID: try record.field("event_id", as: String.self))
        let checked: EventValidation.Checked
        do throws(TallyError) {
            checked = try EventValidation.check(event, maximumPayloadBytes: limits.payload)
        } catch {
            throw fail("event seq \(seq): \(error.problem)")
        }
        let streamVersion = try record.field("stream_version", as: Int64.self)
        let recordedAt = try record.field("recorded_at", as: String.self)
        guard Timestamp.isValid(recordedAt) else { throw fail("event seq \(seq) has recorded_at '\(TallyError.printable(recordedAt))'; expected RFC 3339 UTC") }
        let prevHash = try record.hash("prev_hash")
        let storedHash = try record.hash("hash")
        guard prevHash == lastEvent.hash else {
            throw fail("the ledger chain breaks at seq \(seq): prev_hash \(prevHash) is not the previous event's hash \(lastEvent.hash)")
        }
        let fields = LedgerHash.Fields(
            prevHash: prevHash, seq: seq, eventID: checked.eventID, stream: event.stream, streamVersion: streamVersion,
            kind: event.kind, amount: event.amount, currency: event.currency, quantity: event.quantity, recordedAt: recordedAt)
        let (computed, leaf) = checked.canonicalPayload.withUnsafeBufferPointer { LedgerHash.hashes(fields, canonicalPayload: $0) }
        guard computed == storedHash else {
            throw fail("the ledger chain breaks at seq \(seq): its content hashes to \(computed) but the record says \(storedHash)")
        }
        lastEvent = (seq, storedHash)
        if seq <= databaseHead.seq {
            guard let existing = try LedgerTable.event(seq: seq, on: db), existing.hash == storedHash else {
                throw TallyError.snapshotConflict(
                    path: reader.path,
                    reason: "its ledger diverges from the database's at seq \(seq) (line \(currentLine)): the database holds a different event there. Ledgers are append-only; import it into a new database instead")
            }
            report.eventsMatched += 1
        } else {
            let stored = LedgerEvent(fields, payload: event.payload, hash: storedHash)
            do {
                try LedgerTable.insert(stored, canonicalPayload: checked.canonicalPayload, on: db)
            } catch {
                throw fail("event seq \(seq) cannot be appended: \(error.problem)")
            }
            try LedgerTable.growTree(leaf: leaf, tip: seq - 1, cursor: &treeCursor, on: db)
            // Stored in runs, as an append call stores its own (see AppendCursor.pendingNodes).
            if treeCursor.pendingNodes.count >= 4_096 { try LedgerTable.storePendingNodes(cursor: &treeCursor, on: db) }
            report.eventsAppended += 1
        }
    }

    private mutating func importCheckpoint(_ record: SnapshotRecord, report: inout Store.ImportReport) throws(TallyError) {
        guard formatVersion >= 3 else { throw fail("a checkpoint record in a snapshot of format version \(formatVersion); they came with version 3") }
        guard includeLedger else { throw fail("a checkpoint record in a snapshot whose header says include_ledger is false") }
        sawCheckpoint = true
        let size = try record.field("size", as: Int64.self)
        let root = try record.hash("root")
        let origin = try record.field("origin", as: String.self)
        let keyName = try record.field("key_name", as: String.self)
        let note = try record.field("note", as: String.self)
        let createdAt = try record.field("created_at", as: String.self)
        let parsed: Checkpoint
        do throws(TallyError) {
            parsed = try Checkpoint(unverifiedNote: note)
        } catch {
            throw fail(error.problem)
        }
        guard parsed.size == size, parsed.rootHash == root, parsed.origin == origin else {
            throw fail("the checkpoint record's size, root or origin disagree with its signed note")
        }
        guard size >= 0, size <= lastEvent.seq else {
            throw fail("a checkpoint of \(size) events, beyond the snapshot's ledger (\(lastEvent.seq) events)")
        }
        // The tree the events just imported (or matched) build must have this root.
        let tree = MerkleTree(nodes: MerkleLog.NodeSource(db: db, leafLimit: size))
        let actual: Hash32
        do {
            actual = try tree.root(size: size)
        } catch {
            throw fail("the Merkle root at size \(size) cannot be computed: \(MerkleLog.translate(error, db: db).problem)")
        }
        guard actual.hex == root else {
            throw fail("a checkpoint signed root \(root) for \(size) events, but those events hash to \(actual.hex)")
        }
        let existing = try db.scalarInt("SELECT count(*) FROM checkpoints WHERE size = ? AND note = ?", [size, note]) ?? 0
        if existing == 0 {
            try db.execute("INSERT INTO checkpoints (size, root, origin, key_name, note, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                           [size, root, origin, keyName, note, createdAt])
            report.checkpoints += 1
        }
    }

    private mutating func importConsumer(_ record: SnapshotRecord, report: inout Store.ImportReport) throws(TallyError) {
        guard formatVersion >= 3 else { throw fail("a consumer record in a snapshot of format version \(formatVersion); they came with version 3") }
        guard includeLedger else { throw fail("a consumer record in a snapshot whose header says include_ledger is false") }
        let name = try record.field("name", as: String.self)
        do throws(TallyError) {
            try ConsumerTable.validate(name)
        } catch {
            throw fail(error.problem)
        }
        guard !seenConsumers.contains(name) else { throw fail("consumer '\(name)' appears twice") }
        if let last = seenConsumers.max(), name < last { throw fail("consumer '\(name)' is out of name order") }
        seenConsumers.insert(name)
        let position = try record.field("position", as: Int64.self)
        guard position >= 0, position <= lastEvent.seq else {
            throw fail("consumer '\(name)' is at seq \(position), outside the snapshot's ledger (seq 0…\(lastEvent.seq))")
        }
        let current = try ConsumerTable.position(of: name, on: db)
        switch mode {
        case .replace:
            try ConsumerTable.upsert(name, position: position, on: db)
        case .merge:
            // Never move a consumer back: it would process events twice.
            if current.map({ $0 < position }) ?? true { try ConsumerTable.upsert(name, position: position, on: db) }
        }
        report.consumers += 1
    }

    private mutating func finish(_ report: inout Store.ImportReport, seenKeys: SeenKeys) throws(TallyError) {
        if includeLedger {
            guard lastEvent.seq == headerHead.seq, lastEvent.hash == headerHead.hash else {
                throw fail("the header's ledger head (seq \(headerHead.seq)) does not match the last event in the file (seq \(lastEvent.seq))", line: 1)
            }
            if mode == .replace, databaseHead.seq > lastEvent.seq {
                throw TallyError.snapshotConflict(
                    path: reader.path,
                    reason: "the database is ahead: its ledger ends at seq \(databaseHead.seq), the snapshot's at seq \(lastEvent.seq). A replace would have to remove events, and the ledger is append-only; merge instead, or import into a new database")
            }
        }
        let head = try LedgerTable.head(on: db)
        if let reference = highestLedgerSeqReference, reference.seq > head.seq {
            throw fail("state '\(reference.key)' refers to ledger seq \(reference.seq), but the ledger ends at seq \(head.seq)", line: reference.line)
        }
        if mode == .replace {
            // Documents under the prefix that the snapshot does not have are deleted (into a
            // pristine store every document is the snapshot's: nothing to look for).
            if !importsIntoPristineState {
                let statement = try db.prepare("SELECT key FROM state WHERE key >= ? AND key < ?")
                try statement.bind(keyPrefix, at: 1)
                try statement.bind(keyPrefix + "\u{7F}", at: 2)
                var doomed: [String] = []
                while try statement.step() {
                    let key = statement.string(0)
                    if !seenKeys.contains(key) { doomed.append(key) }
                }
                statement.finalize()
                for key in doomed {
                    _ = try StateTable.delete(key, expectedVersion: nil, on: db)
                    report.deleted += 1
                }
            }
            // The database now is the snapshot's ledger: it takes its identity too, and (from
            // format 3, which carries them) exactly its consumers.
            if let ledgerID { try LedgerIdentity.set(ledgerID, on: db) }
            if includeLedger, formatVersion >= 3 {
                for (name, _, _, _) in try ConsumerTable.list(on: db) where !seenConsumers.contains(name) {
                    _ = try ConsumerTable.remove(name, on: db)
                }
            }
        }
    }
}

extension Store {
    /// How an import combines a snapshot with the database.
    public enum ImportMode: String, Sendable, Codable, CaseIterable {
        /// The documents become the snapshot's (within its key prefix): missing ones are added,
        /// different ones replaced, ones absent from the snapshot deleted. The snapshot's
        /// ledger must equal or extend the database's.
        case replace
        /// Newer versions win: a document is taken from the snapshot only when its version is
        /// above the database's; equal versions with different content are reported as
        /// conflicts and left alone. Nothing is deleted. The ledgers must not diverge.
        case merge
    }
}

extension Store {
    /// One document an import left alone because both sides changed it.
    public struct ImportConflict: Sendable, Codable, Equatable {
        /// The key.
        public var key: String
        /// The snapshot line of its record.
        public var line: Int
        /// The version both sides have.
        public var version: Int64
        /// The database's checksum at that version.
        public var databaseChecksum: String
        /// The snapshot's checksum at that version.
        public var snapshotChecksum: String

        enum CodingKeys: String, CodingKey {
            case key, line, version
            case databaseChecksum = "database_checksum", snapshotChecksum = "snapshot_checksum"
        }
    }
}

extension Store {
    /// What an import did (or, for a dry run, would do).
    public struct ImportReport: Sendable, Codable, Equatable {
        /// The mode used.
        public var mode: Store.ImportMode
        /// True when nothing was committed.
        public var dryRun: Bool
        /// State and event records in the snapshot.
        public var records: Int64 = 0
        /// Documents that did not exist and were added.
        public var added: Int64 = 0
        /// Documents replaced by the snapshot's version.
        public var updated: Int64 = 0
        /// Documents already identical.
        public var unchanged: Int64 = 0
        /// Documents deleted because the snapshot does not have them (replace only).
        public var deleted: Int64 = 0
        /// Documents skipped because the database's version is newer (merge only).
        public var skipped: Int64 = 0
        /// Documents both sides changed at the same version (merge only); not applied.
        public var conflicts: [Store.ImportConflict] = []
        /// Snapshot events already in the database.
        public var eventsMatched: Int64 = 0
        /// Snapshot events appended to the database.
        public var eventsAppended: Int64 = 0
        /// Consumer positions taken from the snapshot (set by replace; moved forward by merge).
        public var consumers: Int64 = 0
        /// Signed checkpoints added from the snapshot (ones the database had are kept once).
        public var checkpoints: Int64 = 0
        /// Pairs of keys, one of them added by this import, that differ only in letter case:
        /// they would share one mirror file on a case-insensitive file system.
        public var caseCollisions: [String] = []

        enum CodingKeys: String, CodingKey {
            case mode, records, added, updated, unchanged, deleted, skipped, conflicts, consumers, checkpoints
            case dryRun = "dry_run", eventsMatched = "events_matched", eventsAppended = "events_appended"
            case caseCollisions = "case_collisions"
        }
    }
}
