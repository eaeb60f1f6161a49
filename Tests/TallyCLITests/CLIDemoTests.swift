import Foundation
import Testing

/// `tally demo`: runs twice in the same place, and its reconcile step finds exactly the
/// file it damaged.
@Suite("CLI: demo")
struct CLIDemoTests {
    let scratch = Scratch()

    /// The lines of the numbered step whose title starts with `title`, up to the next step.
    private func section(_ output: String, _ title: String) -> [String] {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(where: { $0.range(of: #"^\d+\. "#, options: .regularExpression) != nil && $0.contains(title) })
        else { return [] }
        let rest = lines[(start + 1)...]
        let end = rest.firstIndex { $0.range(of: #"^\d+\. "#, options: .regularExpression) != nil || $0.hasPrefix("Look inside") } ?? rest.endIndex
        return Array(rest[..<end])
    }

    @Test("runs twice in the same directory; reconcile reports exactly the planted damage, repair fixes it")
    func demoTwice() throws {
        for run in 1...2 {
            let result = try CLI.run(["demo"], in: scratch.path)
            let output = expectSuccess(result)
            #expect(result.stderr.isEmpty, "run \(run): \(result)")
            let findings = section(output, "Reconcile").filter { $0.hasPrefix("   - ") }
            #expect(findings.count == 1, "run \(run): \(output)")
            #expect(findings.first?.contains("invoices/INV-1003") == true, "run \(run): \(output)")
            #expect(findings.first?.contains("tally-demo/mirror/invoices/INV-1003.json") == true)
            #expect(section(output, "Repair").contains { $0.contains("reconcile again: clean") }, "\(output)")
            #expect(section(output, "Verify").contains { $0.contains("Clean: the database is intact.") }, "\(output)")
            #expect(output.contains("sqlite3 tally-demo/tally.db"))
            #expect(output.contains("ledger_balances"))
            #expect(output.contains("state_by_status"))
        }
        // What the demo left is a working Tally database.
        let database = scratch.file("tally-demo/tally.db")
        let invoices = try jsonLines(expectSuccess(try CLI.run(["list", "--json", "--prefix", "invoices/"], database: database)))
        #expect(invoices.count == 5)
        #expect(invoices.filter { $0["status"] as? String == "escalated" }.count == 2)
        let escalations = try jsonLines(expectSuccess(try CLI.run(["log", "--json"], database: database)))
            .filter { $0["kind"] as? String == "escalated" }
        #expect(escalations.count == 2)
        #expect(escalations.allSatisfy { (($0["payload"] as? [String: Any])?["reason"] as? String)?.isEmpty == false })
        let paid = try jsonObject(expectSuccess(try CLI.run(["get", "invoices/INV-1001", "--json"], database: database)))
        #expect(paid["status"] as? String == "paid")
        #expect(paid["ledger_seq"] as? Int != nil)
    }

    @Test("--dir elsewhere works; a directory holding other files is refused and left alone")
    func demoDirectory() throws {
        expectSuccess(try CLI.run(["demo", "--dir", scratch.file("nested/demo")]))
        let foreign = scratch.file("mine")
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: foreign + "/notes.txt"))
        expectError(try CLI.run(["demo", "--dir", foreign]), exit: 2, mentions: ["notes.txt", "--dir"])
        #expect(try String(contentsOfFile: foreign + "/notes.txt", encoding: .utf8) == "keep me")
        // A demo directory someone added a file to is refused as well.
        try Data("x".utf8).write(to: URL(fileURLWithPath: scratch.file("nested/demo/extra.txt")))
        expectError(try CLI.run(["demo", "--dir", scratch.file("nested/demo")]), exit: 2, mentions: ["extra.txt"])
    }

    @Test("the README quotes the demo's output as it is (timestamps and chain hashes aside)")
    func readmeQuote() throws {
        let readme = try String(contentsOfFile: packageRoot.appendingPathComponent("README.md").path, encoding: .utf8)
        let section = try #require(readme.range(of: "### The demo"))
        let fenceStart = try #require(readme.range(of: "```\n", range: section.upperBound..<readme.endIndex))
        let fenceEnd = try #require(readme.range(of: "\n```", range: fenceStart.upperBound..<readme.endIndex))
        let quote = String(readme[fenceStart.upperBound..<fenceEnd.lowerBound])
        let output = expectSuccess(try CLI.run(["demo"], in: scratch.path))
        /// Blanks what changes from run to run: times, and the chain hash that covers them.
        func normalized(_ text: String) -> [String] {
            text.split(separator: "\n", omittingEmptySubsequences: false).map {
                String($0).replacingOccurrences(of: #"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"#, with: "TIME", options: .regularExpression)
                    .replacingOccurrences(of: #"[0-9a-f]{16}…"#, with: "HASH…", options: .regularExpression)
            }
        }
        let produced = normalized(output)
        let quoted = normalized(quote)
        let first = try #require(quoted.first)
        let start = try #require(produced.firstIndex(of: first), "the quote's first line is not in the output")
        #expect(Array(produced[start...].prefix(quoted.count)) == quoted,
                "README's demo quote and `tally demo` differ; paste the demo's output from step 7 into the README")
    }

    @Test("the README's command table names every subcommand `tally --help` lists")
    func readmeCommandTable() throws {
        let readme = try String(contentsOfFile: packageRoot.appendingPathComponent("README.md").path, encoding: .utf8)
        let section = try #require(readme.range(of: "## Command line"))
        let tableStart = try #require(readme.range(of: "| command | does |", range: section.upperBound..<readme.endIndex))
        let tableEnd = readme.range(of: "\n\n", range: tableStart.upperBound..<readme.endIndex)?.lowerBound ?? readme.endIndex
        let table = readme[tableStart.upperBound..<tableEnd]
        let help = expectSuccess(try CLI.run(["--help"]))
        // Subcommands are the indented first words of the lines under each "SUBCOMMANDS:" heading.
        var commands: [String] = []
        var inSubcommands = false
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasSuffix("SUBCOMMANDS:") { inSubcommands = true; continue }
            if line.isEmpty || !line.hasPrefix(" ") { if !line.isEmpty { inSubcommands = false }; continue }
            guard inSubcommands, line.hasPrefix("  "), !line.hasPrefix("   ") else { continue }
            if let name = line.split(separator: " ").first, name.allSatisfy({ $0.isLowercase || $0 == "-" }) {
                commands.append(String(name))
            }
        }
        #expect(commands.count >= 20, "could not read the subcommands from --help: \(help)")
        for command in commands {
            #expect(table.contains("`\(command) ") || table.contains("`\(command)`"),
                    "README's command table does not list `\(command)`; add a row")
        }
    }
}
