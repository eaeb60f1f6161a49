extension Store {
    /// Replaces the database at `databasePath` with the backup at `backup`, atomically and
    /// only after the backup has been verified.
    ///
    /// ## Verification first
    ///
    /// The backup is opened read-only and must pass `PRAGMA integrity_check`, be a Tally
    /// database this build can read without migrating, and have an intact ledger chain. A
    /// backup that fails is refused and nothing else happens: the database is not touched.
    /// A WAL-mode file whose `-wal` still holds commits (a live database, not a backup) is
    /// refused too, since only the main file would be copied.
    ///
    /// ## Refusing while the database is in use
    ///
    /// Two locks, because neither alone is enough:
    ///
    /// - an exclusive file lock on `databasePath + ".lock"` (short timeout), which
    ///   serializes restores against each other, including restores of a file SQLite
    ///   cannot read (where the second lock is not available);
    /// - SQLite's own lock on the live file, taken with `PRAGMA locking_mode=EXCLUSIVE`
    ///   then `BEGIN EXCLUSIVE` with a short busy timeout. In WAL mode a plain
    ///   `BEGIN EXCLUSIVE` (or a `wal_checkpoint(TRUNCATE)`) succeeds while other processes
    ///   merely have the database open, idle, and they would go on using the replaced file.
    ///   Exclusive locking mode needs an exclusive lock on the database file itself, which
    ///   every other open WAL connection blocks by holding a shared one, so it fails with
    ///   `SQLITE_BUSY` whenever anyone else has the file open — even idle — which is exactly
    ///   the condition under which replacing it is unsafe. That failure becomes
    ///   ``TallyError/lockTimeout(path:seconds:)``.
    ///
    /// Holding that lock, the live database is switched to `journal_mode=OFF`: SQLite
    /// checkpoints the WAL into the file and deletes it, so nothing is lost from the old
    /// file, and — because our connection then has neither a WAL nor a journal — closing it
    /// after the swap cannot delete a sidecar by name that a new opener of the restored
    /// file might have created. The lock is held until the new file is in place.
    ///
    /// A live file that SQLite cannot read at all (damaged header, random bytes) cannot be
    /// locked this way; since no SQLite process can be using it, the file lock alone
    /// guards the swap. An intact SQLite database that is not a Tally database is refused.
    ///
    /// ## Crash safety of the swap
    ///
    /// 1. The backup is copied to a temporary file beside the database and fsynced (a
    ///    temporary name the sweeper knows).
    /// 2. The old database's `-wal`, `-journal` and `-shm` are removed and the directory is
    ///    fsynced. They must go before the rename: a restored file paired with the old
    ///    file's WAL or hot journal would have foreign pages replayed into it. Removing
    ///    them first loses nothing, since the WAL was checkpointed in the step above (and
    ///    if the old file was unreadable, it is being thrown away).
    /// 3. The temporary file is renamed over the database and the directory fsynced.
    ///
    /// A crash before step 3 leaves the old database (complete: its WAL was checkpointed)
    /// plus an orphaned temporary file; a crash after it leaves the restored database. Never
    /// a mixture. The copy is switched to WAL mode before step 2 (backups are in DELETE
    /// mode), so the restored database is exactly as a cleanly closed Tally database.
    ///
    /// - Parameters:
    ///   - backup: A file written by ``backup(toDirectory:keep:progress:)`` (or any
    ///     verified Tally database copy).
    ///   - databasePath: The database to replace; created if it does not exist.
    ///   - options: Whether events the backup lacks may be discarded, and whether the
    ///     replaced database is kept beside it.
    /// - Throws: ``TallyError/corruptDatabase(path:detail:)`` or
    ///   ``TallyError/notATallyDatabase(path:reason:)`` for a bad backup (nothing changed),
    ///   ``TallyError/lockTimeout(path:seconds:)`` when the database is in use,
    ///   ``TallyError/io(step:path:errno:)`` for file errors.
    @discardableResult
    public static func restore(from backup: String, to databasePath: String,
                               options: Store.RestoreOptions = Store.RestoreOptions()) throws(TallyError) -> Store.RestoreResult {
        try restore(from: backup, to: databasePath, options: options, syscalls: .live)
    }

    /// ``restore(from:to:options:)`` through the given system calls (the power-loss tests
    /// record them; SQLite's own writes to the staged copy do not pass through them).
    @discardableResult
    package static func restore(from backup: String, to databasePath: String, options: Store.RestoreOptions,
                                syscalls: FileSyscalls) throws(TallyError) -> Store.RestoreResult {
        guard !backup.isEmpty, !databasePath.isEmpty else {
            throw TallyError.invalidInput(field: "path", reason: "the backup and database paths must not be empty")
        }
        try checkDatabasePath(databasePath, creating: true)
        if let backupID = fileIdentity(backup), backupID == fileIdentity(databasePath) {
            throw TallyError.invalidInput(field: "backup", reason: "\(backup) is the database itself; name a backup file")
        }
        let verified = try verifyBackup(backup)

        let lockTimeout = 2.0
        let fileLock = try FileLock(path: databasePath)
        try fileLock.lock(.exclusive, timeout: lockTimeout)
        defer { try? fileLock.unlock() }

        // The restored file keeps the live file's permissions (0600 for a new one).
        let permissions: UInt32
        if case let .success(info) = System.statInfo(databasePath) { permissions = info.permissions } else { permissions = 0o600 }
        let staged = try AtomicFile.Staged.copy(of: backup, replacing: databasePath, permissions: permissions,
                                                syscalls: syscalls)
        defer { staged.discard() }
        try switchToWAL(staged.temporaryPath, displayPath: databasePath)
        // Held (and kept open) until the new file is in place; see the discussion above.
        let liveLock = try lockLiveDatabase(databasePath, timeout: lockTimeout)
        var discarded: Int64 = 0
        if let liveLock {
            discarded = try eventsDiscarded(live: liveLock, backupHead: verified.headSeq, backupHash: verified.headHash,
                                            databasePath: databasePath, backup: backup, force: options.force)
        }
        // Keep the database being replaced, complete (its WAL was checkpointed into it
        // above), under a name of its own beside it.
        var replacedPath: String?
        if options.keepReplaced, liveLock != nil {
            replacedPath = try keepReplacedCopy(of: databasePath, syscalls: syscalls)
        }
        try staged.publish(removingFirst: [databasePath + "-wal", databasePath + "-journal", databasePath + "-shm"])
        if let liveLock { liveLock.rollback() }
        return Store.RestoreResult(databasePath: databasePath, backupPath: backup, events: verified.events,
                             documents: verified.documents, ledgerHeadSeq: verified.headSeq,
                             schemaVersion: verified.schemaVersion, eventsDiscarded: discarded, replacedPath: replacedPath)
    }

    /// How many events the live database has beyond the backup's head; throws unless
    /// `force` when that is more than none, or when its chain disagrees with the backup's.
    private static func eventsDiscarded(live db: Connection, backupHead: Int64, backupHash: String,
                                        databasePath: String, backup: String, force: Bool) throws(TallyError) -> Int64 {
        let liveHead: (seq: Int64, hash: String)
        let hashAtBackupHead: String?
        do throws(TallyError) {
            liveHead = try LedgerTable.head(on: db)
            hashAtBackupHead = backupHead == 0 ? Digest.zeroHash : try LedgerTable.event(seq: backupHead, on: db)?.hash
        } catch where error.isCorruption || error.sqliteError != nil {
            return 0  // a damaged database has nothing Tally can count; replacing it is the point
        }
        let ahead = max(0, liveHead.seq - backupHead)
        let diverged = liveHead.seq >= backupHead && hashAtBackupHead != backupHash
        guard (ahead > 0 || diverged) && !force else { return ahead }
        if diverged {
            throw TallyError.dataWouldBeLost(
                path: databasePath,
                detail: "its ledger (head seq \(liveHead.seq)) is not an extension of the backup's (head seq \(backupHead)): "
                    + "the two histories differ at or before seq \(backupHead), so restoring \(backup) replaces history")
        }
        throw TallyError.dataWouldBeLost(
            path: databasePath,
            detail: "it is ahead of \(backup) by \(ahead) event\(ahead == 1 ? "" : "s") (head seq \(liveHead.seq) vs \(backupHead)); "
                + "restoring discards them")
    }

    /// Hard-links the database being replaced to `PATH.replaced-YYYYMMDDTHHMMSS.mmmZ` (a
    /// copy where links are impossible) and fsyncs the directory; returns that path.
    private static func keepReplacedCopy(of databasePath: String, syscalls: FileSyscalls) throws(TallyError) -> String? {
        guard FileOperations.size(of: databasePath) != nil else { return nil }
        let now = Int64((Clock.secondsSince1970() * 1000).rounded(.down))
        let stamp = Timestamp.format(millisecondsSince1970: now).filter { $0 != "-" && $0 != ":" }
        let operations = FileOperations(syscalls: syscalls)
        for sequence in 1...1000 {
            let candidate = databasePath + ".replaced-" + stamp + (sequence > 1 ? "-\(sequence)" : "")
            let linked = FileSyscalls.retryingEINTR { syscalls.link(databasePath, candidate) }
            if linked == -Errno.fileExists.rawValue { continue }
            if linked < 0 {
                // No hard links here (vfat, some network mounts): copy instead.
                let copy = try AtomicFile.Staged.copy(of: databasePath, replacing: candidate, syscalls: syscalls)
                try copy.publish()
                return candidate
            }
            try operations.syncDirectory(FileOperations.split(databasePath).directory)
            return candidate
        }
        return nil
    }

    /// Verifies a backup file before anything relies on it.
    static func verifyBackup(_ backup: String) throws(TallyError) -> VerifiedDatabase {
        do {
            try checkHeader(backup)
            let connection = try SQLiteConnection(path: backup, mode: .readOnly, busyTimeout: 1)
            return try verifyDatabase(connection, displayPath: backup, progress: nil)
        } catch let .notATallyDatabase(_, reason) {
            // Said of the backup, so that no one is told to fix the database being restored.
            throw TallyError.invalidInput(field: "backup", reason: "\(backup) is not a Tally backup: \(reason); name a file a Tally backup wrote")
        }
    }

    /// Refuses files that are not SQLite databases, and WAL-mode files whose `-wal` still
    /// holds commits: restore copies the main file only, so what was verified must be all
    /// there is. Backups made by ``backup(toDirectory:keep:progress:)`` are in DELETE mode.
    private static func checkHeader(_ path: String) throws(TallyError) {
        let operations = FileOperations(syscalls: .live)
        guard let info = try operations.fileInfo(path) else {
            throw TallyError.io(step: "open", path: path, errno: Errno.noSuchFile.rawValue)
        }
        guard info.kind == .regular else { throw FileOperations.unsafe(path, info.kind) }
        let fd = FileSyscalls.retryingEINTR { FileSyscalls.live.open(path, [.readOnly, .noFollow], 0) }
        guard fd >= 0 else { throw TallyError.io(step: "open", path: path, errno: -fd) }
        defer { _ = FileSyscalls.live.close(fd) }
        var header = [UInt8](repeating: 0, count: 100)
        let count = header.withUnsafeMutableBytes { FileSyscalls.live.read(fd, $0) }
        guard count >= 0 else { throw TallyError.io(step: "read", path: path, errno: Int32(-count)) }
        guard count == 100, header.starts(with: Array("SQLite format 3\u{0}".utf8)) else {
            throw TallyError.notATallyDatabase(path: path, reason: count == 0 ? "the file is empty" : "it is not an SQLite database (no SQLite header)")
        }
        if header[18] == 2, let walSize = FileOperations.size(of: path + "-wal"), walSize > 0 {
            throw TallyError.invalidInput(field: "backup", reason: "\(path) is in WAL mode and \(path)-wal holds \(walSize) bytes of commits that the file itself lacks (it looks like a live database, not a backup); make a backup with Store.backup(toDirectory:) and restore that")
        }
    }

    /// Puts the staged copy in WAL mode before it goes live. Backups are in DELETE mode, and
    /// in that mode an idle connection holds no lock at all, so a restore right after this
    /// one could not see it; in WAL mode every open connection holds a shared lock that
    /// ``lockLiveDatabase(_:timeout:)`` detects. Exclusive locking keeps the WAL index in
    /// memory, and closing the connection checkpoints and deletes the temporary `-wal`.
    private static func switchToWAL(_ path: String, displayPath: String) throws(TallyError) {
        var mode: String?
        do {
            let connection = try SQLiteConnection(path: path, mode: .readWrite, busyTimeout: 1)
            try connection.execute("PRAGMA locking_mode = EXCLUSIVE")
            mode = try connection.scalarText("PRAGMA journal_mode = WAL")
        } catch {
            removeSidecars(of: path)
            throw error.renamingPath(to: displayPath)
        }
        // The connection is closed here; SQLite removed its -wal on close. Anything left
        // (an interrupted close) must not be published beside the database.
        removeSidecars(of: path)
        guard mode?.lowercased() == "wal" else {
            throw TallyError.io(step: "journal_mode=WAL", path: displayPath, errno: Errno.ioError.rawValue)
        }
    }

    /// Takes SQLite's exclusive lock on the live database and empties its WAL into it;
    /// returns the connection holding the lock, or nil when there is no database to lock
    /// (missing, empty, or unreadable as SQLite).
    private static func lockLiveDatabase(_ path: String, timeout: Double) throws(TallyError) -> Connection? {
        guard let size = FileOperations.size(of: path), size > 0 else { return nil }
        let connection = try SQLiteConnection(path: path, mode: .readWrite, busyTimeout: timeout)
        try connection.execute("PRAGMA locking_mode = EXCLUSIVE")
        do throws(TallyError) {
            try connection.begin(.exclusive)
            try connection.commit()
        } catch where error.isBusy {
            // Replacing the file under a replicator corrupts its replica: say so, by name.
            if let replicator = ReplicatorProbe.replicator(of: path) {
                throw TallyError.replicatorAttached(path: path, operation: "replacing the database (restore)",
                                                    process: replicator.command, pid: replicator.pid)
            }
            throw TallyError.lockTimeout(path: path, seconds: timeout)
        } catch where error.isCorruption {
            return nil  // unreadable as a database: nobody can be using it through SQLite
        } catch {
            if case .notATallyDatabase = error { return nil }
            throw error
        }
        do {
            // Someone else's intact SQLite database is not ours to overwrite.
            _ = try Migrator.embedded.status(of: connection)
        } catch {
            switch error {
            case .notATallyDatabase, .schemaTooNew: throw error
            default: break  // a damaged Tally database: replacing it is the point
            }
        }
        do throws(TallyError) {
            let mode = try connection.scalarText("PRAGMA journal_mode = OFF")
            guard mode?.lowercased() == "off" else {
                throw TallyError.lockTimeout(path: path, seconds: timeout)
            }
            try connection.begin(.exclusive)
        } catch where error.isBusy {
            throw TallyError.lockTimeout(path: path, seconds: timeout)
        } catch where error.isCorruption {
            return nil
        }
        return connection
    }

    /// Device and inode of the file at `path`, to recognize the same file under two names.
    private static func fileIdentity(_ path: String) -> [UInt64]? {
        guard case let .success(info) = System.statInfo(path) else { return nil }
        return [info.device, info.inode]
    }
}

extension Store {
    /// How ``Store/restore(from:to:options:)`` treats the database it replaces.
    public struct RestoreOptions: Sendable, Equatable {
        /// Restore even when the database has events the backup lacks (they are discarded), or
        /// a history that differs from the backup's. Off by default: such a restore throws
        /// ``TallyError/dataWouldBeLost(path:detail:)`` and changes nothing.
        public var force = false
        /// Keep the replaced database beside it as `PATH.replaced-YYYYMMDDTHHMMSS.mmmZ` (the
        /// default), so even a forced restore loses nothing for good.
        public var keepReplaced = true

        /// The defaults: refuse to discard events, keep the replaced database.
        public init() {}
    }
}

extension Store {
    /// What ``Store/restore(from:to:options:)`` put in place.
    public struct RestoreResult: Sendable, Codable, Equatable {
        /// The database file that was replaced (or created).
        public var databasePath: String
        /// The backup it came from.
        public var backupPath: String
        /// Ledger events in the restored database.
        public var events: Int64
        /// State documents in the restored database.
        public var documents: Int64
        /// The restored ledger head.
        public var ledgerHeadSeq: Int64
        /// Schema version of the restored database.
        public var schemaVersion: Int
        /// Events the replaced database had beyond the backup's head (with ``Store/RestoreOptions/force``).
        public var eventsDiscarded: Int64
        /// Where the replaced database was kept, if there was one.
        public var replacedPath: String?

        enum CodingKeys: String, CodingKey {
            case events, documents
            case databasePath = "database_path", backupPath = "backup_path"
            case ledgerHeadSeq = "ledger_head_seq", schemaVersion = "schema_version"
            case eventsDiscarded = "events_discarded", replacedPath = "replaced_path"
        }

        /// Encodes every member, writing `null` for an absent ``replacedPath``.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(databasePath, forKey: .databasePath)
            try container.encode(backupPath, forKey: .backupPath)
            try container.encode(events, forKey: .events)
            try container.encode(documents, forKey: .documents)
            try container.encode(ledgerHeadSeq, forKey: .ledgerHeadSeq)
            try container.encode(schemaVersion, forKey: .schemaVersion)
            try container.encode(eventsDiscarded, forKey: .eventsDiscarded)
            try container.encode(replacedPath, forKey: .replacedPath)
        }
    }
}
