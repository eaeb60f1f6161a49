extension Store {
    /// Writes every state document to `directory/<key>.json` (only the files that are
    /// missing or different), removes the files of documents that no longer exist, sweeps
    /// temporary files of interrupted writes, and writes `MANIFEST.json`. The database is the
    /// source of truth; the whole run reads one consistent view of it.
    ///
    /// It never stops half-way: what it cannot write or will not touch (a symbolic link or a
    /// FIFO where a file belongs, a file it did not write) is reported in
    /// ``MirrorReport/findings`` and everything else is still written. Every file appears
    /// whole or not at all, and all of them are durable when the call returns.
    ///
    /// - Throws: ``TallyError/invalidInput(field:reason:)`` for a directory that mirrors
    ///   another ledger (its manifest says so), ``TallyError/io(step:path:errno:)`` when the
    ///   directory or the manifest cannot be written, and corruption errors.
    @discardableResult
    public func mirror(to directory: String,
                       progress: (@Sendable (OperationProgress) -> Void)? = nil) throws(TallyError) -> MirrorReport {
        try mirror(to: directory, progress: progress, syscalls: .live)
    }

    /// ``mirror(to:progress:)-3oejo`` through the given system calls (the power-loss tests
    /// record them), remembering at most `keysRememberedAtMost` keys between its passes
    /// (tests lower it to exercise the database lookups that replace them).
    @discardableResult
    package func mirror(to directory: String, progress: (@Sendable (OperationProgress) -> Void)?,
                        syscalls: FileSyscalls, keysRememberedAtMost: Int = 250_000) throws(TallyError) -> MirrorReport {
        let root = Self.trimmed(directory)
        try FileOperations.requireDirectoryOrAbsent(root, field: "directory")
        return try readTransaction { (db: Connection) throws(TallyError) -> MirrorReport in
            var writer = MirrorWriter(db: db, root: root, databasePath: path, progress: progress, syscalls: syscalls,
                                      keysRememberedAtMost: keysRememberedAtMost)
            return try writer.run()
        }
    }

    /// The ledger's identity: a UUID made when the database was created (or carried in by
    /// the snapshot it was imported from). It names the ledger in snapshots, mirrors and
    /// signed checkpoints.
    public func ledgerID() throws(TallyError) -> String {
        try readTransaction { (db: Connection) throws(TallyError) -> String in try LedgerIdentity.read(on: db) }
    }

    /// Brings the mirror files of `keys` up to date after a commit (write-through), and the
    /// manifest's head, count and digest with them. The database already holds the truth,
    /// so a failure here is logged, not thrown: ``mirror(to:progress:)-3oejo`` or
    /// ``repair(mirror:removeExtra:progress:)-269ox`` catches up.
    func writeThrough(_ keys: Set<String>) {
        guard let directory = configuration.mirrorDirectory, !keys.isEmpty else { return }
        let root = Self.trimmed(directory)
        do throws(TallyError) {
            try readTransaction { (db: Connection) throws(TallyError) -> Void in
                try MirrorWriteThrough(db: db, root: root).apply(keys.sorted())
            }
        } catch {
            logger.info("mirror write-through failed; the database is up to date, the mirror is not",
                        metadata: ["directory": "\(directory)", "error": "\(error)"])
        }
    }

    /// A directory path without trailing slashes, so paths read the same in every report.
    static func trimmed(_ directory: String) -> String {
        var root = directory
        while root.count > 1, root.hasSuffix("/") { root.removeLast() }
        return root
    }
}

/// The write-through of one commit: the touched keys' files, then the manifest, adjusted
/// for exactly those keys (its digest is a sum, so the other documents need not be read).
struct MirrorWriteThrough {
    let db: Connection
    let root: String
    var syscalls: FileSyscalls = .live

    func apply(_ keys: [String]) throws(TallyError) {
        let identity = try LedgerIdentity.read(on: db)
        var manifest: MirrorManifest?
        var counted = true  // false: the manifest was just computed from the database as it is
        switch try MirrorDirectory.readManifest(root, syscalls: syscalls) {
        case let .manifest(found)?:
            guard found.ledgerID == identity else { throw MirrorDirectory.foreignMirror(root, manifest: found, ledgerID: identity) }
            manifest = found
        case nil:
            // The first write-through into a directory: count every document once, so the
            // manifest exists from now on and later commits only adjust it.
            manifest = try Self.fullManifest(ledgerID: identity, on: db)
            counted = false
        case .unreadable?:
            break  // only a full mirror or a repair rewrites an unreadable manifest
        }
        var digest = manifest.flatMap { EntriesDigest(hex: $0.entriesDigest) }
        var reader = MirrorFileReader(root: root, syscalls: syscalls)
        for key in keys {
            // What the manifest counted for this key is what its file held.
            var previous: StateDocument?
            if case let .bytes(_, bytes) = reader.read(key, limit: MirrorFileReader.limit(expected: 0)),
               case let .success(file) = MirrorFile.parse(bytes, expectedKey: key) {
                previous = file
            }
            let current = try StateTable.document(key, on: db)
            if let previous, counted {
                digest?.subtract(key: previous.key, version: previous.version, checksum: previous.checksum)
                manifest?.documents -= 1
            }
            if let current {
                _ = try MirrorFileWriter.write(current, under: root, syscalls: syscalls)
                if counted {
                    digest?.add(key: current.key, version: current.version, checksum: current.checksum)
                    manifest?.documents += 1
                }
            } else {
                _ = try AtomicFile.removeDurably(reader.path(of: key), syscalls: syscalls)
            }
        }
        // With an unreadable manifest only a full mirror or a repair can write one.
        guard var manifest, let digest else { return }
        let head = try LedgerTable.head(on: db)
        manifest.generatedAt = Timestamp.now()
        manifest.ledgerHeadSeq = head.seq
        manifest.ledgerHeadHash = head.hash
        manifest.entriesDigest = digest.hex
        try AtomicFile.write(manifest.rendered(), to: MirrorDirectory.manifestPath(root), permissions: 0o644,
                             syscalls: syscalls)
    }
}

extension MirrorWriteThrough {
    /// A manifest computed from every document (before this commit's keys are adjusted:
    /// they are read from the database as they are now, and the files written below match).
    static func fullManifest(ledgerID: String, on db: Connection) throws(TallyError) -> MirrorManifest {
        var digest = EntriesDigest()
        var documents: Int64 = 0
        let statement = try db.prepare("SELECT key, version, checksum FROM state ORDER BY key")
        while try statement.step() {
            digest.add(key: statement.string(0), version: statement.int64(1), checksum: statement.string(2))
            documents += 1
        }
        let head = try LedgerTable.head(on: db)
        return MirrorManifest(ledgerID: ledgerID, generatedAt: Timestamp.now(), ledgerHeadSeq: head.seq,
                              ledgerHeadHash: head.hash, documents: documents, entriesDigest: digest.hex)
    }
}

/// Writes one document's mirror file on its own (write-through, repair).
enum MirrorFileWriter {
    /// Writes `document`'s file under `root` unless it already holds exactly these bytes;
    /// returns true when it wrote.
    static func write(_ document: StateDocument, under root: String, syscalls: FileSyscalls = .live) throws(TallyError) -> Bool {
        let path = try SafePath.path(forKey: document.key, under: root, suffix: MirrorFile.suffix)
        let bytes = MirrorFile.render(document)
        do throws(TallyError) {
            if let existing = try FileOperations(syscalls: syscalls).readUntrusted(path, limit: MirrorFileReader.limit(expected: bytes.count)),
               existing == bytes {
                return false
            }
        } catch {
            // A link or special file where the file belongs is never replaced.
            if case .unsafeFile = error { throw error }
        }
        try AtomicFile.write(bytes, to: path, permissions: 0o600, syscalls: syscalls)
        return true
    }
}
