import Foundation
import Tally
import Testing

/// Progress bars: on a terminal only.
@Suite("CLI: progress bars")
struct CLIProgressTests {
    let scratch = Scratch()

    /// A database with enough rows for several progress reports.
    private func populate() throws {
        let store = try Store(path: scratch.database)
        let events = (0..<3000).map { NewEvent(stream: "s/\($0 % 50)", kind: "charge", amount: 1, currency: "EUR") }
        try store.ledger.append(contentsOf: events)
        try store.write { tx in
            for index in 0..<2500 { try tx.state.put("docs/d\(index)", body: ["n": .number(Double(index))]) }
        }
    }

    @Test("nothing but the result when stderr is a pipe: no carriage returns, no escapes")
    func pipedHasNoBar() throws {
        try populate()
        for command in ["export snap.jsonl", "mirror mirror", "backup backups", "import snap.jsonl --dry-run"] {
            let result = try CLI.shell("\"$TALLY\" --db tally.db \(command) 2>&1 | cat", in: scratch.path)
            #expect(result.status == 0, "\(command): \(result)")
            #expect(!result.stdout.contains("\r"), "\(command): \(result.stdout.debugDescription)")
            #expect(!result.stdout.contains("\u{1B}"), "\(command): \(result.stdout.debugDescription)")
        }
    }

    @Test("a bar with rate and ETA on a terminal, none with --quiet")
    func terminalHasBar() throws {
        let probe = try CLI.shell("command -v script", in: scratch.path)
        guard probe.status == 0 else {
            print("skipped CLIProgressTests.terminalHasBar: `script` (util-linux) is needed to give the command a terminal")
            return
        }
        try populate()
        let shown = try CLI.shell(#"script -qec "\"$TALLY\" --db tally.db export snap.jsonl" /dev/null"#, in: scratch.path)
        #expect(shown.status == 0, "\(shown)")
        #expect(shown.stdout.contains("\u{1B}[K"), "\(shown.stdout.debugDescription)")
        #expect(shown.stdout.contains("ledger"), "\(shown.stdout.debugDescription)")
        #expect(shown.stdout.contains("%"), "\(shown.stdout.debugDescription)")
        #expect(shown.stdout.contains("exported 2500 documents"))
        let quiet = try CLI.shell(#"script -qec "\"$TALLY\" --db tally.db --quiet export snap2.jsonl" /dev/null"#, in: scratch.path)
        #expect(quiet.status == 0, "\(quiet)")
        #expect(!quiet.stdout.contains("\u{1B}[K"), "\(quiet.stdout.debugDescription)")
    }
}
