/// The facts about a mirror directory that the writer, the reconciler and the repairer
/// share, so that they can never disagree about the same directory.
enum MirrorDirectory {
    /// `ROOT/MANIFEST.json`.
    static func manifestPath(_ root: String) -> String {
        FileOperations.join(root, MirrorFile.manifestName)
    }

    /// Creates `root` if needed, and refuses a directory that mirrors another ledger: its
    /// manifest names another ledger id, so its files are not this database's to rewrite
    /// or delete. A manifest that cannot be read as one is rewritten later.
    static func prepare(_ root: String, ledgerID: String, syscalls: FileSyscalls = .live) throws(TallyError) {
        let operations = FileOperations(syscalls: syscalls)
        switch System.statInfo(root) {
        case let .success(info) where info.kind != .directory:
            throw TallyError.io(step: "mkdir", path: root, errno: Errno.notDirectory.rawValue)
        case .success:
            break
        case .failure:
            try operations.makeDirectories(root)
        }
        if case let .manifest(manifest)? = try readManifest(root, syscalls: syscalls), manifest.ledgerID != ledgerID {
            throw foreignMirror(root, manifest: manifest, ledgerID: ledgerID)
        }
    }

    static func foreignMirror(_ root: String, manifest: MirrorManifest, ledgerID: String) -> TallyError {
        .invalidInput(field: "mirror directory",
                      reason: "\(root) is the mirror of another ledger (its MANIFEST.json names ledger \(manifest.ledgerID); "
                          + "this database is ledger \(ledgerID)); mirror into another directory, or remove that mirror first")
    }

    /// What is at `ROOT/MANIFEST.json`.
    enum ManifestState {
        case manifest(MirrorManifest)
        case unreadable(String)
    }

    /// The manifest, nil when there is none.
    static func readManifest(_ root: String, syscalls: FileSyscalls = .live) throws(TallyError) -> ManifestState? {
        let path = manifestPath(root)
        let bytes: [UInt8]
        do throws(TallyError) {
            guard let read = try FileOperations(syscalls: syscalls).readUntrusted(path, limit: MirrorManifest.maximumBytes) else {
                return nil
            }
            bytes = read
        } catch {
            if case let .unsafeFile(_, reason) = error { return .unreadable(reason) }
            throw error
        }
        switch MirrorManifest.parse(bytes) {
        case let .success(manifest): return .manifest(manifest)
        case let .failure(problem): return .unreadable(problem.description)
        }
    }

    /// The database's own files, when the database lives inside the mirror (the database,
    /// its `-wal`, `-shm` and `-journal`, its lock file, its consumers' lock files): they
    /// are never reported as extra files.
    struct DatabaseFiles {
        private let exact: Set<String>
        private let consumerLockPrefix: String?

        init(_ databasePath: String, under root: String) {
            guard let database = System.realPath(databasePath), let realRoot = System.realPath(root),
                  database.hasPrefix(realRoot == "/" ? "/" : realRoot + "/") else {
                exact = []
                consumerLockPrefix = nil
                return
            }
            let relative = String(database.dropFirst(realRoot == "/" ? 1 : realRoot.count + 1))
            exact = Set(["", "-wal", "-shm", "-journal", ".lock"].map { relative + $0 })
            consumerLockPrefix = relative + "-consumer-"
        }

        /// Whether `relative` (a path under the mirror's root) is one of the database's files.
        func contains(_ relative: String) -> Bool {
            if exact.contains(relative) { return true }
            guard let consumerLockPrefix, relative.hasPrefix(consumerLockPrefix), relative.hasSuffix(".lock") else { return false }
            return !relative.dropFirst(consumerLockPrefix.count).contains("/")
        }
    }

    /// Seconds since the file at `path` was last modified (0 when it cannot be examined).
    static func age(of path: String, now: Double) -> Double {
        guard case let .success(info) = System.lstatInfo(path) else { return 0 }
        return max(0, now - info.modified)
    }
}

/// The findings about mirror files, worded once for the writer and the reconciler.
enum MirrorFindings {
    static func unsafe(path: String, key: String?, reason: String) -> Finding {
        Finding(kind: .unsafe, key: key, path: path,
                detail: "\(reason); Tally never follows links, opens special files or reads oversized files here: "
                    + "remove it (or replace it with a regular file), then mirror or repair again")
    }

    static func orphanTemp(path: String, age: Double) -> Finding {
        Finding(kind: .orphanTemp, path: path,
                detail: "a temporary file left by an interrupted write (modified \(Int(age)) s ago); "
                    + "mirror and repair remove it once it is \(Int(MirrorWriter.orphanAge)) s old")
    }

    static func notAMirrorFile(path: String) -> Finding {
        Finding(kind: .extra, path: path,
                detail: "the file is not a mirror file (its name is not KEY.json for a valid key); "
                    + "remove it or move it out of the mirror directory")
    }

    /// What a file of a key the database does not have turns out to be.
    enum Extra {
        /// A valid mirror file of its key: Tally wrote it; safe to remove.
        case removable(StateDocument)
        /// Anything else: reported, never removed.
        case leave(Finding)
    }

    static func classifyExtra(key: String, path: String) -> Extra {
        let bytes: [UInt8]?
        do throws(TallyError) {
            bytes = try FileOperations(syscalls: .live).readUntrusted(path, limit: MirrorFileReader.limit(expected: 0))
        } catch {
            if case let .unsafeFile(_, reason) = error { return .leave(unsafe(path: path, key: key, reason: reason)) }
            return .leave(Finding(kind: .extra, key: key, path: path,
                                  detail: "the database has no document '\(key)', and the file cannot be read (\(error.problem)); "
                                      + "remove it if it is not needed"))
        }
        guard let bytes else {
            return .leave(Finding(kind: .extra, key: key, path: path, detail: "the file vanished while it was checked"))
        }
        switch MirrorFile.parse(bytes, expectedKey: key) {
        case let .success(file):
            return .removable(file)
        case let .failure(problem):
            let salvaged = DocumentComparison.salvage(try? JSONValue.parseStrict(utf8: bytes))
            return .leave(Finding(kind: .extra, key: key, path: path, fileVersion: salvaged.version, fileChecksum: salvaged.checksum,
                                  detail: "the database has no document '\(key)', and the file is not a valid mirror file "
                                      + "either (\(problem)); remove it if it is not needed"))
        }
    }

    /// Findings for what a walk could not see or would not enter. Special files at the
    /// path of a database key were reported with their document already
    /// (`isDatabaseKey` says which).
    static func walkProblems(_ walker: DirectoryWalker, root: String, ownFiles: MirrorDirectory.DatabaseFiles,
                             isDatabaseKey: (String) throws(TallyError) -> Bool) throws(TallyError) -> [Finding] {
        var findings: [Finding] = []
        for (relative, kind) in walker.specialFiles where !ownFiles.contains(relative) {
            let key = MirrorFile.key(forRelativePath: relative)
            if let key, try isDatabaseKey(key) { continue }
            findings.append(unsafe(path: FileOperations.join(root, relative), key: key,
                                   reason: "it is \(kind.description), not a regular file"))
        }
        for (relative, code) in walker.problems {
            let path = relative.isEmpty ? root : FileOperations.join(root, relative)
            findings.append(Finding(kind: .corrupt, path: path,
                                    detail: "the directory cannot be read (\(Errno.message(code)), errno \(code)), so the files in it "
                                        + "were not checked; fix its permissions and try again"))
        }
        return findings
    }
}

/// The ledger's identity (`ledger_identity`, migration 2).
enum LedgerIdentity {
    private static let readSQL = InternalSQL("SELECT ledger_id FROM ledger_identity WHERE id = 1")

    static func read(on db: Connection) throws(TallyError) -> String {
        let statement = try db.statement(readSQL)
        defer { statement.reset() }
        guard try statement.step() else {
            throw TallyError.corruptDatabase(path: db.path, detail: "the ledger_identity row is missing")
        }
        return statement.string(0)
    }

    /// Sets the identity (an import that replaces the database with a snapshot).
    static func set(_ ledgerID: String, on db: Connection) throws(TallyError) {
        try db.execute("UPDATE ledger_identity SET ledger_id = ? WHERE id = 1", [ledgerID])
    }
}
