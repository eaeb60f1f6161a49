/// Writes the state-file mirror of one consistent view of the database, in three passes:
///
/// 1. every document in key order: verified and rendered here, then its file is read (safely,
///    see ``MirrorFileReader``) and, when missing or different, rewritten by
///    ``MirrorFileStage`` on a second thread; all rewrites go through one
///    ``AtomicFile/Batch``, committed every few thousand files;
/// 2. a walk of the directory: files of documents that no longer exist are removed (only
///    valid mirror files of their key), Tally's own old temporary files are swept, and
///    everything else Tally did not write is reported, never touched;
/// 3. `MANIFEST.json`.
///
/// It never stops half-way: a key it cannot write, a link or a FIFO where a file belongs, a
/// file it will not remove, each becomes a ``Finding`` of the report, and the rest of the
/// mirror and the manifest are still written. The findings are exactly what
/// ``Store/reconcile(against:rules:progress:)-443di`` would report afterwards, so the two agree.
struct MirrorWriter {
    let db: Connection
    let root: String
    let databasePath: String
    let progress: (@Sendable (OperationProgress) -> Void)?
    let syscalls: FileSyscalls
    private var report: MirrorReport
    private var entries = EntriesDigest()
    /// The keys pass 1 saw, for pass 2.
    private var keysSeen: DocumentKeysSeen

    /// Files of one batch before it is committed: bounds the temporary files a crash can leave.
    static let batchSize = 2000
    /// Tally's temporary files older than this are abandoned and removed.
    static let orphanAge: Double = 60

    init(db: Connection, root: String, databasePath: String, progress: (@Sendable (OperationProgress) -> Void)?,
         syscalls: FileSyscalls = .live, keysRememberedAtMost: Int = 250_000) {
        self.db = db
        self.keysSeen = DocumentKeysSeen(limit: keysRememberedAtMost)
        self.root = root
        self.databasePath = databasePath
        self.progress = progress
        self.syscalls = syscalls
        self.report = MirrorReport(directory: root)
    }

    mutating func run() throws(TallyError) -> MirrorReport {
        let identity = try LedgerIdentity.read(on: db)
        let head = try LedgerTable.head(on: db)
        report.ledgerHeadSeq = head.seq
        try MirrorDirectory.prepare(root, ledgerID: identity, syscalls: syscalls)
        try writeDocuments()
        try walkDirectory()
        let manifest = MirrorManifest(ledgerID: identity, generatedAt: Timestamp.now(), ledgerHeadSeq: head.seq,
                                      ledgerHeadHash: head.hash, documents: report.documents, entriesDigest: entries.hex)
        try AtomicFile.write(manifest.rendered(), to: MirrorDirectory.manifestPath(root), permissions: 0o644,
                             syscalls: syscalls)
        return report
    }

    // MARK: Pass 1: every document

    private mutating func writeDocuments() throws(TallyError) {
        let total = progress == nil ? 0 : try StateTable.count(status: nil, on: db)  // only progress reports use it
        let statement = try db.prepare("SELECT \(StateTable.columns) FROM state ORDER BY key")
        let files = MirrorFileStage(root: root, syscalls: syscalls)
        let writing = BatchHandOver<[MirrorFileStage.Rendered]>(label: "tally.mirror.files") { files.process($0) }
        var chunk: [MirrorFileStage.Rendered] = []
        chunk.reserveCapacity(MirrorFileStage.chunkSize)
        do throws(TallyError) {
            while try statement.step() {
                // The body stays the canonical bytes stored (verified): laid out into the file
                // without being parsed.
                let stored = try StateTable.canonicalRow(from: statement)
                let document = stored.row
                report.documents += 1
                keysSeen.insert(document.key)
                entries.add(key: document.key, version: document.version, checksum: document.checksum)
                chunk.append(MirrorFileStage.Rendered(key: document.key, version: document.version, checksum: document.checksum,
                                                      bytes: MirrorFile.render(stored)))
                if chunk.count >= MirrorFileStage.chunkSize {
                    _ = writing.submit(chunk)
                    chunk.removeAll(keepingCapacity: true)
                }
                if report.documents % 1000 == 0 { progress?(OperationProgress(phase: .files, done: report.documents, total: total)) }
            }
            _ = writing.submit(chunk)
            _ = writing.finish()
            try files.commitLast()
        } catch {
            _ = writing.finish()
            files.discard()
            throw error
        }
        report.written += files.written
        report.unchanged += files.unchanged
        report.findings += files.findings
        progress?(OperationProgress(phase: .files, done: report.documents, total: total))
    }

    // MARK: Pass 2: files the database does not account for

    private mutating func walkDirectory() throws(TallyError) {
        let walker = DirectoryWalker(root: root, syscalls: syscalls)
        let ownFiles = MirrorDirectory.DatabaseFiles(databasePath, under: root)
        let now = Clock.secondsSince1970()
        // Removals are made durable once per directory, after the walk, before the manifest.
        var directoriesWithRemovals = Set<String>()
        for relative in walker {
            if relative == MirrorFile.manifestName || ownFiles.contains(relative) { continue }
            // The path itself is made only for files something is done to or said about, not
            // for the common case, a document's file.
            if TempFileName.matches(FileOperations.lastComponent(relative)) {
                let path = FileOperations.join(root, relative)
                let age = MirrorDirectory.age(of: path, now: now)
                if age >= Self.orphanAge {
                    if (try? AtomicFile.remove(path, syscalls: syscalls)) == true { report.sweptTemporaryFiles += 1 }
                } else {
                    report.findings.append(MirrorFindings.orphanTemp(path: path, age: age))
                }
                continue
            }
            guard let key = MirrorFile.key(forRelativePath: relative) else {
                report.findings.append(MirrorFindings.notAMirrorFile(path: FileOperations.join(root, relative)))
                continue
            }
            if try keysSeen.contains(key, on: db) { continue }
            let path = FileOperations.join(root, relative)
            switch MirrorFindings.classifyExtra(key: key, path: path) {
            case .removable:
                if try AtomicFile.remove(path, syscalls: syscalls) {
                    report.removed += 1
                    directoriesWithRemovals.insert(FileOperations.split(path).directory)
                }
            case let .leave(finding):
                report.findings.append(finding)
            }
        }
        let operations = FileOperations(syscalls: syscalls)
        for directory in directoriesWithRemovals.sorted() { try operations.syncDirectory(directory) }
        let (keysSeen, db) = (self.keysSeen, self.db)
        report.findings += try MirrorFindings.walkProblems(walker, root: root, ownFiles: ownFiles) { (key) throws(TallyError) -> Bool in
            try keysSeen.contains(key, on: db)
        }
    }
}

/// What ``Store/mirror(to:progress:)-3oejo`` did.
public struct MirrorReport: Sendable, Codable, Equatable {
    /// The mirror directory.
    public var directory: String
    /// Documents in the database.
    public var documents: Int64 = 0
    /// Files written because they were missing or different.
    public var written: Int64 = 0
    /// Files already identical, left alone.
    public var unchanged: Int64 = 0
    /// Files removed because their document no longer exists.
    public var removed: Int64 = 0
    /// Temporary files of interrupted writes (over a minute old) removed.
    public var sweptTemporaryFiles: Int64 = 0
    /// The ledger head the mirror is consistent with.
    public var ledgerHeadSeq: Int64 = 0
    /// What the mirror could not write, or found and left alone: a link or special file
    /// where a document's file belongs, a file Tally did not write, a key it could not
    /// write. Empty when the directory is now an exact mirror.
    public var findings: [Finding] = []

    /// True when the directory is now an exact mirror of the database.
    public var isComplete: Bool { findings.isEmpty }

    enum CodingKeys: String, CodingKey {
        case directory, documents, written, unchanged, removed, findings
        case sweptTemporaryFiles = "swept_temporary_files", ledgerHeadSeq = "ledger_head_seq"
    }
}
