import ArgumentParser
import Tally

/// `tally export`: writes a snapshot file (JSON Lines), atomically.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a snapshot of the state documents and the ledger to FILE (atomic, verified on the way).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The snapshot file to write, e.g. backup.tally.jsonl.")
    var file: String

    @Flag(help: "Leave the ledger out (state documents only).")
    var noLedger = false

    @Option(help: "Only state documents whose key starts with this.")
    var prefix = ""

    func run() throws {
        let store = try global.openStoreForReading()
        var options = ExportOptions()
        options.includeLedger = !noLedger
        options.keyPrefix = prefix
        let bar = global.progressBar()
        defer { bar.finish() }
        let summary = try store.exportSnapshot(to: file, options: options, progress: bar.callback)
        bar.finish()
        if global.json {
            try Output.json(summary)
        } else if !global.quiet {
            print("exported \(Output.count(summary.documents, "document")) and \(Output.count(summary.events, "event")) to \(summary.path) (\(Output.bytes(summary.bytes)))")
            print("  ledger head seq \(summary.ledgerHeadSeq)  sha256 \(Output.short(summary.sha256, 16))…")
        }
    }
}
