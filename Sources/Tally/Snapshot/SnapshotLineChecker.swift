import Crypto

/// Lines of a snapshot, read by the importing thread and checked on another.
///
/// An import is a pipeline of two stages (``BatchHandOver``): the thread holding the write
/// transaction reads a batch of lines and hands it to ``SnapshotLineChecker`` on a serial
/// queue, then applies the batch checked before it to the database. Everything the checker does depends on the
/// file alone (parsing, each document's checks and checksum, the trailer's SHA-256); everything
/// that reads or writes the database stays with the importing thread. So the checks use the
/// second core while SQLite uses the first, and errors still come in line order: a failure the
/// checker finds is thrown only when the importing thread reaches that line.
///
/// The importing thread fills `lines`, `bytes` and `readFailure` before handing the batch
/// over; the checker fills `checked` (and `canonicalBodies`) before it is handed back.
final class SnapshotLineBatch: @unchecked Sendable {
    /// A line: where its bytes are in ``bytes``, its number, and the bytes read up to its end.
    struct Line {
        var range: Range<Int>
        var number: Int
        var bytesRead: Int64
    }

    /// The lines' bytes, back to back, without their newlines.
    private(set) var bytes: [UInt8] = []
    private(set) var lines: [Line] = []
    /// The number of a line the file ended in without a newline (only ever the last line).
    var unterminatedLine: Int?
    /// A read error after the last line (a line over the size limit, an I/O error), thrown
    /// once the lines before it are applied, as reading them one by one would.
    var readFailure: TallyError?

    /// What the checker made of each line, in order; it stops after the first failure.
    var checked: [CheckedSnapshotLine] = []
    /// Canonical bodies of state records that took the full parse (``CheckedSnapshotLine/State/parsedBody``).
    var canonicalBodies: [UInt8] = []

    /// A batch is full at this many bytes or ``maximumLines`` lines (a longer line still fits alone).
    static let maximumBytes = 512 << 10
    static let maximumLines = 2_048

    var isFull: Bool { bytes.count >= Self.maximumBytes || lines.count >= Self.maximumLines }

    func append(_ line: UnsafeBufferPointer<UInt8>, number: Int, bytesRead: Int64) {
        let start = bytes.count
        bytes.append(contentsOf: line)
        lines.append(Line(range: start..<bytes.count, number: number, bytesRead: bytesRead))
    }

    /// Runs `body` with the canonical body of a checked state record.
    func withBody<T>(of state: CheckedSnapshotLine.State, _ body: (UnsafeBufferPointer<UInt8>) throws(TallyError) -> T) throws(TallyError) -> T {
        let result: Result<T, TallyError> = (state.parsedBody ? canonicalBodies : bytes).withUnsafeBufferPointer { buffer in
            do throws(TallyError) {
                return .success(try body(UnsafeBufferPointer(rebasing: buffer[state.body])))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

/// What ``SnapshotLineChecker`` made of one line.
enum CheckedSnapshotLine: Sendable {
    /// A state record whose members, key, checksum and size passed every check.
    struct State: Sendable {
        var row: StateTable.Row
        /// The canonical body's bytes in the batch.
        var body: Range<Int>
        /// True when the body is in ``SnapshotLineBatch/canonicalBodies`` (the record took the
        /// full parse), false when it is the line's own bytes.
        var parsedBody: Bool
    }

    case state(State)
    /// An event, checkpoint or consumer record: parsed, its type known, its checks the importer's.
    case event(SnapshotRecord)
    case checkpoint(SnapshotRecord)
    case consumer(SnapshotRecord)
    /// The end record; `failure` is set when its count or SHA-256 disagree with the file, or
    /// the file ends without a newline after it.
    case end(failure: TallyError?)
    /// The line is not a valid record; nothing after it is checked.
    case failure(TallyError)
}

/// The checks of a snapshot's lines that depend on the file alone (see ``SnapshotLineBatch``).
/// Used on one queue at a time: its state (the trailer's digest, the keys seen) carries from
/// batch to batch in file order.
final class SnapshotLineChecker: @unchecked Sendable {
    private let path: String
    private let keyPrefix: String
    private let maximumDocumentBytes: Int
    /// The SHA-256 of every line so far (with its newline), for the end record.
    private var digest = SHA256()
    /// Records (lines between the header and the end record) checked so far.
    private var records: Int64 = 0
    private var sawEnd = false
    private var failed = false
    /// Every state key checked so far; read by the importer once all batches are done.
    private(set) var seenKeys = SeenKeys()

    /// - Parameter header: The header line's bytes (already read and checked by the importer).
    init(path: String, header: UnsafeBufferPointer<UInt8>, keyPrefix: String, maximumDocumentBytes: Int) {
        self.path = path
        self.keyPrefix = keyPrefix
        self.maximumDocumentBytes = maximumDocumentBytes
        addToDigest(header)
    }

    /// Fills `batch.checked`, one entry per line up to and including the first failure.
    func check(_ batch: SnapshotLineBatch) {
        batch.checked.reserveCapacity(batch.lines.count)
        batch.bytes.withUnsafeBufferPointer { bytes in
            for line in batch.lines where !failed {
                let checked = check(UnsafeBufferPointer(rebasing: bytes[line.range]), number: line.number, at: line.range.lowerBound, in: batch)
                if case .failure = checked { failed = true }
                batch.checked.append(checked)
            }
        }
    }

    /// - Parameter offset: Where the line starts in `batch.bytes`.
    private func check(_ line: UnsafeBufferPointer<UInt8>, number: Int, at offset: Int, in batch: SnapshotLineBatch) -> CheckedSnapshotLine {
        func fail(_ reason: String) -> CheckedSnapshotLine {
            .failure(.snapshot(path: path, line: number, reason: reason))
        }
        if sawEnd { return fail("unexpected data after the end record") }
        guard !line.isEmpty else { return fail("empty line") }
        do throws(TallyError) {
            // Most lines are state records exactly as export writes them: read those without a
            // tree (anything else, including every malformed line, takes the full parse below).
            if let state = SnapshotFormat.StateLine.scan(line) {
                try check(state.row, line: number)
                try checkBody(of: state.row, UnsafeBufferPointer(rebasing: line[state.body]), line: number)
                countRecord(line)
                let body = (offset + state.body.lowerBound)..<(offset + state.body.upperBound)
                return .state(.init(row: state.row, body: body, parsedBody: false))
            }
            let value: JSONValue
            do {
                value = try JSONValue.parseStrict(utf8: UnsafeRawBufferPointer(line))
            } catch {
                return fail(error.description)
            }
            guard case let .object(members) = value else { return fail("a record must be a JSON object") }
            let record = SnapshotRecord(members: members, path: path, line: number)
            let checked: CheckedSnapshotLine
            switch try record.field("type", as: String.self) {
            case "state": checked = try checkState(record, in: batch)
            case "event": checked = .event(record)
            case "checkpoint": checked = .checkpoint(record)
            case "consumer": checked = .consumer(record)
            case "end":
                sawEnd = true
                return .end(failure: checkEnd(record, isLastLine: batch.unterminatedLine == number))
            case let other:
                return fail("unknown record type '\(TallyError.printable(other))'; expected state, event, checkpoint, consumer or end")
            }
            countRecord(line)
            return checked
        } catch {
            return .failure(error)
        }
    }

    private func countRecord(_ line: UnsafeBufferPointer<UInt8>) {
        records += 1
        addToDigest(line)
    }

    private func addToDigest(_ line: UnsafeBufferPointer<UInt8>) {
        digest.update(bufferPointer: UnsafeRawBufferPointer(line))
        digest.update(data: [UInt8(ascii: "\n")])
    }

    /// A state record read through the parser (members in any order, any valid JSON).
    private func checkState(_ record: SnapshotRecord, in batch: SnapshotLineBatch) throws(TallyError) -> CheckedSnapshotLine {
        let key = try record.field("key", as: String.self)
        let version = try record.field("version", as: Int64.self)
        let status = try record.optionalField("status", as: String.self)
        guard let body = record["body"] else { throw record.fail("state '\(key)' has no \"body\"") }
        let row = StateTable.Row(key: key, version: version, status: status, checksum: try record.hash("checksum"),
                                 updatedAt: try record.field("updated_at", as: String.self),
                                 ledgerSeq: try record.optionalField("ledger_seq", as: Int64.self))
        try check(row, line: record.line)
        let canonical: [UInt8]
        do {
            canonical = try CanonicalJSON.bytes(body)
        } catch {
            throw record.fail("state '\(key)': its body \(error.description)")
        }
        try canonical.withBytes { (bytes) throws(TallyError) in try checkBody(of: row, bytes, line: record.line) }
        let start = batch.canonicalBodies.count
        batch.canonicalBodies.append(contentsOf: canonical)
        return .state(.init(row: row, body: start..<batch.canonicalBodies.count, parsedBody: true))
    }

    /// The checks of a state record's members but its body, however the line was read.
    private func check(_ row: StateTable.Row, line: Int) throws(TallyError) {
        func fail(_ reason: String) -> TallyError { .snapshot(path: path, line: line, reason: reason) }
        let key = row.key
        do {
            try SafePath.validateKey(key)
        } catch {
            throw fail("\(error)")
        }
        guard key.hasPrefix(keyPrefix) else {
            throw fail("key '\(key)' is outside the snapshot's key prefix '\(keyPrefix)'")
        }
        guard seenKeys.insert(key) else {
            throw fail("duplicate key '\(key)': it already appeared earlier in the snapshot")
        }
        guard row.version >= 1 else { throw fail("state '\(key)' has version \(row.version); versions start at 1") }
        do {
            try StateTable.checkStatus(row.status)
        } catch {
            throw fail("state '\(key)': \(error.problem)")
        }
        guard Digest.isHex64(row.checksum) else { throw fail("member \"checksum\" must be 64 lowercase hex digits") }
        guard Timestamp.isValid(row.updatedAt) else {
            throw fail("state '\(key)' has updated_at '\(TallyError.printable(row.updatedAt))'; expected RFC 3339 UTC like 2026-01-02T03:04:05.678Z")
        }
    }

    /// A checked record's canonical body against its checksum and the store's size limit.
    private func checkBody(of row: StateTable.Row, _ canonicalBody: UnsafeBufferPointer<UInt8>, line: Int) throws(TallyError) {
        func fail(_ reason: String) -> TallyError { .snapshot(path: path, line: line, reason: reason) }
        let key = row.key
        guard Digest.sha256(of: UnsafeRawBufferPointer(canonicalBody), is: row.checksum) else {
            let actual = Digest.sha256Hex(canonicalBody)
            throw fail("state '\(key)' checksum mismatch: its body hashes to \(actual), the record says \(row.checksum)")
        }
        guard canonicalBody.count <= maximumDocumentBytes else {
            throw fail("state '\(key)' has a body of \(canonicalBody.count) bytes of canonical JSON, over this store's limit of \(maximumDocumentBytes) (Store.Configuration.maximumDocumentBytes)")
        }
        if let ledgerSeq = row.ledgerSeq, ledgerSeq < 1 {
            throw fail("state '\(key)' has ledger_seq \(ledgerSeq); seqs start at 1")
        }
    }

    /// The end record's count and SHA-256 against the lines before it.
    private func checkEnd(_ record: SnapshotRecord, isLastLine unterminated: Bool) -> TallyError? {
        do throws(TallyError) {
            let declared = try record.field("records", as: Int64.self)
            guard declared == records else {
                throw record.fail("the end record counts \(declared) records but the file has \(records)")
            }
            let expected = try record.hash("sha256")
            let actual = Digest.hex(digest.finalize())
            guard expected == actual else {
                throw record.fail("the file's SHA-256 is \(actual) but the end record says \(expected); the file was changed or damaged")
            }
            guard !unterminated else { throw record.fail("the end record is not followed by a newline; the file may be truncated") }
            return nil
        } catch {
            return error
        }
    }
}
