import Foundation
import Glibc

/// Compares the database with a state-file mirror directory, in two streaming passes over
/// one read transaction: every database document in key order (its file is read, compared
/// and, with a ``MirrorRepairer``, rewritten), then a walk of the directory for files the
/// first pass did not account for (extra documents, foreign files, temporary files).
/// Memory holds one document and one file at a time, plus the findings.
struct DirectoryReconciler {
    let db: Connection
    /// The mirror root, without trailing slashes, so paths read the same in every finding.
    let root: String
    let rules: [any DomainRule]
    let progress: (@Sendable (Progress) -> Void)?
    var repairer: MirrorRepairer?
    private var report: ReconcileReport
    private var reader: MirrorFileReader
    private let files = FileOperations(syscalls: .live)

    init(db: Connection, directory: String, rules: [any DomainRule], progress: (@Sendable (Progress) -> Void)?,
         repairer: MirrorRepairer?) {
        var root = directory
        while root.count > 1, root.hasSuffix("/") { root.removeLast() }
        self.db = db
        self.root = root
        self.reader = MirrorFileReader(root: root)
        self.rules = rules
        self.progress = progress
        self.repairer = repairer
        self.report = ReconcileReport(target: directory)
    }

    /// Throws ``TallyError/io(step:path:errno:)`` (step `open`) unless `directory` is an
    /// existing directory: a mistyped path must not read as "every file is missing".
    static func checkDirectory(_ directory: String) throws(TallyError) {
        var info = stat()
        guard stat(directory, &info) == 0 else { throw TallyError.io(step: "open", path: directory, errno: errno) }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw TallyError.io(step: "open", path: directory, errno: ENOTDIR) }
    }

    mutating func run() throws -> ReconcileReport {
        try checkDatabaseDocuments()
        try walkDirectory()
        if let repairer { report.repairs = repairer.repairs }
        return report
    }

    // MARK: Pass 1: every database document

    private mutating func checkDatabaseDocuments() throws {
        let total = try db.scalarInt("SELECT count(*) FROM state") ?? 0
        let statement = try db.prepare("SELECT \(StateTable.columns) FROM state ORDER BY key")
        let ledger = DomainRuleLedger(db: db)
        while try statement.step() {
            report.documentsChecked += 1
            if report.documentsChecked % 1000 == 0 {
                progress?(Progress(phase: "state", done: report.documentsChecked, total: total))
            }
            let document: StateDocument
            switch DocumentComparison.storedRow(statement) {
            case let .document(stored):
                document = stored
            case let .corrupt(key, version, expected, actual):
                report.findings.append(DocumentComparison.databaseCorrupt(key: key, version: version, checksum: expected,
                                                                          actual: actual))
                repairer?.leave("'\(key)'", because: "the database's copy is corrupt; restore the database first")
                continue
            }
            report.findings += DocumentComparison.runRules(rules, on: document, ledger: ledger)
            try checkFile(of: document)
        }
        progress?(Progress(phase: "state", done: report.documentsChecked, total: total))
    }

    private mutating func checkFile(of document: StateDocument) throws {
        let path: String
        let bytes: [UInt8]
        switch reader.read(document.key) {
        case let .bytes(found, contents):
            path = found
            bytes = contents
        case let .absent(found):
            try missing(document, path: found)
            return
        case let .impossible(reason):
            report.findings.append(Finding(kind: .missing, key: document.key, databaseVersion: document.version,
                                           databaseChecksum: document.checksum,
                                           detail: "the document cannot have a mirror file: \(reason)"))
            repairer?.leave("'\(document.key)'", because: "it cannot have a mirror file; rename the document")
            return
        case let .unreadable(found, error):
            report.filesChecked += 1
            try corrupt(document, path: found, version: nil, checksum: nil,
                        problem: "it cannot be read (\(error.description))")
            return
        }
        report.filesChecked += 1
        let expected = MirrorFile.render(document)
        if bytes == expected { return }  // the common case: exactly what mirror writes
        switch MirrorFile.parse(bytes, expectedKey: document.key) {
        case let .failure(problem):
            let salvaged = DocumentComparison.salvage(try? JSONValue.parse(utf8: bytes))
            try corrupt(document, path: path, version: salvaged.version, checksum: salvaged.checksum,
                        problem: problem.description)
        case let .success(file):
            // A file with the same content in another layout (re-indented by hand) agrees.
            guard let finding = DocumentComparison.compare(document, with: file, path: path, side: .file) else { return }
            report.findings.append(finding)
            try repairer?.rewrite(document, path: path, because: finding.kind)
        }
    }

    private mutating func missing(_ document: StateDocument, path: String) throws {
        report.findings.append(Finding(kind: .missing, key: document.key, path: path, databaseVersion: document.version,
                                       databaseChecksum: document.checksum,
                                       detail: "the database has version \(document.version) but there is no file; "
                                           + "`tally reconcile --repair` (or `tally mirror`) writes it"))
        try repairer?.rewrite(document, path: path, because: .missing)
    }

    private mutating func corrupt(_ document: StateDocument, path: String, version: Int64?, checksum: String?,
                                  problem: String) throws {
        report.findings.append(Finding(kind: .corrupt, key: document.key, path: path, databaseVersion: document.version,
                                       fileVersion: version, databaseChecksum: document.checksum, fileChecksum: checksum,
                                       detail: "the file is corrupt: \(problem); `tally reconcile --repair` rewrites it "
                                           + "from the database"))
        try repairer?.rewrite(document, path: path, because: .corrupt)
    }

    // MARK: Pass 2: files the database does not account for

    private mutating func walkDirectory() throws {
        var walked: Int64 = 0
        let walker = DirectoryWalker(root: root)
        for relative in walker {
            walked += 1
            if walked % 1000 == 0 { progress?(Progress(phase: "files", done: walked, total: 0)) }
            if relative == MirrorFile.manifestName { continue }
            let path = FileOperations.join(root, relative)
            let name = FileOperations.split(relative).name
            if TempFileName.matches(name) {
                try orphanTemp(path)
                continue
            }
            guard let key = MirrorFile.key(forRelativePath: relative) else {
                report.filesChecked += 1
                report.findings.append(Finding(kind: .extra, path: path,
                                               detail: "the file is not a mirror file (its name is not KEY.json for a valid "
                                                   + "key); remove it or move it out of the mirror directory"))
                repairer?.leave(path, because: "not a mirror file Tally wrote; remove it by hand if it is not needed")
                continue
            }
            // Keys in the database were checked in pass 1, file and all.
            if try StateTable.currentVersion(key, on: db) > 0 { continue }
            report.filesChecked += 1
            try extra(key: key, path: path)
        }
        for (relative, code) in walker.problems {
            let path = relative.isEmpty ? root : FileOperations.join(root, relative)
            report.findings.append(Finding(kind: .corrupt, path: path,
                                           detail: "the directory cannot be read (\(String(cString: strerror(code))), errno "
                                               + "\(code)), so the files in it were not checked for extra or temporary "
                                               + "files; fix its permissions and reconcile again"))
        }
        progress?(Progress(phase: "files", done: walked, total: walked))
    }

    private mutating func extra(key: String, path: String) throws {
        let bytes: Data
        do {
            bytes = try files.readAll(path) ?? Data()
        } catch {
            report.findings.append(Finding(kind: .extra, key: key, path: path,
                                           detail: "the database has no document '\(key)', and the file cannot be read "
                                               + "(\(error)); remove it if it is not needed"))
            repairer?.leave(path, because: "it cannot be read")
            return
        }
        switch MirrorFile.parse(bytes, expectedKey: key) {
        case let .success(file):
            report.findings.append(Finding(kind: .extra, key: key, path: path, fileVersion: file.version,
                                           fileChecksum: file.checksum,
                                           detail: "the file holds version \(file.version) of '\(key)', which the database "
                                               + "does not have (deleted, or never written here); "
                                               + "`tally reconcile --repair --remove-extra` removes it"))
            try repairer?.extra(path: path, isMirrorFile: true)
        case let .failure(problem):
            let salvaged = DocumentComparison.salvage(try? JSONValue.parse(utf8: bytes))
            report.findings.append(Finding(kind: .extra, key: key, path: path, fileVersion: salvaged.version,
                                           fileChecksum: salvaged.checksum,
                                           detail: "the database has no document '\(key)', and the file is not a valid "
                                               + "mirror file either (\(problem)); remove it if it is not needed"))
            try repairer?.extra(path: path, isMirrorFile: false)
        }
    }

    private mutating func orphanTemp(_ path: String) throws {
        report.filesChecked += 1
        var info = stat()
        let age: TimeInterval
        if lstat(path, &info) == 0 {
            let modified = TimeInterval(info.st_mtim.tv_sec) + TimeInterval(info.st_mtim.tv_nsec) / 1e9
            age = max(0, (repairer?.now ?? Date()).timeIntervalSince1970 - modified)
        } else {
            age = 0
        }
        report.findings.append(Finding(kind: .orphanTemp, path: path,
                                       detail: "a temporary file left by an interrupted write (modified \(Int(age)) s ago); "
                                           + "`tally reconcile --repair` removes it once it is "
                                           + "\(Int(MirrorRepairer.orphanTempMinimumAge)) s old"))
        try repairer?.orphanTemp(path: path, age: age)
    }
}
