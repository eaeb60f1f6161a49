extension Store {
    /// Compares the database with a state-file mirror directory or a snapshot file and
    /// reports every disagreement; changes nothing.
    ///
    /// Both sides are streamed, so memory grows with the number of findings, not of
    /// documents; a directory's reconcile also keeps the keys of up to 250,000 documents
    /// (about 64 bytes each) for its walk of the directory, which then needs no database
    /// lookup per file. The database side is read in one read transaction: a consistent
    /// view, even while other threads and processes write. A directory's files are read on
    /// a second thread, a few hundred ahead of the documents (see <doc:Concurrency>).
    ///
    /// - A directory: every document's file `DIR/<key>.json` is read and compared (missing,
    ///   stale, mismatch, corrupt), then the directory is walked for files the database has
    ///   no document for (extra), temporary files of interrupted writes (orphan temp) and
    ///   links or special files (unsafe); last `MANIFEST.json` is checked (missing,
    ///   unparsable, another ledger's, a head, count or entries digest that disagrees).
    /// - A snapshot: its state records and the database's documents are merged by key
    ///   (both are in key order); the snapshot's own integrity (line syntax, the end
    ///   record's count and SHA-256) is checked too. Only keys under the snapshot's key
    ///   prefix are compared.
    ///
    /// - Parameters:
    ///   - target: The mirror directory or snapshot file.
    ///   - rules: Domain rules to run against each database document; their problems are
    ///     findings of kind ``Finding/Kind/rule``.
    ///   - progress: Called every thousand documents or files.
    /// - Returns: The report; ``ReconcileReport/isClean`` when nothing disagrees.
    /// - Throws: ``TallyError/io(step:path:errno:)`` when the directory does not exist or
    ///   the snapshot cannot be read, ``TallyError/snapshot(path:line:reason:)`` for a file
    ///   that is not a snapshot or whose records are out of order, and database errors.
    public func reconcile(against target: ReconcileTarget, rules: [any DomainRule] = [],
                          progress: (@Sendable (OperationProgress) -> Void)? = nil) throws(TallyError) -> ReconcileReport {
        switch target {
        case let .directory(directory):
            return try reconcile(directory: directory, rules: rules, progress: progress)
        case let .snapshot(path):
            let cursor = try SnapshotStateCursor(path: path)
            return try readConsistently(onWriter: false) { (tx: Transaction) throws(TallyError) -> ReconcileReport in
                var reconciler = SnapshotReconciler(transaction: tx, cursor: cursor, rules: rules, progress: progress)
                return try reconciler.run()
            }
        }
    }

    /// ``reconcile(against:rules:progress:)-443di`` of a directory, remembering at most
    /// `keysRememberedAtMost` keys between its passes (tests pass 0: every file is then
    /// looked up in the database, as in a mirror of more documents than the default).
    func reconcile(directory: String, rules: [any DomainRule] = [], progress: (@Sendable (OperationProgress) -> Void)? = nil,
                   keysRememberedAtMost: Int = 250_000) throws(TallyError) -> ReconcileReport {
        try DirectoryReconciler.checkDirectory(directory)
        return try readConsistently(onWriter: false) { (tx: Transaction) throws(TallyError) -> ReconcileReport in
            var reconciler = DirectoryReconciler(transaction: tx, directory: directory, rules: rules, progress: progress, repairer: nil,
                                                 keysRememberedAtMost: keysRememberedAtMost)
            return try reconciler.run()
        }
    }

    /// Reconciles a mirror directory and repairs it from the database as it goes: missing,
    /// stale, mismatched and corrupt files are rewritten atomically (only those), orphaned
    /// temporary files at least a minute old are removed (younger ones may be writes in
    /// progress), and files whose key the database does not have are removed only when
    /// `removeExtra` is true and they are valid mirror files — never a file Tally did not
    /// write. A document whose database copy is corrupt is left alone.
    ///
    /// The files are written from the same read transaction the comparison reads. When the
    /// store writes through to a mirror (``Configuration/mirrorDirectory``), the repair
    /// holds the writer while it runs, so a commit cannot write a newer file that the
    /// repair then overwrites with an older one.
    ///
    /// - Parameters:
    ///   - directory: The mirror directory; it must exist (create a mirror with
    ///     ``mirror(to:progress:)-3oejo``).
    ///   - removeExtra: Also remove files of documents the database does not have.
    ///   - progress: Called every thousand documents or files.
    /// - Returns: What was found (as ``reconcile(against:rules:progress:)-443di`` would report it,
    ///   so it is not clean when anything was found) with
    ///   ``ReconcileReport/repairs`` saying what was done and what was left, and why.
    /// - Throws: ``TallyError/io(step:path:errno:)`` when the directory does not exist or a
    ///   file cannot be written or removed (files repaired before stay repaired), and
    ///   database errors.
    public func repair(mirror directory: String, removeExtra: Bool = false,
                       progress: (@Sendable (OperationProgress) -> Void)? = nil) throws(TallyError) -> ReconcileReport {
        try repair(mirror: directory, removeExtra: removeExtra, progress: progress, syscalls: .live)
    }

    /// ``repair(mirror:removeExtra:progress:)-269ox`` writing and removing files through
    /// `syscalls` (tests fail them part-way).
    func repair(mirror directory: String, removeExtra: Bool, progress: (@Sendable (OperationProgress) -> Void)?,
                syscalls: FileSyscalls) throws(TallyError) -> ReconcileReport {
        try DirectoryReconciler.checkDirectory(directory)
        let repairer = MirrorRepairer(directory: directory, removeExtra: removeExtra, syscalls: syscalls)
        return try readConsistently(onWriter: configuration.mirrorDirectory != nil && writer != nil) { (tx: Transaction) throws(TallyError) -> ReconcileReport in
            var reconciler = DirectoryReconciler(transaction: tx, directory: directory, rules: [], progress: progress,
                                                 repairer: repairer)
            return try reconciler.run()
        }
    }

    /// Checks the database on its own, in one read transaction: `PRAGMA integrity_check`,
    /// `PRAGMA foreign_key_check`, the ledger's hash chain, every state document's checksum
    /// (each corrupt document is reported, not only the first), `ledger_seq` references that
    /// name no event, and that `state_history` agrees with `state` (each key's latest
    /// history row has the document's version, checksum and status and is not a deletion;
    /// no key is live in the history but absent from `state`). Domain rules run against
    /// every document.
    ///
    /// A damaged database file gives a report whose ``VerifyReport/isCorrupt`` is true (the
    /// checks that could not read it say so) rather than an error, as far as SQLite lets
    /// the file be opened at all.
    ///
    /// - Parameters:
    ///   - rules: Domain rules to run against each document.
    ///   - checkpoints: Checkpoints kept outside the database (verified with their public
    ///     key, ``Checkpoint/init(signedNote:publicKey:)``): the ledger must still contain
    ///     exactly the events each one signed, else a `corrupt` finding. This is the check
    ///     a rewritten history fails even when the rewriter recomputed every hash.
    ///   - progress: Called per phase ("integrity", "ledger", "state") and every thousand
    ///     events or documents.
    /// - Throws: ``TallyError`` for errors that are not damage (e.g. a lock timeout), and
    ///   when SQLite cannot open the file at all (``TallyError/corruptDatabase(path:detail:)``
    ///   for a damaged file, ``TallyError/notATallyDatabase(path:reason:)`` for a file that
    ///   is not a database).
    public func verify(rules: [any DomainRule] = [], checkpoints: [Checkpoint] = [],
                       progress: (@Sendable (OperationProgress) -> Void)? = nil) throws(TallyError) -> VerifyReport {
        try readConsistently(onWriter: false) { (tx: Transaction) throws(TallyError) -> VerifyReport in
            var verifier = DatabaseVerifier(transaction: tx, rules: rules, checkpoints: checkpoints, progress: progress)
            return try verifier.run()
        }
    }

    /// Runs `body` inside one read transaction on a reader (or on the writer, holding it),
    /// ended with a rollback: unlike ``read(_:)`` it tolerates SQLite having ended the
    /// transaction itself after an error on a damaged file, where a COMMIT would fail and
    /// hide the report.
    private func readConsistently<T>(onWriter: Bool, _ body: (Transaction) throws(TallyError) -> T) throws(TallyError) -> T {
        func run(_ db: Connection) throws(TallyError) -> T {
            try db.begin(.deferred)
            defer { db.rollback() }
            let transaction = Transaction(connection: db, store: self, isReadOnly: true)
            defer { transaction.end() }
            return try body(transaction)
        }
        if onWriter { return try withWriter(run) }
        return try readers.withTypedConnection(run)
    }
}
