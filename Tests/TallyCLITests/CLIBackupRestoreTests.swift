import Foundation
import Tally
import Testing

/// `tally backup` and `tally restore`, end to end.
@Suite("CLI: backup and restore")
struct CLIBackupRestoreTests {
    let scratch = Scratch()

    private func populate() throws {
        try initDatabase(scratch)
        for index in 1...5 {
            expectSuccess(try CLI.run(["append", "--stream", "invoice/INV-\(index)", "--kind", "charge", "--amount", "\(index).50",
                                       "--currency", "EUR", "--payload", #"{"memo":"original-\#(index)"}"#],
                                      database: scratch.database))
            expectSuccess(try CLI.run(["put", "invoices/INV-\(index)", #"{"n":\#(index)}"#, "--status", "unpaid"], database: scratch.database))
        }
    }

    private func backup() throws -> String {
        let result = try jsonObject(expectSuccess(try CLI.run(["backup", scratch.file("backups"), "--json"], database: scratch.database)))
        return try #require(result["path"] as? String)
    }

    @Test("backup then restore brings back exactly the backed-up state")
    func roundTrip() throws {
        try populate()
        let backup = try backup()
        let before = try CLI.run(["log", "--json"], database: scratch.database).stdout
        // Changes after the backup…
        expectSuccess(try CLI.run(["append", "--stream", "late", "--kind", "charge"], database: scratch.database))
        expectSuccess(try CLI.run(["put", "invoices/INV-1", "{}", "--status", "paid"], database: scratch.database))
        // …are not thrown away without --force, which says how many events would go…
        expectError(try CLI.run(["restore", backup], database: scratch.database), exit: 4,
                    mentions: ["ahead of", "by 1 event", "--force"])
        // …and are gone after a forced restore, the replaced database kept beside it.
        let restored = try jsonObject(expectSuccess(try CLI.run(["restore", backup, "--force", "--json"], database: scratch.database)))
        #expect(restored["events_discarded"] as? Int == 1)
        let replaced = try #require(restored["replaced_path"] as? String)
        #expect(FileManager.default.fileExists(atPath: replaced))
        #expect(restored["events"] as? Int == 5)
        #expect(restored["documents"] as? Int == 5)
        #expect(try CLI.run(["log", "--json"], database: scratch.database).stdout == before)
        let document = try jsonObject(expectSuccess(try CLI.run(["get", "invoices/INV-1", "--json"], database: scratch.database)))
        #expect(document["status"] as? String == "unpaid")
        // The restored database is a normal one: writable, and it verifies.
        expectSuccess(try CLI.run(["append", "--stream", "after", "--kind", "charge"], database: scratch.database))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
        // A missing database is created from the backup.
        let fresh = scratch.file("fresh.db")
        expectSuccess(try CLI.run(["restore", backup], database: fresh))
        #expect(try jsonLines(expectSuccess(try CLI.run(["list", "--json"], database: fresh))).count == 5)
    }

    @Test("a corrupt backup is refused and the database left byte for byte as it was")
    func corruptBackupRefused() throws {
        try populate()
        let backup = try backup()
        expectSuccess(try CLI.run(["checkpoint", "--truncate"], database: scratch.database))
        let original = try Data(contentsOf: URL(fileURLWithPath: scratch.database))
        let originalWAL = FileManager.default.contents(atPath: scratch.database + "-wal")

        // An event's payload changed inside the file (same length, not indexed): every page
        // is intact, only the hash chain shows it.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: backup))
        let range = try #require(bytes.range(of: Data("original-3".utf8)))
        bytes.replaceSubrange(range, with: Data("tampered-3".utf8))
        let edited = scratch.file("edited.db")
        try bytes.write(to: URL(fileURLWithPath: edited))
        expectError(try CLI.run(["restore", edited], database: scratch.database), exit: 3, mentions: ["edited.db", "chain"])

        // Half a file: SQLite itself finds the damage.
        let truncated = scratch.file("truncated.db")
        try Data(contentsOf: URL(fileURLWithPath: backup)).prefix(8192).write(to: URL(fileURLWithPath: truncated))
        let result = try CLI.run(["restore", truncated], database: scratch.database)
        expectError(result, exit: 3, mentions: ["truncated.db"])

        // Random bytes: not a database at all.
        let random = scratch.file("random.db")
        var generator = SystemRandomNumberGenerator()
        try Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(to: URL(fileURLWithPath: random))
        let refused = try CLI.run(["restore", random], database: scratch.database)
        expectError(refused, exit: 2, mentions: ["random.db is not a Tally backup", "name a file a Tally backup wrote"])
        #expect(!refused.stderr.contains("--db"), "the advice is about the backup, not the database: \(refused.stderr)")

        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.database)) == original)
        #expect(FileManager.default.contents(atPath: scratch.database + "-wal") == originalWAL)
    }

    @Test("restore is refused (exit 5) while another process has the database open")
    func refusedWhileInUse() throws {
        try populate()
        let backup = try backup()
        // This test process holds the database open, as an application would.
        let store = try Store(path: scratch.database)
        #expect(try store.state.count() == 5)
        expectError(try CLI.run(["restore", backup], database: scratch.database), exit: 5, mentions: ["another connection or process"])
        #expect(try store.state.count() == 5)
        _ = try store.state.put("still/works", body: [:])
    }
}
