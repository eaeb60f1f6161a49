/// Compares the database with a state-file mirror directory, in streaming passes over one
/// read transaction: every database document in key order (its file is read, compared and,
/// with a ``MirrorRepairer``, rewritten), then a walk of the directory for files the first
/// pass did not account for (extra documents, foreign files, temporary files, links and
/// special files), then `MANIFEST.json`. Memory holds two chunks of documents and their
/// files at a time (a few hundred each), plus the findings and pass 1's keys.
///
/// It reads the directory exactly as ``MirrorWriter`` writes it (the same reader, the same
/// findings), so a mirror followed by a reconcile is clean unless the mirror reported
/// something itself. Like the mirror, it renders each document's file from the canonical
/// body as stored (verified against its checksum, not parsed): a document is parsed only
/// for domain rules, a file that differs, or a repair; the files are read on a second
/// thread (``ReconcileFileStage``), a chunk ahead of the documents. And it remembers pass
/// 1's keys for pass 2 (``DocumentKeysSeen``), so that only a mirror of more documents than
/// that holds costs pass 2 a database lookup per file.
struct DirectoryReconciler {
    let db: Connection
    /// The ledger inside the same read transaction, for domain rules.
    let ledger: Ledger
    /// The mirror root, without trailing slashes, so paths read the same in every finding.
    let root: String
    let databasePath: String
    let rules: [any DomainRule]
    let progress: (@Sendable (OperationProgress) -> Void)?
    var repairer: MirrorRepairer?
    private var report: ReconcileReport
    private var entries = EntriesDigest()
    private var keysSeen: DocumentKeysSeen

    init(transaction: Transaction, directory: String, rules: [any DomainRule], progress: (@Sendable (OperationProgress) -> Void)?,
         repairer: MirrorRepairer?, keysRememberedAtMost: Int = 250_000) {
        let root = Store.trimmed(directory)
        self.db = transaction.connection
        self.ledger = transaction.ledger
        self.root = root
        self.databasePath = transaction.store.path
        self.rules = rules
        self.progress = progress
        self.repairer = repairer
        self.report = ReconcileReport(target: directory)
        self.keysSeen = DocumentKeysSeen(limit: keysRememberedAtMost)
    }

    /// Throws ``TallyError/io(step:path:errno:)`` (step `open`) unless `directory` is an
    /// existing directory: a mistyped path must not read as "every file is missing".
    static func checkDirectory(_ directory: String) throws(TallyError) {
        switch System.statInfo(directory) {
        case let .success(info) where info.kind == .directory: return
        case .success: throw TallyError.io(step: "open", path: directory, errno: Errno.notDirectory.rawValue)
        case let .failure(error): throw TallyError.io(step: "open", path: directory, errno: error.rawValue)
        }
    }

    mutating func run() throws(TallyError) -> ReconcileReport {
        let identity = try LedgerIdentity.read(on: db)
        let manifest = try MirrorDirectory.readManifest(root)
        if case let .manifest(found)? = manifest, found.ledgerID != identity {
            throw MirrorDirectory.foreignMirror(root, manifest: found, ledgerID: identity)
        }
        try checkDatabaseDocuments()
        try walkDirectory()
        try checkManifest(manifest, ledgerID: identity)
        if let repairer { report.repairs = repairer.repairs }
        return report
    }

    // MARK: Pass 1: every database document

    private mutating func checkDatabaseDocuments() throws(TallyError) {
        let total = progress == nil ? 0 : try StateTable.count(status: nil, on: db)  // only progress reports use it
        let statement = try db.prepare("SELECT \(StateTable.columns) FROM state ORDER BY key")
        let files = ReconcileFileStage(root: root)
        let reading = BatchHandOver<ReconcileFileStage.Chunk>(label: "tally.reconcile.files") { files.read($0) }
        var chunk = ReconcileFileStage.Chunk()
        while try statement.step() {
            report.documentsChecked += 1
            if report.documentsChecked % 1000 == 0 {
                progress?(OperationProgress(phase: .state, done: report.documentsChecked, total: total))
            }
            chunk.entries.append(entry(for: Document(stored: DocumentComparison.canonicalRow(statement))))
            if chunk.entries.count >= ReconcileFileStage.chunkSize {
                if let read = reading.submit(chunk) { try handle(read) }
                chunk = ReconcileFileStage.Chunk()
            }
        }
        if let read = reading.submit(chunk) { try handle(read) }
        if let read = reading.finish() { try handle(read) }
        progress?(OperationProgress(phase: .state, done: report.documentsChecked, total: total))
    }

    /// What the file stage needs to check `document`'s file, and what the rules found in it.
    private mutating func entry(for document: Document) -> ReconcileFileStage.Entry {
        var document = document
        keysSeen.insert(document.key)
        guard case let .canonical(row) = document.stored else {
            return ReconcileFileStage.Entry(document: document, expected: nil, ruleFindings: [])
        }
        entries.add(key: document.key, version: document.version, checksum: document.checksum)
        var ruleFindings: [Finding] = []
        if !rules.isEmpty {
            guard let parsed = document.parsed() else {
                return ReconcileFileStage.Entry(document: document, expected: nil, ruleFindings: [])
            }
            ruleFindings = DocumentComparison.runRules(rules, on: parsed, ledger: ledger)
        }
        return ReconcileFileStage.Entry(document: document, expected: MirrorFile.render(row), ruleFindings: ruleFindings)
    }

    /// Reports (and repairs) what a chunk the file stage has read found, in key order.
    private mutating func handle(_ chunk: ReconcileFileStage.Chunk) throws(TallyError) {
        for var entry in chunk.entries {
            guard let expected = entry.expected else {
                try databaseCorrupt(&entry.document)
                continue
            }
            report.findings += entry.ruleFindings
            guard let outcome = entry.outcome else {
                report.filesChecked += 1  // exactly what mirror writes
                continue
            }
            try checkFile(of: &entry.document, expected: expected, outcome: outcome)
        }
    }

    /// A database document as pass 1 reads it: the row, verified, with its canonical body;
    /// parsed only when something needs the value.
    struct Document {
        let stored: DocumentComparison.CanonicalStoredRow
        private var parsedValue: StateDocument?

        init(stored: DocumentComparison.CanonicalStoredRow) {
            self.stored = stored
        }

        var key: String { stored.key }
        var version: Int64 { stored.version }
        var checksum: String { stored.checksum }

        /// The document as a value; nil when its body does not parse (it then counts as corrupt).
        mutating func parsed() -> StateDocument? {
            if let parsedValue { return parsedValue }
            guard case let .canonical(row) = stored, let document = try? StateTable.document(of: row) else { return nil }
            parsedValue = document
            return document
        }
    }

    /// Reports a database document whose copy is corrupt; neither compared nor repaired.
    private mutating func databaseCorrupt(_ document: inout Document) throws(TallyError) {
        let actual: String
        switch document.stored {
        case let .corrupt(_, _, _, found): actual = found
        case .canonical: actual = "(body is not valid JSON)"
        }
        report.findings.append(DocumentComparison.databaseCorrupt(key: document.key, version: document.version,
                                                                  checksum: document.checksum, actual: actual))
        repairer?.leave("'\(document.key)'", because: "the database's copy is corrupt; restore the database first")
    }

    /// Rewrites `document`'s file (a repair only).
    private mutating func rewrite(_ document: inout Document, path: String, because kind: Finding.Kind) throws(TallyError) {
        guard repairer != nil else { return }
        guard let parsed = document.parsed() else { return try databaseCorrupt(&document) }
        try repairer?.rewrite(parsed, path: path, because: kind)
    }

    /// Reports (and repairs) a file that is not exactly what the mirror would write for `document`.
    private mutating func checkFile(of document: inout Document, expected: [UInt8],
                                    outcome: MirrorFileReader.Outcome) throws(TallyError) {
        let path: String
        let bytes: [UInt8]
        switch outcome {
        case let .bytes(found, contents):
            path = found
            bytes = contents
        case let .absent(found):
            report.findings.append(Finding(kind: .missing, key: document.key, path: found, databaseVersion: document.version,
                                           databaseChecksum: document.checksum,
                                           detail: "the database has version \(document.version) but there is no file; "
                                               + "a mirror or a repair writes it"))
            try rewrite(&document, path: found, because: .missing)
            return
        case let .impossible(reason):
            report.findings.append(Finding(kind: .missing, key: document.key, databaseVersion: document.version,
                                           databaseChecksum: document.checksum,
                                           detail: "the document cannot have a mirror file: \(reason)"))
            repairer?.leave("'\(document.key)'", because: "it cannot have a mirror file; rename the document")
            return
        case let .unsafe(found, reason):
            report.filesChecked += 1
            report.findings.append(MirrorFindings.unsafe(path: found, key: document.key, reason: reason))
            repairer?.leave(found, because: "\(reason); remove it, then repair again")
            return
        case let .unreadable(found, error):
            report.filesChecked += 1
            try corrupt(&document, path: found, version: nil, checksum: nil, problem: "it cannot be read (\(error.problem))")
            return
        }
        report.filesChecked += 1
        if bytes.sameBytes(as: expected) { return }
        switch MirrorFile.parse(bytes, expectedKey: document.key) {
        case let .failure(problem):
            let salvaged = DocumentComparison.salvage(try? JSONValue.parseStrict(utf8: bytes))
            try corrupt(&document, path: path, version: salvaged.version, checksum: salvaged.checksum, problem: problem.description)
        case let .success(file):
            // A file with the same content in another layout (re-indented by hand) agrees.
            guard let parsed = document.parsed() else { return try databaseCorrupt(&document) }
            guard let finding = DocumentComparison.compare(parsed, with: file, path: path, side: .file) else { return }
            report.findings.append(finding)
            try rewrite(&document, path: path, because: finding.kind)
        }
    }

    private mutating func corrupt(_ document: inout Document, path: String, version: Int64?, checksum: String?,
                                  problem: String) throws(TallyError) {
        report.findings.append(Finding(kind: .corrupt, key: document.key, path: path, databaseVersion: document.version,
                                       fileVersion: version, databaseChecksum: document.checksum, fileChecksum: checksum,
                                       detail: "the file is corrupt: \(problem); a repair rewrites it from the database"))
        try rewrite(&document, path: path, because: .corrupt)
    }

    // MARK: Pass 2: files the database does not account for

    private mutating func walkDirectory() throws(TallyError) {
        var walked: Int64 = 0
        let walker = DirectoryWalker(root: root)
        let ownFiles = MirrorDirectory.DatabaseFiles(databasePath, under: root)
        let now = repairer?.now ?? Clock.secondsSince1970()
        for relative in walker {
            walked += 1
            if walked % 1000 == 0 { progress?(OperationProgress(phase: .files, done: walked, total: 0)) }
            if relative == MirrorFile.manifestName || ownFiles.contains(relative) { continue }
            let path = FileOperations.join(root, relative)
            if TempFileName.matches(FileOperations.split(relative).name) {
                report.filesChecked += 1
                let age = MirrorDirectory.age(of: path, now: now)
                report.findings.append(MirrorFindings.orphanTemp(path: path, age: age))
                try repairer?.orphanTemp(path: path, age: age)
                continue
            }
            guard let key = MirrorFile.key(forRelativePath: relative) else {
                report.filesChecked += 1
                report.findings.append(MirrorFindings.notAMirrorFile(path: path))
                repairer?.leave(path, because: "not a mirror file Tally wrote; remove it by hand if it is not needed")
                continue
            }
            // Keys in the database were checked in pass 1, file and all.
            if try keysSeen.contains(key, on: db) { continue }
            report.filesChecked += 1
            switch MirrorFindings.classifyExtra(key: key, path: path) {
            case let .removable(file):
                report.findings.append(Finding(kind: .extra, key: key, path: path, fileVersion: file.version,
                                               fileChecksum: file.checksum,
                                               detail: "the file holds version \(file.version) of '\(key)', which the database "
                                                   + "does not have (deleted, or never written here); a mirror removes it, "
                                                   + "as does a repair that removes extra files"))
                try repairer?.extra(path: path, isMirrorFile: true)
            case let .leave(finding):
                report.findings.append(finding)
                if finding.kind == .unsafe {
                    repairer?.leave(path, because: "it is not a regular file; remove it by hand")
                } else {
                    try repairer?.extra(path: path, isMirrorFile: false)
                }
            }
        }
        let (keysSeen, db) = (self.keysSeen, self.db)
        report.findings += try MirrorFindings.walkProblems(walker, root: root, ownFiles: ownFiles) { (key) throws(TallyError) -> Bool in
            try keysSeen.contains(key, on: db)
        }
        progress?(OperationProgress(phase: .files, done: walked, total: walked))
    }

    // MARK: Pass 3: the manifest

    /// Checks `MANIFEST.json` against the database: present, readable, at the ledger's head,
    /// with the right document count and digest. A repair rewrites it.
    private mutating func checkManifest(_ state: MirrorDirectory.ManifestState?, ledgerID: String) throws(TallyError) {
        let path = MirrorDirectory.manifestPath(root)
        let head = try LedgerTable.head(on: db)
        var problems: [(Finding.Kind, String)] = []
        switch state {
        case nil:
            problems.append((.missing, "the mirror has no MANIFEST.json"))
        case let .unreadable(reason):
            problems.append((.corrupt, "MANIFEST.json cannot be read as a mirror manifest: \(reason)"))
        case let .manifest(manifest):
            if manifest.ledgerHeadSeq != head.seq || manifest.ledgerHeadHash != head.hash {
                problems.append((.stale, "MANIFEST.json records ledger head seq \(manifest.ledgerHeadSeq) but the database is at seq \(head.seq)"))
            }
            if manifest.documents != report.documentsChecked {
                problems.append((.mismatch, "MANIFEST.json counts \(manifest.documents) documents but the database has \(report.documentsChecked)"))
            } else if manifest.entriesDigest != entries.hex {
                problems.append((.mismatch, "MANIFEST.json's entries digest does not match the database's documents (a version or checksum differs)"))
            }
        }
        guard !problems.isEmpty else { return }
        for (kind, detail) in problems {
            report.findings.append(Finding(kind: kind, path: path, detail: detail + "; a repair (or a mirror) rewrites it"))
        }
        if let repairer {
            let manifest = MirrorManifest(ledgerID: ledgerID, generatedAt: Timestamp.now(), ledgerHeadSeq: head.seq,
                                          ledgerHeadHash: head.hash, documents: report.documentsChecked, entriesDigest: entries.hex)
            try repairer.writeManifest(manifest, to: path)
            self.repairer?.note("rewrote \(path) from the database")
        }
    }
}
