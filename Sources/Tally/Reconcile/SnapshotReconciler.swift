/// Compares the database with a snapshot file by merging two key-ordered streams — the
/// database's documents (one statement in one read transaction) and the snapshot's state
/// records (``SnapshotStateCursor``) — so memory holds one document of each side.
///
/// A snapshot is a picture of the past, so its findings describe how the database moved
/// on since (documents added, changed, deleted) as much as damage; the details say which.
struct SnapshotReconciler {
    let db: Connection
    /// The ledger inside the same read transaction, for domain rules.
    let ledger: Ledger
    let cursor: SnapshotStateCursor
    let rules: [any DomainRule]
    let progress: (@Sendable (OperationProgress) -> Void)?
    private var report: ReconcileReport
    private var line: [UInt8] = []

    init(transaction: Transaction, cursor: SnapshotStateCursor, rules: [any DomainRule], progress: (@Sendable (OperationProgress) -> Void)?) {
        self.db = transaction.connection
        self.ledger = transaction.ledger
        self.cursor = cursor
        self.rules = rules
        self.progress = progress
        self.report = ReconcileReport(target: cursor.path)
    }

    mutating func run() throws(TallyError) -> ReconcileReport {
        let prefix = cursor.keyPrefix
        let total = try db.scalarInt("SELECT count(*) FROM state WHERE key >= ? AND key < ?", [prefix, prefix + "\u{7F}"]) ?? 0
        // Keys are ASCII below 0x7F, so this range is exactly the keys under the prefix,
        // in the same (bytewise) order export wrote them.
        let statement = try db.prepare("SELECT \(StateTable.columns) FROM state WHERE key >= ? AND key < ? ORDER BY key")
        try statement.bind(prefix, at: 1)
        try statement.bind(prefix + "\u{7F}", at: 2)
        var hasRow = try statement.step()
        var record = try nextRecord()
        var reported: Int64 = 0
        while hasRow || record != nil {
            let databaseKey = hasRow ? statement.string(0) : nil
            if let databaseKey, record.map({ databaseKey.utf8.lexicographicallyPrecedes($0.key.utf8) }) ?? true {
                try databaseOnly(statement)
                hasRow = try statement.step()
            } else if let current = record, databaseKey.map({ current.key.utf8.lexicographicallyPrecedes($0.utf8) }) ?? true {
                snapshotOnly(current)
                record = try nextRecord()
            } else if let current = record {
                try both(statement, current)
                hasRow = try statement.step()
                record = try nextRecord()
            }
            if report.documentsChecked >= reported + 1000 {
                reported = report.documentsChecked
                progress?(OperationProgress(phase: .state, done: reported, total: total))
            }
        }
        try cursor.finish()
        report.findings += cursor.takeFindings()
        report.filesChecked = cursor.stateRecords
        report.findings += orphanTemps()
        progress?(OperationProgress(phase: .state, done: report.documentsChecked, total: total))
        return report
    }

    private func nextRecord() throws(TallyError) -> SnapshotStateRecord? {
        try cursor.next()
    }

    // MARK: The three cases of the merge

    /// A document the snapshot does not have: added after the snapshot was taken.
    private mutating func databaseOnly(_ row: Statement) throws(TallyError) {
        report.findings += cursor.takeFindings()
        report.documentsChecked += 1
        guard let document = databaseDocument(row) else { return }
        report.findings.append(Finding(kind: .missing, key: document.key, path: cursor.path, databaseVersion: document.version,
                                       databaseChecksum: document.checksum,
                                       detail: "the database has version \(document.version) but the snapshot has no record "
                                           + "of it: it was added after the snapshot was taken (export a new snapshot to "
                                           + "capture it), or the snapshot lost it"))
    }

    /// A snapshot record whose key the database does not have: deleted since, or never imported.
    private mutating func snapshotOnly(_ record: SnapshotStateRecord) {
        report.findings += cursor.takeFindings()
        let path = cursor.location(record.line)
        switch snapshotDocument(record) {
        case let .document(document):
            report.findings.append(Finding(kind: .extra, key: record.key, path: path, fileVersion: document.version,
                                           fileChecksum: document.checksum,
                                           detail: "the snapshot has version \(document.version) of '\(record.key)', which "
                                               + "the database does not have: it was deleted after the snapshot was taken, "
                                               + "or never imported (importing the snapshot brings it back)"))
        case let .corrupt(finding):
            report.findings.append(finding)
        }
    }

    /// A key both sides have.
    private mutating func both(_ row: Statement, _ record: SnapshotStateRecord) throws(TallyError) {
        report.findings += cursor.takeFindings()
        report.documentsChecked += 1
        // Export writes exactly these bytes for an intact row, so equal bytes prove the two
        // agree without parsing either side.
        let identical = expectedRecord(row) && line == record.bytes
        if identical && rules.isEmpty { return }
        guard let database = databaseDocument(row), !identical else { return }
        let path = cursor.location(record.line)
        switch snapshotDocument(record) {
        case let .document(snapshot):
            if let finding = DocumentComparison.compare(database, with: snapshot, path: path, side: .snapshot) {
                report.findings.append(finding)
            }
        case var .corrupt(finding):
            finding.databaseVersion = database.version
            finding.databaseChecksum = database.checksum
            report.findings.append(finding)
        }
    }

    // MARK: Reading each side

    /// Renders the current row as export would into `line`; false when the stored body is
    /// not the canonical text of its checksum (then the slow path judges it).
    private mutating func expectedRecord(_ row: Statement) -> Bool {
        line.removeAll(keepingCapacity: true)
        let intact = row.withUTF8(3) { body in row.withUTF8(4) { Digest.sha256(of: UnsafeRawBufferPointer(body), isHex: $0) } }
        guard intact else { return false }
        SnapshotFormat.appendStateRecord(stored: row, to: &line)
        return true
    }

    /// The current row as a verified document, running the rules on it; nil (with a
    /// finding) when it is corrupt.
    private mutating func databaseDocument(_ row: Statement) -> StateDocument? {
        switch DocumentComparison.storedRow(row) {
        case let .document(document):
            report.findings += DocumentComparison.runRules(rules, on: document, ledger: ledger)
            return document
        case let .corrupt(key, version, expected, actual):
            report.findings.append(DocumentComparison.databaseCorrupt(key: key, version: version, checksum: expected,
                                                                      actual: actual))
            return nil
        }
    }

    private enum SnapshotDocument {
        case document(StateDocument)
        case corrupt(Finding)
    }

    /// The record as a document whose body matches its checksum, or the finding saying why not.
    private func snapshotDocument(_ record: SnapshotStateRecord) -> SnapshotDocument {
        let members = record.members
        let salvaged = DocumentComparison.salvage(.object(members))
        func corrupt(_ problem: String) -> SnapshotDocument {
            .corrupt(Finding(kind: .corrupt, key: record.key, path: cursor.location(record.line), fileVersion: salvaged.version,
                             fileChecksum: salvaged.checksum,
                             detail: "the snapshot's record is corrupt: \(problem); do not import this snapshot, export a new one"))
        }
        guard let version = salvaged.version, version >= 1 else { return corrupt("\"version\" is not a positive integer") }
        guard let checksum = salvaged.checksum, Digest.isHex64(checksum) else {
            return corrupt("\"checksum\" is not 64 lowercase hex digits")
        }
        guard case let .string(updatedAt)? = members["updated_at"] else { return corrupt("\"updated_at\" is not a string") }
        guard let body = members["body"] else { return corrupt("it has no \"body\"") }
        let status: String?
        switch members["status"] {
        case nil, .null?: status = nil
        case let .string(text)?: status = text
        default: return corrupt("\"status\" is neither a string nor null")
        }
        let ledgerSeq: Int64?
        switch members["ledger_seq"] {
        case nil, .null?: ledgerSeq = nil
        case let .number(seq)? where seq == seq.rounded() && seq >= 1 && seq < 9e15: ledgerSeq = Int64(seq)
        default: return corrupt("\"ledger_seq\" is neither a positive integer nor null")
        }
        let actual = (try? CanonicalJSON.bytes(body)).map { Digest.sha256Hex($0) } ?? "(not canonicalizable)"
        guard actual == checksum else { return corrupt("its body hashes to \(actual) but the record says \(checksum)") }
        return .document(StateDocument(key: record.key, version: version, status: status, body: body, checksum: checksum,
                                      updatedAt: updatedAt, ledgerSeq: ledgerSeq))
    }

    /// Temporary files an interrupted export of this snapshot left beside it.
    private func orphanTemps() -> [Finding] {
        let (directory, name) = FileOperations.split(cursor.path)
        guard let entries = try? FileOperations(syscalls: .live).listDirectory(directory) else { return [] }
        return entries.map(\.name).sorted().compactMap { candidate -> Finding? in
            guard TempFileName.matches(candidate) else { return nil }
            // `.NAME.tmp-XXXXXX`, where NAME may have been shortened to fit.
            let stem = candidate.dropFirst().dropLast(TempFileName.marker.count + TempFileName.randomLength)
            guard !stem.isEmpty, name.hasPrefix(stem) else { return nil }
            return Finding(kind: .orphanTemp, path: FileOperations.join(directory, candidate),
                           detail: "a temporary file left by an interrupted export of \(name); remove it once no export "
                               + "is running")
        }
    }
}
