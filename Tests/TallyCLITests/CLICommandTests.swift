import Foundation
import Testing

/// Every command's happy path, through the built binary, in tables and in JSON.
@Suite("CLI: commands")
struct CLICommandTests {
    let scratch = Scratch()

    @Test("init, append (decimal amounts by currency exponent), log and balance")
    func ledgerCommands() throws {
        try initDatabase(scratch)
        let db = scratch.database
        let charge = try jsonObject(expectSuccess(try CLI.run(
            ["append", "--stream", "invoice/INV-1", "--kind", "charge", "--amount", "12.50", "--currency", "EUR",
             "--payload", #"{"sku":"A1"}"#, "--event-id", "charge-1", "--expect-version", "0", "--json"], database: db)))
        #expect(charge["amount"] as? Int == 1250)
        #expect(charge["seq"] as? Int == 1)
        #expect((charge["payload"] as? [String: Any])?["sku"] as? String == "A1")
        let payment = expectSuccess(try CLI.run(
            ["append", "--stream", "invoice/INV-1", "--kind", "payment", "--amount", "-10.00", "--currency", "EUR",
             "--expect-version", "1"], database: db))
        #expect(payment.contains("appended seq 2"))
        #expect(payment.contains("-10.00 EUR"))
        expectSuccess(try CLI.run(["append", "--stream", "invoice/INV-2", "--kind", "charge", "--amount", "500",
                                   "--currency", "JPY"], database: db))
        expectSuccess(try CLI.run(["append", "--stream", "invoice/INV-3", "--kind", "charge", "--amount", "1.250",
                                   "--currency", "BHD", "--payload", "-"], database: db, stdin: #"{"from":"stdin"}"#))
        expectSuccess(try CLI.run(["append", "--stream", "usage/agent-1", "--kind", "usage", "--quantity", "3.5"], database: db))
        // Resending with the same event id stores nothing new.
        let again = try jsonObject(expectSuccess(try CLI.run(
            ["append", "--stream", "invoice/INV-1", "--kind", "charge", "--amount", "12.50", "--currency", "EUR",
             "--payload", #"{"sku":"A1"}"#, "--event-id", "charge-1", "--json"], database: db)))
        #expect(again["seq"] as? Int == 1)

        let events = try jsonLines(expectSuccess(try CLI.run(["log", "--json"], database: db)))
        #expect(events.map { $0["seq"] as? Int } == [1, 2, 3, 4, 5])
        #expect(events[2]["amount"] as? Int == 500)
        #expect(events[3]["amount"] as? Int == 1250)
        let since = try jsonLines(expectSuccess(try CLI.run(["log", "--json", "--since", "2", "--limit", "2"], database: db)))
        #expect(since.map { $0["seq"] as? Int } == [3, 4])
        let stream = try jsonLines(expectSuccess(try CLI.run(["log", "--json", "--stream", "invoice/INV-1"], database: db)))
        #expect(stream.map { $0["kind"] as? String } == ["charge", "payment"])
        let table = expectSuccess(try CLI.run(["log"], database: db))
        #expect(table.hasPrefix("SEQ"))
        #expect(table.contains("12.50 EUR"))
        #expect(table.contains("1.250 BHD"))

        let balances = try jsonObject(expectSuccess(try CLI.run(["balance", "--json"], database: db)))
        let rows = try #require(balances["balances"] as? [[String: Any]])
        #expect(rows.count == 3)
        // Minor units as a string: a sum may pass 2^53, where JSON readers round numbers.
        #expect(rows.first { $0["stream"] as? String == "invoice/INV-1" }?["balance"] as? String == "250")
        #expect(rows.first { $0["stream"] as? String == "invoice/INV-1" }?["balance_decimal"] as? String == "2.50")
        let one = expectSuccess(try CLI.run(["balance", "--stream", "invoice/INV-2"], database: db))
        #expect(one.contains("invoice/INV-2"))
        #expect(one.contains("500"))
        #expect(!one.contains("INV-1"))
    }

    @Test("put (inline, @file, stdin), get and list")
    func stateCommands() throws {
        try initDatabase(scratch)
        let db = scratch.database
        let put = try jsonObject(expectSuccess(try CLI.run(
            ["put", "invoices/INV-1", #"{"customer":"Acme","total":"12.50"}"#, "--status", "unpaid",
             "--expect-version", "0", "--json"], database: db)))
        #expect(put["version"] as? Int == 1)
        try Data(#"{"note":"from a file"}"#.utf8).write(to: URL(fileURLWithPath: scratch.file("body.json")))
        expectSuccess(try CLI.run(["put", "notes/a", "@" + scratch.file("body.json")], database: db))
        expectSuccess(try CLI.run(["put", "notes/b", "-", "--status", "draft"], database: db, stdin: "[1, 2, 3]"))
        let updated = expectSuccess(try CLI.run(["put", "invoices/INV-1", #"{"customer":"Acme","total":"12.50"}"#,
                                                 "--status", "paid", "--expect-version", "1"], database: db))
        #expect(updated.contains("version 2"))

        let got = try jsonObject(expectSuccess(try CLI.run(["get", "invoices/INV-1", "--json"], database: db)))
        #expect(got["status"] as? String == "paid")
        #expect((got["body"] as? [String: Any])?["customer"] as? String == "Acme")
        let pretty = expectSuccess(try CLI.run(["get", "notes/a"], database: db))
        #expect(pretty.contains("\"note\": \"from a file\""))

        let all = try jsonLines(expectSuccess(try CLI.run(["list", "--json"], database: db)))
        #expect(all.map { $0["key"] as? String } == ["invoices/INV-1", "notes/a", "notes/b"])
        let notes = try jsonLines(expectSuccess(try CLI.run(["list", "--json", "--prefix", "notes/"], database: db)))
        #expect(notes.count == 2)
        let drafts = expectSuccess(try CLI.run(["list", "--status", "draft"], database: db))
        #expect(drafts.contains("notes/b"))
        #expect(!drafts.contains("notes/a"))
    }

    @Test("export, import (replace, merge, dry run) into a new database, and mirror")
    func snapshotCommands() throws {
        try initDatabase(scratch)
        let db = scratch.database
        expectSuccess(try CLI.run(["append", "--stream", "s", "--kind", "charge", "--amount", "1", "--currency", "EUR"], database: db))
        expectSuccess(try CLI.run(["put", "a/b", #"{"x":1}"#, "--status", "open"], database: db))
        let snapshot = scratch.file("snap.tally.jsonl")
        let summary = try jsonObject(expectSuccess(try CLI.run(["export", snapshot, "--json"], database: db)))
        #expect(summary["documents"] as? Int == 1)
        #expect(summary["events"] as? Int == 1)
        let lines = try String(contentsOfFile: snapshot, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4)  // header, state, event, end
        let stateOnly = try jsonObject(expectSuccess(try CLI.run(["export", scratch.file("state.jsonl"), "--no-ledger",
                                                                  "--prefix", "a/", "--json"], database: db)))
        #expect(stateOnly["events"] as? Int == 0)

        let other = scratch.file("other.db")
        let dry = try jsonObject(expectSuccess(try CLI.run(["import", snapshot, "--dry-run", "--json"], database: other)))
        #expect(dry["added"] as? Int == 1)
        #expect(dry["dry_run"] as? Bool == true)
        let emptyAfterDryRun = try jsonLines(expectSuccess(try CLI.run(["list", "--json"], database: other)))
        #expect(emptyAfterDryRun.isEmpty)
        let imported = try jsonObject(expectSuccess(try CLI.run(["import", snapshot, "--json"], database: other)))
        #expect(imported["added"] as? Int == 1)
        #expect(imported["events_appended"] as? Int == 1)
        let merged = expectSuccess(try CLI.run(["import", snapshot, "--mode", "merge"], database: other))
        #expect(merged.contains("1 unchanged"))

        let mirror = scratch.file("mirror")
        let report = try jsonObject(expectSuccess(try CLI.run(["mirror", mirror, "--json"], database: db)))
        #expect(report["written"] as? Int == 1)
        #expect(FileManager.default.fileExists(atPath: mirror + "/a/b.json"))
        #expect(FileManager.default.fileExists(atPath: mirror + "/MANIFEST.json"))
        let again = expectSuccess(try CLI.run(["mirror", mirror], database: db))
        #expect(again.contains("0 written, 1 unchanged"))
    }

    @Test("backup (verified, rotated), stats and checkpoint")
    func maintenanceCommands() throws {
        try initDatabase(scratch)
        let db = scratch.database
        expectSuccess(try CLI.run(["append", "--stream", "s", "--kind", "charge", "--amount", "1", "--currency", "EUR"], database: db))
        let backups = scratch.file("backups")
        var names: [String] = []
        for _ in 0..<3 {
            let result = try jsonObject(expectSuccess(try CLI.run(["backup", backups, "--keep", "2", "--json"], database: db)))
            names.append(try #require(result["path"] as? String))
            #expect(result["events"] as? Int == 1)
        }
        let kept = try FileManager.default.contentsOfDirectory(atPath: backups).sorted()
        #expect(kept.count == 2)
        #expect(Set(kept) == Set(names.suffix(2).map { ($0 as NSString).lastPathComponent }))
        #expect(kept.allSatisfy { $0.hasPrefix("tally-") && $0.hasSuffix(".db") })

        let stats = try jsonObject(expectSuccess(try CLI.run(["stats", "--json"], database: db)))
        #expect(stats["events"] as? Int == 1)
        #expect(stats["journal_mode"] as? String == "wal")
        #expect((stats["page_size"] as? Int ?? 0) > 0)
        #expect(stats["checkpoints"] as? Int == 0)
        #expect(stats["consumers"] as? Int == 0)
        let table = expectSuccess(try CLI.run(["stats"], database: db))
        #expect(table.contains("sqlite"))
        #expect(table.contains("none signed"), "\(table)")
        let key = scratch.file("ledger.key")
        expectSuccess(try CLI.run(["keygen", key], database: db))
        expectSuccess(try CLI.run(["checkpoint", "sign", "--key", key, "--output", scratch.file("cp-1.txt")], database: db))
        let signed = expectSuccess(try CLI.run(["stats"], database: db))
        #expect(signed.contains("1 signed, the latest covering 1 event"), "\(signed)")
        #expect(try jsonObject(expectSuccess(try CLI.run(["stats", "--json"], database: db)))["latest_checkpoint_size"] as? Int == 1)

        let checkpoint = try jsonObject(expectSuccess(try CLI.run(["checkpoint", "--truncate", "--json"], database: db)))
        #expect(checkpoint["busy"] as? Bool == false)
        let after = try jsonObject(expectSuccess(try CLI.run(["stats", "--json"], database: db)))
        #expect(after["wal_bytes"] as? Int == 0)
    }

    @Test("global options work before the subcommand too, and --db beats $TALLY_DB")
    func globalOptionsPosition() throws {
        let db = scratch.database
        expectSuccess(try CLI.run(["--db", db, "init"]))
        expectSuccess(try CLI.run(["--db", db, "--quiet", "put", "k", "{}"]))
        let listed = try jsonLines(expectSuccess(try CLI.run(["--json", "--db=\(db)", "list"])))
        #expect(listed.count == 1)
        let quiet = expectSuccess(try CLI.run(["put", "k2", "{}", "--quiet"], database: db))
        #expect(quiet.isEmpty)
        let elsewhere = try jsonLines(expectSuccess(try CLI.run(["list", "--json", "--db", db], database: scratch.file("nothing.db"))))
        #expect(elsewhere.count == 2)
    }

    @Test("every read command's --json output parses")
    func jsonEverywhere() throws {
        try initDatabase(scratch)
        let db = scratch.database
        expectSuccess(try CLI.run(["append", "--stream", "s", "--kind", "charge", "--amount", "1", "--currency", "EUR"], database: db))
        expectSuccess(try CLI.run(["put", "k", #"{"a":[1,2,{"b":null}]}"#], database: db))
        for arguments in [["get", "k"], ["balance"], ["stats"], ["init"], ["migrate", "--status"]] {
            let result = try CLI.run(arguments + ["--json"], database: db)
            #expect(result.status == 0, "\(arguments): \(result)")
            #expect(throws: Never.self, "\(arguments): \(result.stdout)") {
                try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
            }
        }
        for arguments in [["log"], ["list"]] {
            let result = try CLI.run(arguments + ["--json"], database: db)
            #expect(result.status == 0)
            #expect(try jsonLines(result.stdout).count == 1, "\(arguments): \(result.stdout)")
        }
    }
}
