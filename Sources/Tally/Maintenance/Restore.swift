import Foundation
import Glibc

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
    /// - an exclusive ``FileLock`` on `databasePath + ".lock"` (short timeout), which
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
    /// locked this way; since no SQLite process can be using it, the ``FileLock`` alone
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
    /// - Throws: ``TallyError/corruptDatabase(path:detail:)`` or
    ///   ``TallyError/notATallyDatabase(path:reason:)`` for a bad backup (nothing changed),
    ///   ``TallyError/lockTimeout(path:seconds:)`` when the database is in use,
    ///   ``TallyError/io(step:path:errno:)`` for file errors.
    @discardableResult
    public static func restore(from backup: String, to databasePath: String) throws(TallyError) -> RestoreResult {
        guard !backup.isEmpty, !databasePath.isEmpty else {
            throw TallyError.invalidInput(field: "path", reason: "the backup and database paths must not be empty")
        }
        guard FileManager.default.fileExists(atPath: backup) else {
            throw TallyError.io(step: "open", path: backup, errno: ENOENT)
        }
        if let backupID = fileIdentity(backup), backupID == fileIdentity(databasePath) {
            throw TallyError.invalidInput(field: "backup", reason: "\(backup) is the database itself; name a backup file")
        }
        let verified = try verifyBackup(backup)

        let lockTimeout = 2.0
        let fileLock = try files { try FileLock(path: databasePath) }
        try files { try fileLock.lock(.exclusive, timeout: lockTimeout) }
        defer { try? fileLock.unlock() }

        let staged = try files { try AtomicFile.Staged.copy(of: backup, replacing: databasePath, permissions: 0o600) }
        defer { staged.discard() }
        try switchToWAL(staged.temporaryPath, displayPath: databasePath)
        // Held (and kept open) until the new file is in place; see the discussion above.
        let liveLock = try lockLiveDatabase(databasePath, timeout: lockTimeout)
        try files {
            try staged.publish(removingFirst: [databasePath + "-wal", databasePath + "-journal", databasePath + "-shm"])
        }
        if let liveLock {
            try? liveLock.execute("ROLLBACK")
        }
        return RestoreResult(databasePath: databasePath, backupPath: backup, events: verified.events,
                             documents: verified.documents, ledgerHeadSeq: verified.headSeq,
                             schemaVersion: verified.schemaVersion)
    }

    /// Verifies a backup file before anything relies on it.
    static func verifyBackup(_ backup: String) throws(TallyError) -> VerifiedDatabase {
        try checkHeader(backup)
        let connection: Connection
        do {
            connection = try Connection(path: backup, mode: .readOnly, busyTimeout: 1)
        } catch {
            throw TallyError(error, path: backup)
        }
        return try verifyDatabase(connection, displayPath: backup, progress: nil)
    }

    /// Refuses files that are not SQLite databases, and WAL-mode files whose `-wal` still
    /// holds commits: restore copies the main file only, so what was verified must be all
    /// there is. Backups made by ``backup(toDirectory:keep:progress:)`` are in DELETE mode.
    private static func checkHeader(_ path: String) throws(TallyError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TallyError.io(step: "open", path: path, errno: errno) }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 100)
        let count = header.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 100) }
        guard count >= 0 else { throw TallyError.io(step: "read", path: path, errno: errno) }
        guard count == 100, header.starts(with: Array("SQLite format 3\u{0}".utf8)) else {
            throw TallyError.notATallyDatabase(path: path, reason: count == 0 ? "the file is empty" : "it is not an SQLite database (no SQLite header)")
        }
        if header[18] == 2, let walSize = fileSize(path + "-wal"), walSize > 0 {
            throw TallyError.invalidInput(field: "backup", reason: "\(path) is in WAL mode and \(path)-wal holds \(walSize) bytes of commits that the file itself lacks (it looks like a live database, not a backup); make a backup with `tally backup DIR` and restore that")
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
            let connection = try Connection(path: path, mode: .readWrite, busyTimeout: 1)
            try connection.execute("PRAGMA locking_mode = EXCLUSIVE")
            mode = try connection.scalarText("PRAGMA journal_mode = WAL")
        } catch {
            removeSidecars(of: path)
            throw TallyError(error, path: displayPath)
        }
        // The connection is closed here; SQLite removed its -wal on close. Anything left
        // (an interrupted close) must not be published beside the database.
        removeSidecars(of: path)
        guard mode?.lowercased() == "wal" else {
            throw TallyError.io(step: "journal_mode=WAL", path: displayPath, errno: EIO)
        }
    }

    /// Takes SQLite's exclusive lock on the live database and empties its WAL into it;
    /// returns the connection holding the lock, or nil when there is no database to lock
    /// (missing, empty, or unreadable as SQLite).
    private static func lockLiveDatabase(_ path: String, timeout: Double) throws(TallyError) -> Connection? {
        guard let size = fileSize(path), size > 0 else { return nil }
        let connection: Connection
        do {
            connection = try Connection(path: path, mode: .readWrite, busyTimeout: timeout)
            try connection.execute("PRAGMA locking_mode = EXCLUSIVE")
        } catch {
            throw TallyError(error, path: path)
        }
        do {
            try connection.execute("BEGIN EXCLUSIVE")
            try connection.execute("COMMIT")
        } catch let error where error.isBusy {
            throw TallyError.lockTimeout(path: path, seconds: timeout)
        } catch let error where error.isCorruption {
            return nil  // unreadable as a database: nobody can be using it through SQLite
        } catch {
            throw TallyError(error, path: path)
        }
        do {
            // Someone else's intact SQLite database is not ours to overwrite.
            _ = try Migrator.embedded.status(of: connection)
        } catch let error {
            switch error {
            case .notATallyDatabase, .schemaTooNew: throw error
            default: break  // damaged Tally database: replacing it is the point
            }
        }
        do {
            let mode = try connection.scalarText("PRAGMA journal_mode = OFF")
            guard mode?.lowercased() == "off" else {
                throw TallyError.lockTimeout(path: path, seconds: timeout)
            }
            try connection.execute("BEGIN EXCLUSIVE")
        } catch let error as SQLiteError where error.isBusy {
            throw TallyError.lockTimeout(path: path, seconds: timeout)
        } catch let error as SQLiteError where error.isCorruption {
            return nil
        } catch let error as SQLiteError {
            throw TallyError(error, path: path)
        } catch {
            throw tallyError(error, path: path)
        }
        return connection
    }

    /// Device and inode of the file at `path`, to recognize the same file under two names.
    private static func fileIdentity(_ path: String) -> [UInt64]? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return [UInt64(info.st_dev), UInt64(info.st_ino)]
    }
}
