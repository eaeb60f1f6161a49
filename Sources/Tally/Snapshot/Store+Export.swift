

extension Store {
    /// Writes a snapshot of the database to `path`, atomically: the file appears complete or
    /// not at all, and an existing file is replaced only once the new one is durable.
    ///
    /// The snapshot is read in one read transaction, so it is consistent (its ledger head,
    /// documents and events belong together) even while other threads and processes write.
    /// Memory stays flat: rows are streamed to the file. Every document's checksum and every
    /// event's hash are verified on the way, so a damaged database is never exported as if
    /// it were intact.
    ///
    /// - Throws: ``TallyError/corruptState(key:expected:actual:)`` or
    ///   ``TallyError/corruptDatabase(path:detail:)`` for damaged data,
    ///   ``TallyError/io(step:path:errno:)`` for file errors. The target is untouched on error.
    @discardableResult
    public func exportSnapshot(to path: String, options: Store.ExportOptions = Store.ExportOptions(),
                               progress: (@Sendable (OperationProgress) -> Void)? = nil) throws(TallyError) -> Store.ExportSummary {
        try exportSnapshot(to: path, options: options, progress: progress, syscalls: .live)
    }

    /// ``exportSnapshot(to:options:progress:)-2nwgz`` through the given system calls (the power-loss
    /// tests record them).
    @discardableResult
    package func exportSnapshot(to path: String, options: Store.ExportOptions,
                                progress: (@Sendable (OperationProgress) -> Void)?,
                                syscalls: FileSyscalls) throws(TallyError) -> Store.ExportSummary {
        try FileOperations.requireNotDirectory(path, field: "path")
        let writer = try AtomicFile.Writer(path: path, permissions: options.permissions, backups: options.keepPrevious,
                                           syscalls: syscalls)
        do throws(TallyError) {
            var summary = try exportSnapshot(options: options, progress: progress) { (bytes) throws(TallyError) in
                try writer.write(bytes)
            }
            try writer.commit()
            summary.path = writer.path
            return summary
        } catch {
            writer.discard()
            throw error
        }
    }

    /// Streams a snapshot to `write` instead of a file: to standard output, a socket, an
    /// upload. The bytes are exactly a snapshot file's, but nothing makes the destination
    /// atomic: a failure half-way leaves it holding a snapshot without its end record, which
    /// import refuses.
    ///
    /// - Parameters:
    ///   - options: What to include (the ledger, a key prefix).
    ///   - progress: Called every thousand records with the counts so far.
    ///   - write: Receives the snapshot's bytes in order; its error stops the export.
    @discardableResult
    public func exportSnapshot(options: Store.ExportOptions = Store.ExportOptions(),
                               progress: (@Sendable (OperationProgress) -> Void)? = nil,
                               write: (UnsafeRawBufferPointer) throws(TallyError) -> Void) throws(TallyError) -> Store.ExportSummary {
        try withoutActuallyEscaping(write) { (sink) throws(TallyError) -> Store.ExportSummary in
            try readTransaction { (db: Connection) throws(TallyError) -> Store.ExportSummary in
                var writer = SnapshotWriter(databasePath: path, write: sink)
                return try writer.write(db: db, options: options, progress: progress)
            }
        }
    }
}

extension Store {
    /// What to put in a snapshot.
    public struct ExportOptions: Sendable {
        /// Include the ledger's events (default). Without them the snapshot holds state only
        /// and cannot prove the chain.
        public var includeLedger = true
        /// Only state documents whose key starts with this prefix ("" = all).
        public var keyPrefix = ""
        /// The snapshot file's permissions.
        public var permissions: UInt32 = 0o600
        /// Keep this many previous snapshots at the same path as `PATH.bak.1` (newest) … `PATH.bak.N`,
        /// rotated when the new one is published; 0 (the default) keeps none.
        public var keepPrevious = 0

        /// All documents and the whole ledger, mode 0600, no previous copies kept.
        public init() {}
    }
}

extension Store {
    /// What an export wrote.
    public struct ExportSummary: Sendable, Codable, Equatable {
        /// The snapshot file ("-" for a stream).
        public var path: String
        /// State records written.
        public var documents: Int64
        /// Event records written.
        public var events: Int64
        /// Consumer records written (their positions).
        public var consumers: Int64 = 0
        /// The snapshot's size in bytes.
        public var bytes: Int64
        /// The ledger head the snapshot is consistent with.
        public var ledgerHeadSeq: Int64
        /// That event's hash.
        public var ledgerHeadHash: String
        /// The digest in the trailer: SHA-256 of every byte before it.
        public var sha256: String

        enum CodingKeys: String, CodingKey {
            case path, documents, events, consumers, bytes, sha256
            case ledgerHeadSeq = "ledger_head_seq", ledgerHeadHash = "ledger_head_hash"
        }
    }
}
