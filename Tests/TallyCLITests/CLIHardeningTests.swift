import Foundation
import Tally
import Testing

/// The command line at its edges: output that cannot be written, input that is not what it
/// claims, and the exit codes and messages that say so. Each test is one class of defect
/// that once lost data silently, hung or crashed.
@Suite("CLI hardening: output and input at the edges never lose data silently, hang or crash")
struct CLIHardeningTests {
    let scratch = Scratch()

    private func populate(events: Int = 3, documents: Int = 2) throws {
        let store = try Store(path: scratch.database)
        if events > 0 {
            try store.ledger.append(contentsOf: (1...events).map {
                NewEvent(stream: "invoice/INV-\($0 % 7)", kind: "charge", amount: Int64($0), currency: "EUR", payload: ["n": .number(Double($0))])
            })
        }
        for index in 0..<documents { try store.state.put("docs/d\(index)", body: ["n": .number(Double(index))], status: "open") }
    }

    // MARK: Output and exit codes

    @Test("a write to a full standard output is exit 5 with the system's reason, not a truncated file and exit 0")
    func fullStandardOutput() throws {
        try populate(events: 2_000)
        let result = try CLI.shell(#""$TALLY" --db tally.db log --limit 2000 > /dev/full"#, in: scratch.path)
        #expect(result.status == 5, "\(result)")
        #expect(result.stderr == "error: write to standard output failed: No space left on device\n", "\(result)")
    }

    @Test("a reader that goes away (EPIPE, SIGPIPE ignored) is exit 5, never a silent success")
    func brokenPipe() throws {
        try populate(events: 5_000)
        // POSIX sh has no PIPESTATUS: record the status in a file instead.
        let piped = try CLI.shell(#"("$TALLY" --db tally.db log; echo $? > status) | head -c 10 > /dev/null; cat status"#, in: scratch.path)
        #expect(piped.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "5", "\(piped)")
    }

    @Test("an unwritable standard error never crashes: the documented exit code still comes out")
    func unwritableStandardError() throws {
        try populate()
        for redirect in ["2>/dev/full", "2>&-"] {
            let missing = try CLI.shell(#""$TALLY" --db tally.db get no/such "# + redirect + "; echo status=$?", in: scratch.path)
            #expect(missing.stdout.contains("status=2"), "\(redirect): \(missing)")
            let fine = try CLI.shell(#""$TALLY" --db tally.db log "# + redirect + " > /dev/null; echo status=$?", in: scratch.path)
            #expect(fine.stdout.contains("status=0"), "\(redirect): \(fine)")
        }
    }

    @Test("with --json an error is one JSON document with the exit code, a stable kind and the message")
    func jsonErrors() throws {
        try populate()
        let result = try CLI.run(["--json", "get", "no/such"], database: scratch.database)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        let error = try #require(try jsonObject(result.stderr)["error"] as? [String: Any])
        #expect(error["exit_code"] as? Int == 2)
        #expect(error["kind"] as? String == "not_found")
        #expect((error["message"] as? String)?.contains("no/such") == true)
        // Usage errors too, and a missing command names the real culprit.
        let usage = try CLI.run(["--json"], database: scratch.database)
        #expect(usage.status == 2)
        let usageError = try #require(try jsonObject(usage.stderr)["error"] as? [String: Any])
        #expect(usageError["kind"] as? String == "usage")
        #expect((usageError["message"] as? String)?.contains("a command is missing") == true)
    }

    @Test("--json keeps one type per field: counts and versions are numbers, migrate --status is an object")
    func jsonTypes() throws {
        let initialized = try jsonObject(expectSuccess(try CLI.run(["init", "--json"], database: scratch.database)))
        let latest = try #require(initialized["schema_version"] as? Int)
        #expect(latest >= 3)
        #expect(initialized["applied_now"] as? Int == latest)
        #expect((initialized["ledger_id"] as? String)?.count == 36)
        let status = try jsonObject(expectSuccess(try CLI.run(["migrate", "--status", "--json"], database: scratch.database)))
        #expect(status["schema_version"] as? Int == latest)
        #expect((status["applied"] as? [[String: Any]])?.count == latest)
        #expect((status["pending"] as? [Any])?.isEmpty == true)

        // Across every command's --json output, a field name has one JSON type (or null).
        try populate(events: 4, documents: 2)
        let commands: [[String]] = [
            ["append", "--stream", "s/1", "--kind", "charge", "--amount", "1.00", "--currency", "EUR"],
            ["log"], ["balance"], ["get", "docs/d0"], ["list"], ["put", "docs/d9", "{\"a\":1}"], ["stats"],
            ["export", scratch.file("t.jsonl")], ["mirror", scratch.file("m")], ["reconcile", "--dir", scratch.file("m")],
            ["verify"], ["backup", scratch.file("b")], ["delete", "docs/d9"],
        ]
        var types: [String: Set<String>] = [:]
        func collect(_ value: Any, field: String?) {
            switch value {
            case let object as [String: Any]:
                for (name, member) in object { collect(member, field: name) }
            case let array as [Any]:
                for element in array { collect(element, field: field) }
            default:
                guard let field, !(value is NSNull) else { return }
                let type = value is String ? "string" : (value as? NSNumber).map { String(cString: $0.objCType) == "c" ? "bool" : "number" } ?? "?"
                types[field, default: []].insert(type)
            }
        }
        for command in commands {
            let output = expectSuccess(try CLI.run(command + ["--json"], database: scratch.database))
            for line in output.split(separator: "\n") {
                collect(try JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed]), field: nil)
            }
        }
        let mixed = types.filter { $0.value.count > 1 }
        #expect(mixed.isEmpty, "fields with more than one type: \(mixed)")
        #expect(types["amount"] == ["number"] && types["balance"] == ["string"] && types["seq"] == ["number"])
    }

    @Test("argument errors name the culprit: a negative limit, a missing command; --version answers")
    func argumentErrors() throws {
        try populate()
        expectError(try CLI.run(["log", "--limit", "-1"], database: scratch.database), exit: 2, mentions: ["--limit -1", "negative values are not allowed"])
        expectError(try CLI.run(["log", "--since", "-5"], database: scratch.database), exit: 2, mentions: ["--since -5"])
        expectError(try CLI.run(["--db", scratch.database]), exit: 2, mentions: ["a command is missing"])
        let version = try CLI.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
    }

    @Test("a database path that is empty, a directory, a FIFO or a device is bad input (exit 2) saying so, for reads and writes alike, and never blocks")
    func databaseIsNotAFile() throws {
        let fifo = scratch.file("fifo.db")
        #expect(mkfifo(fifo, 0o600) == 0)
        for (database, kind) in [(scratch.path, "is a directory"), (fifo, "is a FIFO (named pipe), not a file"),
                                 ("/dev/null", "is a character device, not a file")] {
            for command in [["log"], ["init"], ["put", "k", "{}"], ["verify"]] {
                expectError(try CLI.run(command, database: database), exit: 2, mentions: [kind])
            }
        }
        for command in [["log"], ["init"], ["put", "k", "{}"]] {
            expectError(try CLI.run(["--db", ""] + command, in: scratch.path), exit: 2, mentions: ["empty"])
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.file("tally.db")))
    }

    @Test("a mirror or backup directory that is a file, or a snapshot path that is a directory, is exit 2 naming the path")
    func wrongKindOfTarget() throws {
        try populate()
        #expect(FileManager.default.createFile(atPath: scratch.file("a-file"), contents: Data()))
        for command in [["mirror", scratch.file("a-file")], ["backup", scratch.file("a-file")]] {
            expectError(try CLI.run(command, database: scratch.database), exit: 2, mentions: ["a-file is a regular file, not a directory"])
        }
        expectError(try CLI.run(["export", scratch.path], database: scratch.database), exit: 2, mentions: ["is a directory; name the file to write"])
    }

    @Test("a missing input file is exit 2 in reconcile as in import")
    func missingInputs() throws {
        try populate()
        expectError(try CLI.run(["reconcile", "--snapshot", scratch.file("nope.jsonl")], database: scratch.database), exit: 2, mentions: ["nope.jsonl", "does not exist"])
        expectError(try CLI.run(["reconcile", "--dir", scratch.file("nodir")], database: scratch.database), exit: 2, mentions: ["nodir", "does not exist"])
        expectError(try CLI.run(["import", scratch.file("nope.jsonl")], database: scratch.database), exit: 2, mentions: ["nope.jsonl"])
    }

    // MARK: Untrusted input

    @Test("@FILE and - read pipes and process substitution, with a size cap, never 'Permission denied'")
    func pipesAsInput() throws {
        try populate(events: 0, documents: 0)
        let substitution = try CLI.shell(#"bash -c '"$TALLY" --db tally.db put a @<(echo "{\"x\": 1}")'"#, in: scratch.path)
        #expect(substitution.status == 0, "\(substitution)")
        let devStdin = try CLI.shell(#"echo '{"y": 2}' | "$TALLY" --db tally.db put b @/dev/stdin"#, in: scratch.path)
        #expect(devStdin.status == 0, "\(devStdin)")
        let dash = try CLI.run(["put", "c", "-"], database: scratch.database, stdin: #"{"z": 3}"#)
        #expect(dash.status == 0, "\(dash)")
        let closed = try CLI.shell(#""$TALLY" --db tally.db put e - <&-"#, in: scratch.path)
        expectError(closed, exit: 5, mentions: ["standard input", "a closed standard input or output?"])
        let huge = try CLI.shell(#""$TALLY" --db tally.db put d @/dev/zero"#, in: scratch.path)
        #expect(huge.status == 5, "\(huge)")
        #expect(huge.stderr.contains("more than"), "\(huge)")
        let store = try Store(path: scratch.database)
        #expect(try store.state.get("a")?.body == ["x": 1])
        #expect(try store.state.get("b")?.body == ["y": 2])
        #expect(try store.state.get("c")?.body == ["z": 3])
        #expect(try store.state.get("d") == nil)
    }

    @Test("invalid UTF-8 in an argument, @FILE or standard input is refused with its byte offset, never replaced")
    func invalidUTF8() throws {
        try populate(events: 0, documents: 0)
        let argument = try CLI.shell(#""$TALLY" --db tally.db put k "$(printf '{"a":"\377"}')""#, in: scratch.path)
        expectError(argument, exit: 2, mentions: ["not valid UTF-8 at byte 6"])
        try Data([0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xC3, 0x22, 0x7D]).write(to: URL(fileURLWithPath: scratch.file("bad.json")))
        expectError(try CLI.run(["put", "k", "@" + scratch.file("bad.json")], database: scratch.database), exit: 2, mentions: ["not valid UTF-8 at byte 6"])
        let piped = try CLI.shell(#"printf '{"a":"\377"}' | "$TALLY" --db tally.db put k -"#, in: scratch.path)
        expectError(piped, exit: 2, mentions: ["standard input is not valid UTF-8 at byte 6"])
        #expect(try Store(path: scratch.database).state.get("k") == nil)
    }

    @Test("--quantity takes the strict decimal grammar and never rounds silently")
    func quantities() throws {
        try populate(events: 0, documents: 0)
        let append = ["append", "--stream", "s", "--kind", "usage", "--quantity"]
        for bad in ["0x1p3", "inf", "nan", "1.00000000000000000001", "+1", "1e400", "1e-400"] {
            expectError(try CLI.run(append + [bad], database: scratch.database), exit: 2, mentions: ["--quantity"])
        }
        let good = try jsonObject(expectSuccess(try CLI.run(append + ["2.5", "--json"], database: scratch.database)))
        #expect(good["quantity"] as? Double == 2.5)
    }

    @Test("keys that could not be mirrored are refused at put and import; keys equal but for case are warned about")
    func unmirrorableKeys() throws {
        try populate(events: 0, documents: 0)
        expectError(try CLI.run(["put", "MANIFEST", "{}"], database: scratch.database), exit: 2, mentions: ["MANIFEST.json"])
        expectError(try CLI.run(["put", String(repeating: "k", count: 251), "{}"], database: scratch.database), exit: 2, mentions: ["251 bytes"])
        expectSuccess(try CLI.run(["put", "Invoices/A", "{}"], database: scratch.database))
        let collision = try CLI.run(["put", "invoices/a", "{}"], database: scratch.database)
        #expect(collision.status == 0)
        #expect(collision.stderr.contains("warning: 'invoices/a' and 'Invoices/A' differ only in letter case"), "\(collision)")
    }

    @Test("balances beyond 2^53 minor units are exact strings in --json, and a sum that would overflow is an error")
    func bigBalances() throws {
        let store = try Store(path: scratch.database)
        let big: Int64 = 1 << 53
        try store.ledger.append(contentsOf: (1...3).map { _ in NewEvent(stream: "big", kind: "charge", amount: big, currency: "JPY") })
        let rows = try #require(try jsonObject(expectSuccess(try CLI.run(["balance", "--json"], database: scratch.database)))["balances"] as? [[String: Any]])
        #expect(rows.first?["balance"] as? String == String(3 * big))
        try store.ledger.append(contentsOf: (1...1030).map { _ in NewEvent(stream: "huge", kind: "charge", amount: big, currency: "JPY") })
        expectError(try CLI.run(["balance", "--stream", "huge"], database: scratch.database), exit: 2, mentions: ["more than 64 bits hold"])
    }

    // MARK: Smaller expectations

    @Test("an idempotent resend says which seq already holds it, and --json says replayed")
    func replays() throws {
        try populate(events: 0, documents: 0)
        let append = ["append", "--stream", "s", "--kind", "charge", "--amount", "1.00", "--currency", "EUR", "--event-id", "e-1"]
        let first = try jsonObject(expectSuccess(try CLI.run(append + ["--json"], database: scratch.database)))
        #expect(first["replayed"] as? Bool == false)
        let again = expectSuccess(try CLI.run(append, database: scratch.database))
        #expect(again.hasPrefix("already recorded as seq 1:"), "\(again)")
        let json = try jsonObject(expectSuccess(try CLI.run(append + ["--json"], database: scratch.database)))
        #expect(json["replayed"] as? Bool == true)
        #expect(json["seq"] as? Int == 1)
    }

    @Test("put keeps the status without --status, drops it with --clear-status, and writes nothing for the same content")
    func putStatus() throws {
        try populate(events: 0, documents: 0)
        expectSuccess(try CLI.run(["put", "k", #"{"a":1}"#, "--status", "open"], database: scratch.database))
        let kept = try jsonObject(expectSuccess(try CLI.run(["put", "k", #"{"a":2}"#, "--json"], database: scratch.database)))
        #expect(kept["status"] as? String == "open")
        #expect(kept["version"] as? Int == 2)
        let same = expectSuccess(try CLI.run(["put", "k", #"{ "a" : 2 }"#], database: scratch.database))
        #expect(same.contains("unchanged at version 2"), "\(same)")
        let cleared = try jsonObject(expectSuccess(try CLI.run(["put", "k", #"{"a":2}"#, "--clear-status", "--json"], database: scratch.database)))
        #expect(cleared["status"] is NSNull)
        #expect(cleared["version"] as? Int == 3)
    }

    @Test("delete removes a document, keeping its history, and honours --expect-version")
    func delete() throws {
        try populate(events: 0, documents: 1)
        expectError(try CLI.run(["delete", "docs/d0", "--expect-version", "5"], database: scratch.database), exit: 4, mentions: ["expected version 5, found 1"])
        let deleted = try jsonObject(expectSuccess(try CLI.run(["delete", "docs/d0", "--json"], database: scratch.database)))
        #expect(deleted["deleted_version"] as? Int == 1)
        expectError(try CLI.run(["get", "docs/d0"], database: scratch.database), exit: 2, mentions: ["docs/d0"])
        expectError(try CLI.run(["delete", "docs/d0"], database: scratch.database), exit: 2, mentions: ["docs/d0"])
    }

    @Test("export - writes the snapshot to standard output and import - reads it from standard input")
    func streamsSnapshots() throws {
        try populate()
        let exported = try CLI.run(["export", "-"], database: scratch.database)
        #expect(exported.status == 0)
        #expect(exported.stdout.hasPrefix(#"{"created_at":"#))
        #expect(exported.stdout.contains(#"{"type":"end","records":5,"#))
        let copy = scratch.file("copy.db")
        let imported = try jsonObject(expectSuccess(try CLI.run(["import", "-", "--json"], database: copy, stdin: exported.stdout)))
        #expect(imported["added"] as? Int == 2)
        #expect(imported["events_appended"] as? Int == 3)
        #expect(try Store(path: copy).ledgerID() == (try Store(path: scratch.database).ledgerID()))
        let full = try CLI.shell(#""$TALLY" --db tally.db export - > /dev/full"#, in: scratch.path)
        #expect(full.status == 5, "\(full)")
    }

    @Test("importing an older snapshot over a newer database is a conflict (exit 4) saying the database is ahead")
    func olderSnapshot() throws {
        try populate()
        expectSuccess(try CLI.run(["export", scratch.file("old.jsonl")], database: scratch.database))
        expectSuccess(try CLI.run(["append", "--stream", "later", "--kind", "charge"], database: scratch.database))
        expectError(try CLI.run(["import", scratch.file("old.jsonl")], database: scratch.database), exit: 4,
                    mentions: ["the database is ahead", "seq 4", "seq 3"])
    }

    @Test("checkpoint --truncate says when readers kept it from truncating (exit 5)")
    func checkpointWithReaders() throws {
        try populate()
        let store = try Store(path: scratch.database)
        // A read transaction held open pins the WAL.
        try store.read { tx in
            _ = try tx.ledger.head()  // the first read takes the snapshot
            try store.state.put("during", body: [:])
            let result = try CLI.run(["checkpoint", "--truncate"], database: scratch.database)
            #expect(result.status == 5, "\(result)")
            #expect(result.stderr.contains("other connections were reading the database"), "\(result)")
        }
        expectSuccess(try CLI.run(["checkpoint", "--truncate"], database: scratch.database))
    }

    // MARK: What goes in comes out

    @Test("one nesting limit: a body 256 levels deep is accepted and exports, imports, mirrors and prints; 257 is refused everywhere")
    func nestingLimit() throws {
        try populate(events: 0, documents: 0)
        let deepest = String(repeating: "[", count: 256) + String(repeating: "]", count: 256)
        let document = "{\"n\":" + String(repeating: "[", count: 255) + String(repeating: "]", count: 255) + "}"
        expectSuccess(try CLI.run(["put", "deep/doc", document], database: scratch.database))
        expectSuccess(try CLI.run(["append", "--stream", "s", "--kind", "k", "--payload", document], database: scratch.database))
        // Prints, as text and inside --json's wrapper.
        #expect(try jsonObject(expectSuccess(try CLI.run(["get", "deep/doc", "--json"], database: scratch.database)))["key"] as? String == "deep/doc")
        expectSuccess(try CLI.run(["log", "--json"], database: scratch.database))
        // Exports, imports into a new database, and mirrors.
        expectSuccess(try CLI.run(["export", scratch.file("deep.jsonl")], database: scratch.database))
        expectSuccess(try CLI.run(["import", scratch.file("deep.jsonl")], database: scratch.file("copy.db")))
        expectSuccess(try CLI.run(["mirror", scratch.file("mirror")], database: scratch.file("copy.db")))
        expectSuccess(try CLI.run(["reconcile", "--dir", scratch.file("mirror")], database: scratch.file("copy.db")))
        expectSuccess(try CLI.run(["verify"], database: scratch.file("copy.db")))
        // One level more is refused at every door, naming the limit.
        expectError(try CLI.run(["put", "deep/too", "{\"n\":" + deepest + "}"], database: scratch.database),
                    exit: 2, mentions: ["256"])
        expectError(try CLI.run(["append", "--stream", "s", "--kind", "k", "--payload", "{\"n\":" + deepest + "}"], database: scratch.database),
                    exit: 2, mentions: ["256"])
    }

    // MARK: Backups

    @Test("three backups --keep 1 within one second keep the newest, under names that never collide")
    func backupNames() throws {
        try populate()
        var made: [String] = []
        for _ in 0..<3 {
            let result = try jsonObject(expectSuccess(try CLI.run(["backup", scratch.file("b"), "--keep", "1", "--json"], database: scratch.database)))
            made.append(try #require(result["path"] as? String))
        }
        #expect(Set(made).count == 3)
        let left = try FileManager.default.contentsOfDirectory(atPath: scratch.file("b"))
        #expect(left == [(made[2] as NSString).lastPathComponent])
    }

    @Test("restore keeps the database file's permissions")
    func restoreKeepsMode() throws {
        try populate()
        let backup = try #require(try jsonObject(expectSuccess(try CLI.run(["backup", scratch.file("b"), "--json"], database: scratch.database)))["path"] as? String)
        chmod(scratch.database, 0o640)
        expectSuccess(try CLI.run(["restore", backup], database: scratch.database))
        let attributes = try FileManager.default.attributesOfItem(atPath: scratch.database)
        #expect((attributes[.posixPermissions] as? Int) == 0o640)
    }
}
