#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The names of backup files: `tally-YYYYMMDDTHHMMSS.mmmZ.db`, and `…Z-N.db` for the N-th
/// backup within the same millisecond. Names sort by creation time; rotation only ever
/// touches names of exactly this shape (and the older second-resolution `tally-…Z.db` ones).
package enum BackupName {
    /// The name for a backup taken at `milliseconds` since 1970, with `sequence` > 1 for a
    /// repeat within the same millisecond.
    package static func make(milliseconds: Int64, sequence: Int = 1) -> String {
        let stamp = Timestamp.format(millisecondsSince1970: milliseconds)  // 2026-11-23T08:30:20.249Z
        let compact = stamp.filter { $0 != "-" && $0 != ":" }  // 20261123T083020.249Z
        return sequence > 1 ? "tally-\(compact)-\(sequence).db" : "tally-\(compact).db"
    }

    /// The creation order of a backup name (milliseconds, then sequence), or nil when `name`
    /// is not exactly a backup name.
    package static func parse(_ name: String) -> (milliseconds: Int64, sequence: Int)? {
        let bytes = Array(name.utf8)
        guard bytes.count >= 25, name.hasPrefix("tally-"), name.hasSuffix(".db") else { return nil }
        var index = 6
        func digits(_ count: Int) -> Int64? {
            guard index + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[index..<(index + count)] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - 0x30)
            }
            index += count
            return value
        }
        func expect(_ character: Character) -> Bool {
            guard index < bytes.count, bytes[index] == character.asciiValue else { return false }
            index += 1
            return true
        }
        guard let year = digits(4), let month = digits(2), let day = digits(2), expect("T"),
              let hour = digits(2), let minute = digits(2), let second = digits(2) else { return nil }
        var millis: Int64 = 0
        if expect(".") {
            guard let fraction = digits(3) else { return nil }
            millis = fraction
        }
        guard expect("Z"), (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else {
            return nil
        }
        var sequence = 1
        if expect("-") {
            let start = index
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
            guard index > start, index - start <= 6, bytes[start] != 0x30,
                  let number = Int(String(decoding: bytes[start..<index], as: UTF8.self)), number >= 2 else { return nil }
            sequence = number
        }
        guard index == bytes.count - 3 else { return nil }
        let days = Timestamp.daysSince1970(year: year, month: Int(month), day: Int(day))
        return ((days * 86_400 + hour * 3600 + minute * 60 + second) * 1000 + millis, sequence)
    }
}

extension Store {
    /// Copies the database into `directory` as `tally-YYYYMMDDTHHMMSS.mmmZ.db`: a consistent,
    /// verified, self-contained file that appears whole or not at all.
    ///
    /// 1. SQLite's online backup copies the pages into a temporary file `.NAME.tmp-XXXXXX`
    ///    in `directory` (a consistent snapshot, while other connections go on writing).
    /// 2. The copy is switched to `journal_mode=DELETE`, so it is one file with no `-wal`,
    ///    usable by `sqlite3` and by ``restore(from:to:options:)`` as it is.
    /// 3. The copy is verified: `PRAGMA integrity_check` must say `ok`, it must be a Tally
    ///    database this build can read, and its ledger hash chain must be intact. A copy
    ///    that fails is deleted, never published.
    /// 4. It is published atomically under a name no other backup has (a hard link that
    ///    fails rather than replaces), then the directory is fsynced.
    /// 5. With `keep`, only the newest `keep` backups in `directory` are kept, ranked by the
    ///    creation time in their names; the backup just written is never removed, and files
    ///    whose names are not backup names are never touched.
    ///
    /// - Parameters:
    ///   - directory: Where backups live; created if missing.
    ///   - keep: How many backups to keep, this one included (nil keeps all; at least 1).
    ///   - progress: Called with phase `backup` (pages) and `verify` (events).
    /// - Throws: ``TallyError/io(step:path:errno:)`` for file errors,
    ///   ``TallyError/corruptDatabase(path:detail:)`` when the copy fails verification (the
    ///   database itself is damaged: ``verify(rules:checkpoints:progress:)-9yr21`` says where).
    @discardableResult
    public func backup(toDirectory directory: String, keep: Int? = nil,
                       progress: (@Sendable (OperationProgress) -> Void)? = nil) throws(TallyError) -> Store.BackupResult {
        try backup(toDirectory: directory, keep: keep, progress: progress, syscalls: .live)
    }

    /// ``backup(toDirectory:keep:progress:)`` through the given system calls (the power-loss
    /// tests record them; SQLite's own writes into the copy do not pass through them).
    @discardableResult
    package func backup(toDirectory directory: String, keep: Int?, progress: (@Sendable (OperationProgress) -> Void)?,
                        syscalls: FileSyscalls) throws(TallyError) -> Store.BackupResult {
        if let keep, keep < 1 {
            throw TallyError.invalidInput(field: "keep", reason: "\(keep) would delete the backup just made; keep at least 1")
        }
        try FileOperations.requireDirectoryOrAbsent(directory, field: "directory")
        // Orphans of backups interrupted long ago (a minute is far above any copy's pause).
        _ = try? TempFileSweeper(minimumAge: 60, syscalls: syscalls).sweep(directory)
        let now = Int64((Clock.secondsSince1970() * 1000).rounded(.down))
        let staged = try AtomicFile.Staged(replacing: FileOperations.join(directory, BackupName.make(milliseconds: now)),
                                           permissions: 0o600, syscalls: syscalls)
        var result: Store.BackupResult
        let published: String
        do throws(TallyError) {
            result = try copyAndVerify(into: staged.temporaryPath, progress: progress)
            // A name no backup has yet: another backup may take the same millisecond.
            published = try staged.publishUnderNewName { sequence in
                FileOperations.join(directory, BackupName.make(milliseconds: now, sequence: sequence))
            }
        } catch {
            staged.discard()
            Self.removeSidecars(of: staged.temporaryPath, syscalls: syscalls)
            throw error.renamingPath(to: staged.path)
        }
        result.path = published
        result.bytes = FileOperations.size(of: published) ?? 0
        if let keep {
            result.removed = try Self.rotateBackups(in: directory, keep: keep, keeping: published, syscalls: syscalls)
        }
        return result
    }

    private func copyAndVerify(into temporary: String,
                               progress: (@Sendable (OperationProgress) -> Void)?) throws(TallyError) -> Store.BackupResult {
        let destination = try SQLiteConnection(path: temporary, mode: .readWrite, busyTimeout: 1)
        // Exclusive locking keeps SQLite's WAL index in memory (no `-shm` beside the
        // temporary file); journal OFF because a failed copy is thrown away anyway, and it
        // avoids a `-journal` sidecar the sweeper would not recognize.
        try destination.execute("PRAGMA locking_mode = EXCLUSIVE")
        _ = try destination.scalarText("PRAGMA journal_mode = OFF")
        var pages: Int64 = 0
        // One read transaction around every step: the copy is one consistent snapshot, and
        // commits by other connections cannot make SQLite restart the copy midway.
        try readTransaction { (connection: Connection) throws(TallyError) -> Void in
            let source = try Self.sqliteOnly(connection, "backup(toDirectory:keep:progress:)", alternative: "pg_basebackup or pg_dump make backups")
            _ = try source.scalarInt("SELECT count(*) FROM sqlite_schema")
            try source.backup(to: destination, pagesPerStep: 1024) { remaining, total in
                pages = Int64(total)
                progress?(OperationProgress(phase: .backup, done: Int64(total - remaining), total: Int64(total)))
            }
        }
        // The copied header says WAL (the source's mode); DELETE makes the file self-contained.
        let mode = try destination.scalarText("PRAGMA journal_mode = DELETE")
        guard mode?.lowercased() == "delete" else {
            throw TallyError.corruptDatabase(path: temporary, detail: "the backup copy could not be switched to journal_mode=DELETE (it reports \(mode ?? "nothing"))")
        }
        let verified = try Self.verifyDatabase(destination, displayPath: temporary, progress: progress)
        return Store.BackupResult(path: temporary, bytes: 0, pages: pages, events: verified.events, documents: verified.documents,
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
    /// Tally database this build can read with no migration pending and an intact schema,
    /// and the ledger chain. Everything is reported against `displayPath`, the name people
    /// know the file by.
    static func verifyDatabase(_ db: Connection, displayPath: String,
                               progress: (@Sendable (OperationProgress) -> Void)?) throws(TallyError) -> VerifiedDatabase {
        do throws(TallyError) {
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
            if let problem = try SchemaCheck.problems(of: db, migrator: .embedded).first {
                throw TallyError.corruptDatabase(path: displayPath, detail: problem)
            }
            let total = try db.scalarInt("SELECT count(*) FROM ledger") ?? 0
            progress?(OperationProgress(phase: .verify, done: 0, total: total))
            let chain = try db.transaction(.deferred) { () throws(TallyError) -> ChainReport in
                try LedgerTable.verifyChain(on: db) { seq in progress?(OperationProgress(phase: .verify, done: seq, total: total)) }
            }
            if let broken = chain.firstBreak {
                throw TallyError.corruptDatabase(path: displayPath, detail: broken.description)
            }
            progress?(OperationProgress(phase: .verify, done: chain.eventsChecked, total: total))
            let documents = try db.scalarInt("SELECT count(*) FROM state") ?? 0
            return VerifiedDatabase(events: chain.eventsChecked, documents: documents, headSeq: chain.headSeq,
                                    headHash: chain.headHash, schemaVersion: status.applied.last?.version ?? 0)
        } catch {
            throw error.renamingPath(to: displayPath)
        }
    }

    /// Keeps the newest `keep` backup files in `directory` (by the creation time in their
    /// names), never removing `justWritten`; returns the removed paths, oldest first.
    static func rotateBackups(in directory: String, keep: Int, keeping justWritten: String,
                              syscalls: FileSyscalls = .live) throws(TallyError) -> [String] {
        let operations = FileOperations(syscalls: syscalls)
        let justWrittenName = FileOperations.split(justWritten).name
        var backups: [(name: String, order: (milliseconds: Int64, sequence: Int))] = []
        for entry in try operations.listDirectory(directory) where entry.kind == .regular {
            if let order = BackupName.parse(entry.name) { backups.append((entry.name, order)) }
        }
        backups.sort { ($0.order.milliseconds, $0.order.sequence) > ($1.order.milliseconds, $1.order.sequence) }
        // The backup just made counts as the newest whatever the clock says.
        let others = backups.filter { $0.name != justWrittenName }
        var removed: [String] = []
        for backup in others.dropFirst(max(0, keep - 1)).reversed() {
            let path = FileOperations.join(directory, backup.name)
            if try AtomicFile.remove(path, syscalls: syscalls) { removed.append(path) }
        }
        if !removed.isEmpty { try operations.syncDirectory(directory) }
        return removed
    }

    static func removeSidecars(of path: String, syscalls: FileSyscalls = .live) {
        for suffix in ["-wal", "-shm", "-journal"] { _ = try? AtomicFile.remove(path + suffix, syscalls: syscalls) }
    }
}

extension Store {
    /// What ``Store/backup(toDirectory:keep:progress:)`` wrote.
    public struct BackupResult: Sendable, Codable, Equatable {
        /// The published backup file, `DIR/tally-YYYYMMDDTHHMMSS.mmmZ.db`.
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
}
