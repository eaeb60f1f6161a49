import Foundation
import Tally
import Testing

/// Bad input for each command: the documented exit code and one line on stderr that says
/// what to do.
@Suite("CLI: errors and exit codes")
struct CLIErrorTests {
    let scratch = Scratch()

    @Test("usage errors exit 2 with one line pointing at --help")
    func usage() throws {
        expectError(try CLI.run(["append", "--kind", "charge"], database: scratch.database), exit: 2, mentions: ["--stream", "tally append --help"])
        expectError(try CLI.run(["frobnicate"]), exit: 2, mentions: ["--help"])
        expectError(try CLI.run(["log", "--limit", "many"], database: scratch.database), exit: 2)
        expectError(try CLI.run(["import", "x", "--mode", "sideways"], database: scratch.database), exit: 2, mentions: ["mode"])
        expectError(try CLI.run(["backup", scratch.file("b"), "--keep", "0"], database: scratch.database), exit: 2, mentions: ["--keep"])
        let help = try CLI.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("Exit codes"))
    }

    @Test("amounts: too many decimals for the currency, exponents, missing currency, unknown currency")
    func amounts() throws {
        try initDatabase(scratch)
        let db = scratch.database
        let append = ["append", "--stream", "s", "--kind", "charge", "--amount"]
        expectError(try CLI.run(append + ["12.345", "--currency", "EUR"], database: db), exit: 2, mentions: ["12.345", "EUR has 2 decimals"])
        expectError(try CLI.run(append + ["1.5", "--currency", "JPY"], database: db), exit: 2, mentions: ["JPY has no decimals"])
        expectError(try CLI.run(append + ["1e3", "--currency", "EUR"], database: db), exit: 2, mentions: ["1e3"])
        expectError(try CLI.run(append + ["12.", "--currency", "EUR"], database: db), exit: 2, mentions: ["decimal point"])
        expectError(try CLI.run(append + ["12.50"], database: db), exit: 2, mentions: ["--currency"])
        expectError(try CLI.run(append + ["12.50", "--currency", "EURO"], database: db), exit: 2, mentions: ["EURO"])
        expectError(try CLI.run(append + ["12.50", "--currency", "ABC"], database: db), exit: 2, mentions: ["ABC"])
        expectError(try CLI.run(append + ["99999999999999999999", "--currency", "EUR"], database: db), exit: 2, mentions: ["out of range"])
        // Nothing was appended by any of them.
        #expect(try jsonLines(expectSuccess(try CLI.run(["log", "--json"], database: db))).isEmpty)
    }

    @Test("malformed JSON, an invalid key, an unknown key and missing input files exit 2")
    func badInput() throws {
        try initDatabase(scratch)
        let db = scratch.database
        expectError(try CLI.run(["put", "k", #"{"a":"#], database: db), exit: 2, mentions: ["not valid JSON", "@FILE"])
        expectError(try CLI.run(["put", "k", "-"], database: db, stdin: "{nope"), exit: 2, mentions: ["standard input"])
        expectError(try CLI.run(["append", "--stream", "s", "--kind", "k", "--payload", "[1"], database: db), exit: 2, mentions: ["payload"])
        expectError(try CLI.run(["append", "--stream", "s", "--kind", "k", "--payload", "[1]"], database: db), exit: 2, mentions: ["payload"])
        expectError(try CLI.run(["put", "../etc/passwd", "{}"], database: db), exit: 2, mentions: ["invalid state key"])
        expectError(try CLI.run(["get", "no/such/key"], database: db), exit: 2, mentions: ["no/such/key", "tally list"])
        expectError(try CLI.run(["put", "k", "@" + scratch.file("missing.json")], database: db), exit: 2, mentions: ["missing.json", "does not exist"])
        expectError(try CLI.run(["import", scratch.file("missing.jsonl")], database: db), exit: 2, mentions: ["missing.jsonl"])
        expectError(try CLI.run(["restore", scratch.file("missing.db")], database: db), exit: 2, mentions: ["missing.db"])
        expectError(try CLI.run(["log"], database: scratch.file("never-created.db")), exit: 2, mentions: ["tally init"])
        #expect(!FileManager.default.fileExists(atPath: scratch.file("never-created.db")))
        expectError(try CLI.run(["put", "k", "{}"], database: scratch.file("never-created.db")), exit: 2, mentions: ["tally init"])
        try Data("not a snapshot\n".utf8).write(to: URL(fileURLWithPath: scratch.file("bad.jsonl")))
        expectError(try CLI.run(["import", scratch.file("bad.jsonl")], database: db), exit: 2, mentions: ["bad.jsonl:1", "Nothing was imported"])
    }

    @Test("a file of random bytes is refused as not a Tally database (exit 2) and left untouched")
    func notATallyDatabase() throws {
        var generator = SystemRandomNumberGenerator()
        let junk = Data((0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let path = scratch.file("junk.db")
        try junk.write(to: URL(fileURLWithPath: path))
        for arguments in [["log"], ["stats"], ["put", "k", "{}"], ["init"], ["backup", scratch.file("b")]] {
            expectError(try CLI.run(arguments, database: path), exit: 2, mentions: ["not a Tally database"])
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == junk)
    }

    @Test("a document changed behind Tally's back is corruption (exit 3)")
    func corruption() throws {
        try initDatabase(scratch)
        let db = scratch.database
        expectSuccess(try CLI.run(["put", "k", #"{"total":100}"#], database: db))
        // As someone at the sqlite3 prompt might: a new body without a new checksum.
        try SQLiteConnection(path: db).execute(#"UPDATE state SET body = '{"total":1}', version = version + 1 WHERE key = 'k'"#)
        expectError(try CLI.run(["get", "k"], database: db), exit: 3, mentions: ["corrupt", "restore"])
        expectError(try CLI.run(["export", scratch.file("s.jsonl")], database: db), exit: 3)
        #expect(!FileManager.default.fileExists(atPath: scratch.file("s.jsonl")))
    }

    @Test("version conflicts exit 4 and name the version to retry with")
    func conflicts() throws {
        try initDatabase(scratch)
        let db = scratch.database
        expectSuccess(try CLI.run(["put", "k", "{}", "--expect-version", "0"], database: db))
        expectError(try CLI.run(["put", "k", "{}", "--expect-version", "0"], database: db), exit: 4, mentions: ["--expect-version 1"])
        expectSuccess(try CLI.run(["append", "--stream", "s", "--kind", "c", "--expect-version", "0"], database: db))
        expectError(try CLI.run(["append", "--stream", "s", "--kind", "c", "--expect-version", "0"], database: db), exit: 4, mentions: ["'s'"])
        expectSuccess(try CLI.run(["append", "--stream", "s", "--kind", "c", "--event-id", "e-1"], database: db))
        expectError(try CLI.run(["append", "--stream", "s", "--kind", "other", "--event-id", "e-1"], database: db), exit: 4, mentions: ["e-1"])
    }

    @Test("an import in merge mode that meets conflicting documents exits 4 and changes nothing")
    func importConflicts() throws {
        let first = scratch.file("first.db"), second = scratch.file("second.db")
        for db in [first, second] { expectSuccess(try CLI.run(["init"], database: db)) }
        expectSuccess(try CLI.run(["put", "k", #"{"side":"first"}"#], database: first))
        expectSuccess(try CLI.run(["put", "k", #"{"side":"second"}"#], database: second))
        expectSuccess(try CLI.run(["put", "only-first", "{}"], database: first))
        let snapshot = scratch.file("first.jsonl")
        expectSuccess(try CLI.run(["export", snapshot], database: first))
        let result = try CLI.run(["import", snapshot, "--mode", "merge"], database: second)
        expectError(result, exit: 4, mentions: ["conflict"])
        #expect(result.stdout.contains("k"))
        let json = try CLI.run(["import", snapshot, "--mode", "merge", "--json"], database: second)
        #expect(json.status == 4)
        let report = try jsonObject(json.stdout)
        #expect((report["conflicts"] as? [[String: Any]])?.first?["key"] as? String == "k")
        let kept = try jsonObject(expectSuccess(try CLI.run(["get", "k", "--json"], database: second)))
        #expect((kept["body"] as? [String: Any])?["side"] as? String == "second")
    }

    @Test("a read-only directory is an I/O error (exit 5)")
    func readOnlyDirectory() throws {
        let mountPoint = scratch.file("mnt")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mounted = try CLI.shell("mount -t tmpfs -o size=4m tmpfs '\(mountPoint)'", in: scratch.path)
        guard mounted.status == 0 else {
            print("skipped CLIErrorTests.readOnlyDirectory: cannot mount a tmpfs here (\(mounted.stderr.trimmingCharacters(in: .whitespacesAndNewlines))); running as root in a container with CAP_SYS_ADMIN is needed")
            return
        }
        defer { _ = try? CLI.shell("umount '\(mountPoint)'", in: scratch.path) }
        let db = mountPoint + "/tally.db"
        expectSuccess(try CLI.run(["init"], database: db))
        expectSuccess(try CLI.run(["put", "k", "{}"], database: db))
        let remount = try CLI.shell("mount -o remount,ro '\(mountPoint)'", in: scratch.path)
        try #require(remount.status == 0, "\(remount)")
        expectError(try CLI.run(["put", "k2", "{}"], database: db), exit: 5, mentions: ["writable"])
        // Writable database, read-only destination.
        try initDatabase(scratch)
        expectSuccess(try CLI.run(["put", "k", "{}"], database: scratch.database))
        for arguments in [["export", mountPoint + "/s.jsonl"], ["mirror", mountPoint + "/mirror"], ["backup", mountPoint + "/backups"]] {
            expectError(try CLI.run(arguments, database: scratch.database), exit: 5, mentions: ["Read-only file system", "permissions"])
        }
    }
}
