import Foundation

/// What ``Store/backup(toDirectory:keep:progress:)`` wrote.
public struct BackupResult: Sendable, Codable, Equatable {
    /// The published backup file, `DIR/tally-YYYYMMDDTHHMMSSZ.db`.
    public var path: String
    /// Its size in bytes.
    public var bytes: Int64
    /// Database pages copied.
    public var pages: Int64
    /// Ledger events in the backup (all verified through the hash chain).
    public var events: Int64
    /// State documents in the backup.
    public var documents: Int64
    /// The backup's ledger head.
    public var ledgerHeadSeq: Int64
    /// That event's hash.
    public var ledgerHeadHash: String
    /// Older backups removed by rotation (`keep`), oldest first.
    public var removed: [String]

    enum CodingKeys: String, CodingKey {
        case path, bytes, pages, events, documents, removed
        case ledgerHeadSeq = "ledger_head_seq", ledgerHeadHash = "ledger_head_hash"
    }
}

/// What ``Store/restore(from:to:)`` put in place.
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

    enum CodingKeys: String, CodingKey {
        case events, documents
        case databasePath = "database_path", backupPath = "backup_path"
        case ledgerHeadSeq = "ledger_head_seq", schemaVersion = "schema_version"
    }
}

/// The names of backup files, `tally-YYYYMMDDTHHMMSSZ.db`, and `tally-YYYYMMDDTHHMMSSZ-N.db`
/// for the N-th extra backup within the same second. Rotation only ever touches names of
/// exactly this shape.
public enum BackupName {
    /// The name for a backup taken at `date`, with `sequence` > 1 for a same-second repeat.
    public static func make(at date: Date, sequence: Int = 1) -> String {
        var seconds = time_t(floor(date.timeIntervalSince1970))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let stamp = String(format: "%04d%02d%02dT%02d%02d%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                           Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
        return sequence > 1 ? "tally-\(stamp)-\(sequence).db" : "tally-\(stamp).db"
    }

    /// The sort key of a backup name (timestamp, then sequence), or nil when `name` is not
    /// exactly a backup name. Plain string order would put `…Z-2.db` before `…Z.db`.
    public static func parse(_ name: String) -> (stamp: String, sequence: Int)? {
        let bytes = Array(name.utf8)
        // "tally-" + 8 digits + "T" + 6 digits + "Z" = 22 bytes, then ".db" or "-N.db".
        guard bytes.count >= 25, name.hasPrefix("tally-"), name.hasSuffix(".db") else { return nil }
        let stamp = Array(bytes[6..<22])
        for (index, byte) in stamp.enumerated() {
            switch index {
            case 8: guard byte == UInt8(ascii: "T") else { return nil }
            case 15: guard byte == UInt8(ascii: "Z") else { return nil }
            default: guard (0x30...0x39).contains(byte) else { return nil }
            }
        }
        let tail = bytes[22..<(bytes.count - 3)]
        var sequence = 1
        if !tail.isEmpty {
            guard tail.first == UInt8(ascii: "-"), tail.count >= 2, tail.count <= 7,
                  tail.dropFirst().allSatisfy({ (0x30...0x39).contains($0) }), tail.dropFirst().first != UInt8(ascii: "0"),
                  let number = Int(String(decoding: tail.dropFirst(), as: UTF8.self)), number >= 2
            else { return nil }
            sequence = number
        }
        return (String(decoding: stamp, as: UTF8.self), sequence)
    }
}

extension Store {
    /// Copies the database into `directory` as `tally-YYYYMMDDTHHMMSSZ.db`: a consistent,
    /// verified, self-contained file that appears whole or not at all.
    ///
    /// 1. SQLite's online backup copies the pages into a temporary file `.NAME.tmp-XXXXXX`
    ///    in `directory` (a consistent snapshot, while other connections go on writing).
    /// 2. The copy is switched to `journal_mode=DELETE`, so it is one file with no `-wal`,
    ///    usable by `sqlite3` and by ``restore(from:to:)`` as it is.
    /// 3. The copy is verified: `PRAGMA integrity_check` must say `ok`, it must be a Tally
    ///    database this build can read, and its ledger hash chain must be intact. A copy
    ///    that fails is deleted, never published.
    /// 4. It is published atomically (fsync, rename, fsync of the directory).
    /// 5. With `keep`, only the newest `keep` backups in `directory` are kept; files whose
    ///    names are not backup names (``BackupName``) are never touched.
    ///
    /// - Parameters:
    ///   - directory: Where backups live; created if missing.
    ///   - keep: How many backups to keep, this one included (nil keeps all; at least 1).
    ///   - progress: Called with phase `backup` (pages) and `verify` (events).
    /// - Throws: ``TallyError/io(step:path:errno:)`` for file errors,
    ///   ``TallyError/corruptDatabase(path:detail:)`` when the copy fails verification (the
    ///   database itself is damaged: run `tally verify`), SQLite errors for the copy itself.
    @discardableResult
    public func backup(toDirectory directory: String, keep: Int? = nil,
                       progress: (@Sendable (Progress) -> Void)? = nil) throws(TallyError) -> BackupResult {
        if let keep, keep < 1 {
            throw TallyError.invalidInput(field: "keep", reason: "\(keep) would delete the backup just made; keep at least 1")
        }
        let staged = try Self.files { () throws -> AtomicFile.Staged in
            let now = Date()
            var sequence = 1
            while FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(BackupName.make(at: now, sequence: sequence))) {
                sequence += 1
            }
            return try AtomicFile.Staged(replacing: (directory as NSString).appendingPathComponent(BackupName.make(at: now, sequence: sequence)), permissions: 0o600)
        }
        var result: BackupResult
        do {
            result = try copyAndVerify(into: staged.temporaryPath, publishedAs: staged.path, progress: progress)
            // SQLite may have left the copy's own sidecars if a step failed midway; after a
            // successful switch to DELETE there are none, and publish fsyncs what SQLite wrote.
            try Self.files { try staged.publish() }
        } catch {
            staged.discard()
            Self.removeSidecars(of: staged.temporaryPath)
            throw error
        }
        result.bytes = Self.fileSize(staged.path) ?? 0
        if let keep {
            result.removed = try Self.rotateBackups(in: directory, keep: keep)
        }
        return result
    }

    private func copyAndVerify(into temporary: String, publishedAs finalPath: String,
                               progress: (@Sendable (Progress) -> Void)?) throws(TallyError) -> BackupResult {
        let destination: Connection
        do {
            destination = try Connection(path: temporary, mode: .readWrite, busyTimeout: 1)
            // Exclusive locking keeps SQLite's WAL index in memory (no `-shm` beside the
            // temporary file); journal OFF because a failed copy is thrown away anyway, and it
            // avoids a `-journal` sidecar the sweeper would not recognize.
            try destination.execute("PRAGMA locking_mode = EXCLUSIVE")
            _ = try destination.scalarText("PRAGMA journal_mode = OFF")
        } catch {
            throw TallyError(error, path: temporary)
        }
        var pages: Int64 = 0
        // One read transaction around every step: the copy is one consistent snapshot, and
        // commits by other connections cannot make SQLite restart the copy midway.
        try readTyped { source in
            _ = try source.scalarInt("SELECT count(*) FROM sqlite_schema")
            try source.backup(to: destination, pagesPerStep: 1024) { remaining, total in
                pages = Int64(total)
                progress?(Progress(phase: "backup", done: Int64(total - remaining), total: Int64(total)))
            }
        }
        do {
            // The copied header says WAL (the source's mode); DELETE makes the file self-contained.
            let mode = try destination.scalarText("PRAGMA journal_mode = DELETE")
            guard mode?.lowercased() == "delete" else {
                throw TallyError.corruptDatabase(path: finalPath, detail: "the backup copy could not be switched to journal_mode=DELETE (it reports \(mode ?? "nothing"))")
            }
        } catch let error as SQLiteError {
            throw TallyError(error, path: temporary)
        } catch {
            throw Self.tallyError(error, path: temporary)
        }
        let verified = try Self.verifyDatabase(destination, displayPath: finalPath, progress: progress)
        return BackupResult(path: finalPath, bytes: 0, pages: pages, events: verified.events, documents: verified.documents,
                            ledgerHeadSeq: verified.headSeq, ledgerHeadHash: verified.headHash, removed: [])
    }

    /// What a verified database holds.
    struct VerifiedDatabase {
        var events: Int64
        var documents: Int64
        var headSeq: Int64
        var headHash: String
        var schemaVersion: Int
    }

    /// Checks a database copy before anyone relies on it: `integrity_check`, that it is a
    /// Tally database this build can read with no migration pending, and the ledger chain.
    /// Everything is reported against `displayPath`, the name people know the file by.
    static func verifyDatabase(_ db: Connection, displayPath: String,
                               progress: (@Sendable (Progress) -> Void)?) throws(TallyError) -> VerifiedDatabase {
        do {
            let integrity = try db.rows("PRAGMA integrity_check(20)").compactMap { row -> String? in
                if case let .text(text)? = row.first { return text }
                return nil
            }
            guard integrity == ["ok"] else {
                throw TallyError.corruptDatabase(path: displayPath, detail: "PRAGMA integrity_check reports: \(integrity.prefix(3).joined(separator: "; "))")
            }
            let status = try Migrator.embedded.status(of: db)
            guard !status.isEmpty else {
                throw TallyError.notATallyDatabase(path: displayPath, reason: "it holds no Tally schema")
            }
            guard status.pending.isEmpty else {
                throw TallyError.migrationPending(path: displayPath, current: status.applied.last?.version ?? 0,
                                                  latest: Migrator.embedded.latestVersion)
            }
            let total = try db.scalarInt("SELECT count(*) FROM ledger") ?? 0
            progress?(Progress(phase: "verify", done: 0, total: total))
            let chain = try db.transaction(.deferred) {
                try LedgerTable.verifyChain(on: db) { seq in progress?(Progress(phase: "verify", done: seq, total: total)) }
            }
            if let broken = chain.firstBreak {
                throw TallyError.corruptDatabase(path: displayPath, detail: broken.description)
            }
            progress?(Progress(phase: "verify", done: chain.eventsChecked, total: total))
            let documents = try db.scalarInt("SELECT count(*) FROM state") ?? 0
            return VerifiedDatabase(events: chain.eventsChecked, documents: documents, headSeq: chain.headSeq,
                                    headHash: chain.headHash, schemaVersion: status.applied.last?.version ?? 0)
        } catch let error as TallyError {
            throw Self.renamed(error, to: displayPath)
        } catch let error as SQLiteError {
            throw TallyError(error, path: displayPath)
        } catch {
            throw TallyError.corruptDatabase(path: displayPath, detail: "\(error)")
        }
    }

    /// Errors about a temporary copy should name the file people know.
    private static func renamed(_ error: TallyError, to path: String) -> TallyError {
        switch error {
        case let .corruptDatabase(_, detail): return .corruptDatabase(path: path, detail: detail)
        case let .notATallyDatabase(_, reason): return .notATallyDatabase(path: path, reason: reason)
        case let .schemaTooNew(_, found, known): return .schemaTooNew(path: path, found: found, known: known)
        default: return error
        }
    }

    /// Keeps the newest `keep` backup files in `directory`; returns the removed paths.
    static func rotateBackups(in directory: String, keep: Int) throws(TallyError) -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw TallyError.io(step: "read", path: directory, errno: Self.errnoOf(error))
        }
        let backups = names.compactMap { name in BackupName.parse(name).map { (name, $0) } }
            .sorted { ($0.1.stamp, $0.1.sequence) > ($1.1.stamp, $1.1.sequence) }
        var removed: [String] = []
        for (name, _) in backups.dropFirst(keep).reversed() {
            let path = (directory as NSString).appendingPathComponent(name)
            // Only regular files: a directory or link that happens to carry the name is not ours.
            var info = stat()
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            try files { try AtomicFile.remove(path) }
            removed.append(path)
        }
        return removed
    }

    /// Runs a `Files/` operation, whose errors are ``TallyError`` already.
    @discardableResult
    static func files<T>(_ body: () throws -> T) throws(TallyError) -> T {
        do {
            return try body()
        } catch let error as TallyError {
            throw error
        } catch {
            throw TallyError.invalidInput(field: "file operation", reason: "\(error)")
        }
    }

    static func removeSidecars(of path: String) {
        for suffix in ["-wal", "-shm", "-journal"] { _ = try? AtomicFile.remove(path + suffix) }
    }

    static func fileSize(_ path: String) -> Int64? {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : nil
    }

    static func errnoOf(_ error: any Error) -> Int32 {
        let nsError = error as NSError
        if nsError.domain == NSPOSIXErrorDomain { return Int32(nsError.code) }
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return Int32(underlying.code)
        }
        switch nsError.code {
        case NSFileReadNoSuchFileError, NSFileNoSuchFileError: return ENOENT
        case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: return EACCES
        default: return EIO
        }
    }
}
