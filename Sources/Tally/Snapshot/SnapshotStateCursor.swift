import Crypto

/// One state record of a snapshot, as ``SnapshotStateCursor`` hands it out.
struct SnapshotStateRecord {
    /// The 1-based line it was on.
    let line: Int
    /// Its key (valid by the key grammar).
    let key: String
    /// The line's bytes, without the newline.
    let bytes: [UInt8]
    /// The record's members.
    let members: [String: JSONValue]
}

/// Streams the state records of a snapshot in key order, for a merge with the database,
/// and checks the file's integrity on the way: every line is hashed, and the end record's
/// count and SHA-256 are compared at ``finish()``. Memory holds one line at a time.
///
/// Damage that leaves the comparison meaningful (an unreadable line, a bad trailer) is
/// collected as findings; damage that makes a merge by key impossible (records out of
/// order, a file that is not a snapshot) throws ``TallyError/snapshot(path:line:reason:)``.
final class SnapshotStateCursor {
    /// The snapshot file.
    let path: String
    /// Only keys with this prefix are in the snapshot (the header's `key_prefix`).
    private(set) var keyPrefix = ""
    /// State records handed out or reported so far.
    private(set) var stateRecords: Int64 = 0

    private let reader: LineReader
    private var hasher = SHA256()
    private var records: Int64 = 0
    private var previousKey: String?
    private var inStates = true
    private var sawEnd = false
    private var reportedTrailingData = false
    private var findings: [Finding] = []

    /// Opens `path` and reads its header.
    ///
    /// - Throws: ``TallyError/io(step:path:errno:)`` when it cannot be read,
    ///   ``TallyError/snapshot(path:line:reason:)`` when it is not a snapshot this build reads.
    init(path: String) throws(TallyError) {
        self.path = path
        reader = try LineReader(path: path, maximumLineBytes: SnapshotFormat.defaultMaximumLineBytes)
        let header: [UInt8]
        do {
            guard let line = try readLine() else {
                throw TallyError.snapshot(path: path, line: 0, reason: "the file is empty; a snapshot starts with a header line")
            }
            header = line
        } catch let error as TallyError {
            throw error
        } catch {
            throw TallyError.snapshot(path: path, line: 1, reason: "\(error)")
        }
        try readHeader(header)
        hash(header)
    }

    /// The next state record in key order, or nil when the state records are over (then
    /// call ``finish()``). Unusable lines are skipped and reported as findings.
    ///
    /// - Throws: ``TallyError/snapshot(path:line:reason:)`` for records out of key order,
    ///   ``TallyError/io(step:path:errno:)`` for read errors.
    func next() throws(TallyError) -> SnapshotStateRecord? {
        while inStates, let line = try readLine() {
            if let record = try consume(line) { return record }
        }
        inStates = false
        return nil
    }

    /// Reads the rest of the file (the events, hashed but not parsed, and the end record)
    /// and checks the record count and digest.
    func finish() throws(TallyError) {
        while let line = try readLine() {
            _ = try consume(line)
        }
        if !sawEnd {
            findings.append(corrupt(line: reader.lineNumber, "the snapshot ends without its end record: it is truncated, "
                + "so documents after the cut are reported missing; export it again"))
        }
    }

    /// The findings collected since the last call.
    func takeFindings() -> [Finding] {
        defer { findings.removeAll() }
        return findings
    }

    /// How findings name a line of the snapshot.
    func location(_ line: Int) -> String { "\(path):\(line)" }

    // MARK: Lines

    private func readLine() throws(TallyError) -> [UInt8]? {
        try reader.nextLine { Array($0) }
    }

    private func hash(_ line: [UInt8]) {
        hasher.update(data: line)
        hasher.update(data: [UInt8(ascii: "\n")])
    }

    /// Handles one line after the header; returns it when it is a usable state record.
    private func consume(_ line: [UInt8]) throws(TallyError) -> SnapshotStateRecord? {
        let number = reader.lineNumber
        if sawEnd {
            if !reportedTrailingData {
                reportedTrailingData = true
                findings.append(corrupt(line: number, "there is data after the end record; the file was appended to or damaged"))
            }
            return nil
        }
        // Events are only hashed: the digest proves them, and parsing them would double the cost.
        if !inStates, line.starts(with: Self.eventPrefix) {
            hash(line)
            records += 1
            return nil
        }
        guard case let .object(members)? = try? JSONValue.parse(utf8: line), case let .string(type)? = members["type"] else {
            hash(line)
            records += 1
            findings.append(corrupt(line: number, "the line is not a snapshot record (not a JSON object with a \"type\"); "
                + "the file is damaged, so a document on it may be reported missing"))
            return nil
        }
        switch type {
        case "state":
            hash(line)
            records += 1
            stateRecords += 1
            return try stateRecord(members, line: line, number: number)
        case "event", "checkpoint", "consumer":
            hash(line)
            records += 1
            inStates = false
            return nil
        case "end":
            checkTrailer(members, number: number)
            sawEnd = true
            inStates = false
            return nil
        default:
            hash(line)
            records += 1
            findings.append(corrupt(line: number, "unknown record type '\(TallyError.printable(type))'; expected state, event, checkpoint, consumer or end"))
            return nil
        }
    }

    private func stateRecord(_ members: [String: JSONValue], line: [UInt8], number: Int) throws(TallyError) -> SnapshotStateRecord? {
        guard inStates else {
            findings.append(corrupt(line: number, "a state record after the events; export writes every state record first, "
                + "so the file was edited"))
            return nil
        }
        guard case let .string(key)? = members["key"], (try? SafePath.validateKey(key)) != nil else {
            findings.append(corrupt(line: number, "the state record has no valid \"key\"; a document on this line may be "
                + "reported missing"))
            return nil
        }
        guard key.hasPrefix(keyPrefix) else {
            findings.append(corrupt(line: number, "key '\(key)' is outside the snapshot's key prefix '\(keyPrefix)'; "
                + "the file was edited"))
            return nil
        }
        if let previousKey, !previousKey.utf8.lexicographicallyPrecedes(key.utf8) {
            throw TallyError.snapshot(path: path, line: number, reason: "state records are not in key order ('\(key)' comes "
                + "after '\(previousKey)'); reconciliation merges by key and needs the order export writes. Export the "
                + "snapshot again")
        }
        previousKey = key
        return SnapshotStateRecord(line: number, key: key, bytes: line, members: members)
    }

    private func readHeader(_ line: [UInt8]) throws(TallyError) {
        func fail(_ reason: String) -> TallyError { .snapshot(path: path, line: 1, reason: reason) }
        guard case let .object(header)? = try? JSONValue.parse(utf8: line),
              header["format"] == .string(SnapshotFormat.formatName) else {
            throw fail("the first line is not a snapshot header (no \"format\": \"\(SnapshotFormat.formatName)\"); "
                + "reconcile against a file written by `tally export`")
        }
        guard case let .number(version)? = header["version"], version == version.rounded(),
              SnapshotFormat.readableVersions.contains(Int64(exactly: version) ?? 0) else {
            throw fail("snapshot format version \(header["version"].map { "\($0)" } ?? "(missing)") is not supported; "
                + "this build reads versions \(SnapshotFormat.readableVersions.lowerBound)…\(SnapshotFormat.readableVersions.upperBound)")
        }
        switch header["key_prefix"] {
        case nil, .null?: keyPrefix = ""
        case let .string(prefix)?: keyPrefix = prefix
        default: throw fail("header member \"key_prefix\" must be a string")
        }
    }

    private func checkTrailer(_ members: [String: JSONValue], number: Int) {
        let actual = Digest.hex(hasher.finalize())
        if members["records"] != .number(Double(records)) {
            findings.append(corrupt(line: number, "the end record counts \(members["records"].map { "\($0)" } ?? "no") "
                + "records but the file has \(records); records were added or removed"))
        }
        if members["sha256"] != .string(actual) {
            let stated = members["sha256"].map { "\($0)" } ?? "nothing"
            findings.append(corrupt(line: number, "the file's SHA-256 is \(actual) but its end record says \(stated): "
                + "the file was changed or damaged after export; do not import it"))
        } else if !reader.endedWithNewline {
            findings.append(corrupt(line: number, "the end record is not followed by a newline; the file may be truncated"))
        }
    }

    private func corrupt(line: Int, _ detail: String) -> Finding {
        Finding(kind: .corrupt, path: location(line), detail: detail)
    }

    private static let eventPrefix: [UInt8] = Array("{\"type\":\"event\",".utf8)
}
