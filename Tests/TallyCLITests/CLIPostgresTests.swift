import Foundation
import Tally
import Testing

/// `tally --db postgresql://…`: the commands that make sense on PostgreSQL work as on a file;
/// the file-level ones say so and name PostgreSQL's tool.
@Suite("CLI on PostgreSQL: the same commands, and the file-only ones refused with the alternative",
       .enabled(if: ProcessInfo.processInfo.environment["TALLY_TEST_POSTGRES"] != nil, "needs the PostgreSQL test server (TALLY_TEST_POSTGRES)"))
struct CLIPostgresTests {
    let scratch = Scratch("tally-cli-pg")

    /// A fresh schema on the test server, as a connection string.
    private func database() throws -> String {
        let uri = try #require(ProcessInfo.processInfo.environment["TALLY_TEST_POSTGRES"])
        let schema = "cli_" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let setup = Process()
        setup.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        setup.arguments = ["psql", uri, "-qc", "CREATE SCHEMA \(schema)"]
        setup.standardOutput = FileHandle.nullDevice
        try setup.run()
        setup.waitUntilExit()
        #expect(setup.terminationStatus == 0, "psql could not create the schema")
        return uri + "&options=-csearch_path%3D" + schema
    }

    @Test("init, append, log, balance, put, get, list, delete, export, import, mirror, reconcile, verify, stats, follow")
    func commands() throws {
        let db = try database()
        // Before `init`, commands say what to run, as for a missing database file, and
        // create nothing.
        for command in [["put", "k", "{}"], ["log"]] {
            expectError(try CLI.run(["--db", db] + command), exit: 2, mentions: ["holds no Tally schema yet; create it with `tally init`"])
        }
        expectSuccess(try CLI.run(["--db", db, "init"]))
        expectSuccess(try CLI.run(["--db", db, "append", "--stream", "invoice/1", "--kind", "charge", "--amount", "12.50", "--currency", "EUR"]))
        let replay = try CLI.run(["--db", db, "append", "--stream", "invoice/1", "--kind", "note", "--event-id", "e-1"])
        #expect(replay.status == 0)
        #expect(expectSuccess(try CLI.run(["--db", db, "append", "--stream", "invoice/1", "--kind", "note", "--event-id", "e-1"])).contains("already recorded as seq 2"))
        let events = try jsonLines(expectSuccess(try CLI.run(["--db", db, "log", "--json"])))
        #expect(events.map { $0["seq"] as? Int } == [1, 2])
        let balance = try jsonObject(expectSuccess(try CLI.run(["--db", db, "balance", "--json"])))
        #expect((balance["balances"] as? [[String: Any]])?.first?["balance_decimal"] as? String == "12.50")
        expectSuccess(try CLI.run(["--db", db, "put", "invoices/1", #"{"total":"12.50"}"#, "--status", "open"]))
        #expect(try jsonObject(expectSuccess(try CLI.run(["--db", db, "get", "invoices/1", "--json"])))["status"] as? String == "open")
        expectSuccess(try CLI.run(["--db", db, "put", "invoices/2", "{}"]))
        expectSuccess(try CLI.run(["--db", db, "delete", "invoices/2"]))
        #expect(try jsonLines(expectSuccess(try CLI.run(["--db", db, "list", "--json"]))).count == 1)
        expectSuccess(try CLI.run(["--db", db, "export", scratch.file("s.jsonl")]))
        expectSuccess(try CLI.run(["import", scratch.file("s.jsonl")], database: scratch.file("copy.db")))
        expectSuccess(try CLI.run(["--db", db, "reconcile", "--snapshot", scratch.file("s.jsonl")]))
        expectSuccess(try CLI.run(["--db", db, "mirror", scratch.file("mirror")]))
        expectSuccess(try CLI.run(["--db", db, "reconcile", "--dir", scratch.file("mirror")]))
        expectSuccess(try CLI.run(["--db", db, "verify"]))
        #expect(try jsonObject(expectSuccess(try CLI.run(["--db", db, "stats", "--json"])))["events"] as? Int == 2)
        #expect(try jsonLines(expectSuccess(try CLI.run(["--db", db, "log", "--follow", "--limit", "2", "--json"]))).count == 2)
        for command in [["backup", scratch.file("b")], ["restore", scratch.file("copy.db")], ["checkpoint", "--truncate"]] {
            expectError(try CLI.run(["--db", db] + command), exit: 2, mentions: ["PostgreSQL"])
        }
    }
}
