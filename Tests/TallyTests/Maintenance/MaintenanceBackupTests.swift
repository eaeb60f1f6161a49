import Foundation
import Logging
import Testing
@testable import Tally

@Suite("Maintenance: backup, restore and statistics")
struct MaintenanceBackupTests {
    let directory = TemporaryDirectory()
    let store: Store

    init() throws {
        var configuration = Store.Configuration()
        var logger = Logger(label: "tally.tests")
        logger.logLevel = .error
        configuration.logger = logger
        store = try Store(path: directory.file("live.db"), configuration: configuration)
        for index in 1...20 {
            try store.write { tx in
                let event = try tx.ledger.append(stream: "invoice/INV-\(index)", kind: "charge", amount: Int64(index * 100),
                                                 currency: "EUR", payload: ["memo": .string("original-\(index)")])
                try tx.state.put("invoices/INV-\(index)", body: ["n": .number(Double(index))], status: "unpaid", causedBy: event)
            }
        }
    }

    private var backups: String { directory.file("backups") }

    @Test("a backup is one self-contained, verified file with the backup name pattern")
    func backupFile() throws {
        let phases = Locked<Set<String>>([])
        let result = try store.backup(toDirectory: backups) { progress in phases.withLock { _ = $0.insert(progress.phase.rawValue) } }
        let name = (result.path as NSString).lastPathComponent
        #expect(BackupName.parse(name) != nil, "\(name)")
        #expect(result.events == 20)
        #expect(result.documents == 20)
        #expect(result.ledgerHeadSeq == 20)
        #expect(result.bytes == Int64(try Data(contentsOf: URL(fileURLWithPath: result.path)).count))
        #expect(phases.withLock { $0 } == ["backup", "verify"])
        // Only the backup itself: no -wal, -shm, -journal or temporary file beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: backups) == [name])
        // Rollback-journal mode: header bytes 18 and 19 are 1 (WAL would be 2).
        let header = try Data(contentsOf: URL(fileURLWithPath: result.path)).prefix(20)
        #expect(header[18] == 1 && header[19] == 1)
        let copy = try Store(path: result.path, configuration: { var c = Store.Configuration(); c.readOnly = true; return c }())
        #expect(try copy.ledger.verifyChain().isIntact)
        #expect(try copy.state.count() == 20)
    }

    @Test("rotation keeps the newest N backups and never touches other files")
    func rotation() throws {
        try FileManager.default.createDirectory(atPath: backups, withIntermediateDirectories: true)
        for other in ["notes.txt", "tally-latest.db", "tally-20200101T000000Z.db.bak"] {
            try Data("keep".utf8).write(to: URL(fileURLWithPath: backups + "/" + other))
        }
        // An old backup by name, and the same-second sequence order.
        try Data("old".utf8).write(to: URL(fileURLWithPath: backups + "/tally-20200101T000000Z.db"))
        var made: [String] = []
        for _ in 0..<4 { made.append(try store.backup(toDirectory: backups, keep: 3).path) }
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: backups))
        #expect(names == Set(made.suffix(3).map { ($0 as NSString).lastPathComponent })
            .union(["notes.txt", "tally-latest.db", "tally-20200101T000000Z.db.bak"]))
        #expect(throws: TallyError.self) { try store.backup(toDirectory: backups, keep: 0) }
    }

    @Test("backup names carry milliseconds and sort by creation time, then by same-millisecond sequence")
    func names() throws {
        let millis: Int64 = 1_735_689_600_123  // 2025-01-01T00:00:00.123Z
        #expect(BackupName.make(milliseconds: millis) == "tally-20250101T000000.123Z.db")
        #expect(BackupName.make(milliseconds: millis, sequence: 2) == "tally-20250101T000000.123Z-2.db")
        #expect(BackupName.parse("tally-20250101T000000.123Z-2.db")?.sequence == 2)
        #expect(BackupName.parse("tally-20250101T000000.123Z.db")?.milliseconds == millis)
        // Names of the earlier second-resolution format still rank, before later milliseconds.
        #expect(BackupName.parse("tally-20250101T000000Z.db")?.milliseconds == 1_735_689_600_000)
        for bad in ["tally-20250101T000000Z.db.tmp", "tally-2025-01-01.db", "tally-20250101T000000Z-1.db",
                    "tally-20250101T000000Z-02.db", "xtally-20250101T000000Z.db", ".tally-20250101T000000Z.db.tmp-AbCdEf"] {
            #expect(BackupName.parse(bad) == nil, "\(bad)")
        }
    }

    @Test("restore replaces the database with the backup, removing the old WAL")
    func restoreRoundTrip() throws {
        let backup = try store.backup(toDirectory: backups)
        let target = directory.file("target.db")
        // A target with its own content and a live WAL.
        do {
            let other = try Store(path: target)
            try other.state.put("other/doc", body: ["x": 1])
        }
        let result = try Store.restore(from: backup.path, to: target)
        #expect(result.events == 20)
        #expect(result.documents == 20)
        let restored = try Store(path: target)
        #expect(try restored.state.get("other/doc") == nil)
        #expect(try restored.state.count() == 20)
        #expect(try restored.ledger.verifyChain().headSeq == 20)
        try restored.ledger.append(stream: "after", kind: "charge")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
        // Restoring to a path with nothing there creates the database.
        try Store.restore(from: backup.path, to: directory.file("new.db"))
        #expect(try Store(path: directory.file("new.db")).state.count() == 20)
    }

    @Test("a backup with a broken chain, a damaged file or random bytes is refused; the database is untouched")
    func restoreRefusesBadBackups() throws {
        let backup = try store.backup(toDirectory: backups)
        let target = directory.file("target.db")
        try Store.restore(from: backup.path, to: target)
        let original = try Data(contentsOf: URL(fileURLWithPath: target))

        var bytes = try Data(contentsOf: URL(fileURLWithPath: backup.path))
        let range = try #require(bytes.range(of: Data("original-7".utf8)))
        bytes.replaceSubrange(range, with: Data("tampered-7".utf8))
        let edited = directory.file("edited.db")
        try bytes.write(to: URL(fileURLWithPath: edited))
        #expect {
            try Store.restore(from: edited, to: target)
        } throws: { error in
            guard case let TallyError.corruptDatabase(path, detail) = error else { return false }
            return path == edited && detail.contains("seq 7")
        }

        let truncated = directory.file("truncated.db")
        try Data(contentsOf: URL(fileURLWithPath: backup.path)).prefix(12_288).write(to: URL(fileURLWithPath: truncated))
        #expect {
            try Store.restore(from: truncated, to: target)
        } throws: { error in
            if case TallyError.corruptDatabase = error { return true }
            return false
        }

        let random = directory.file("random.db")
        var generator = SystemRandomNumberGenerator()
        try Data((0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(to: URL(fileURLWithPath: random))
        // Said of the backup: nothing tells the caller to fix the database being restored.
        #expect(throws: TallyError.invalidInput(field: "backup", reason: "\(random) is not a Tally backup: it is not an SQLite database (no SQLite header); name a file a Tally backup wrote")) {
            try Store.restore(from: random, to: target)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == original)
        #expect(throws: TallyError.invalidInput(field: "backup", reason: "\(target) is the database itself; name a backup file")) {
            try Store.restore(from: target, to: target)
        }
    }

    @Test("restore is refused while another connection has the database open, even idle")
    func restoreRefusedWhileOpen() throws {
        let backup = try store.backup(toDirectory: backups)
        // SQLite's file locks are per process, so the other holder must be a real process:
        // the sqlite3 shell, which keeps its connection open while its stdin stays open.
        guard let sqlite3 = ["/usr/bin/sqlite3", "/usr/local/bin/sqlite3", "/bin/sqlite3"]
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            print("skipped restoreRefusedWhileOpen: the sqlite3 shell (apt-get install sqlite3) is needed as the other process")
            return
        }
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: sqlite3)
        holder.arguments = [store.path]
        let input = Pipe(), output = Pipe()
        holder.standardInput = input
        holder.standardOutput = output
        try holder.run()
        defer {
            try? input.fileHandleForWriting.close()
            holder.waitUntilExit()
        }
        input.fileHandleForWriting.write(Data("SELECT 'holding', count(*) FROM ledger;\n".utf8))
        let line = output.fileHandleForReading.availableData
        try #require(String(decoding: line, as: UTF8.self).contains("holding"), "sqlite3 could not open the database")
        let before = try Data(contentsOf: URL(fileURLWithPath: store.path))
        #expect {
            try Store.restore(from: backup.path, to: store.path)
        } throws: { error in
            if case TallyError.lockTimeout = error { return true }
            return false
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.path)) == before)
        #expect(try store.state.count() == 20)
    }

    @Test("statistics count what is there and read the file sizes")
    func statistics() throws {
        let stats = try store.statistics()
        #expect(stats.events == 20)
        #expect(stats.streams == 20)
        #expect(stats.documents == 20)
        #expect(stats.historyRows == 20)
        #expect(stats.ledgerHeadSeq == 20)
        #expect(stats.schemaVersion == Migrator.embedded.latestVersion)
        #expect(stats.pageSize > 0 && stats.pageCount > 0)
        #expect(stats.databaseBytes > 0)
        #expect(stats.walBytes > 0 && stats.walFrames > 0)
        #expect(stats.journalMode == "wal")
        try store.checkpointWAL(truncate: true)
        let after = try store.statistics()
        #expect(after.walBytes == 0 && after.walFrames == 0)
        #expect(after.sqliteVersion == SQLiteConnection.sqliteVersion)
    }
}
