import ArgumentParser
import Tally

/// `tally export`: writes a snapshot file (JSON Lines), atomically, or streams it to stdout.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a snapshot of the state documents and the ledger to FILE (atomic, verified on the way).",
        discussion: """
            FILE appears complete or not at all. With - the snapshot goes to standard output instead, which is \
            not atomic: if the export fails half-way, the reader gets a snapshot without its end record (which \
            `tally import` refuses) and the exit status says so.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The snapshot file to write, e.g. backup.tally.jsonl, or - for standard output.", valueName: "file"),
              completion: .file(extensions: ["jsonl"]))
    var file: String

    @Flag(help: "Leave the ledger out (state documents only).")
    var noLedger = false

    @Option(help: "Only state documents whose key starts with this.")
    var prefix = ""

    @Option(parsing: .unconditional, help: "Keep this many previous snapshots at FILE as FILE.bak.1 … FILE.bak.N.")
    var keepPrevious = 0

    func validate() throws {
        if keepPrevious < 0 { throw ValidationError("--keep-previous \(keepPrevious) is negative; negative values are not allowed") }
        if file == "-" && keepPrevious > 0 { throw ValidationError("--keep-previous needs a FILE, not - (standard output)") }
    }

    func run() throws {
        let store = try global.openStoreForReading()
        var options = Store.ExportOptions()
        options.includeLedger = !noLedger
        options.keyPrefix = prefix
        options.keepPrevious = keepPrevious
        let bar = global.progressBar()
        defer { bar.finish() }
        if file == "-" {
            // The snapshot is the output: no summary, so a pipe gets exactly a snapshot.
            var outputFailure: OutputFailure?
            do {
                try store.exportSnapshot(options: options, progress: bar.callback) { (bytes) throws(TallyError) in
                    do throws(OutputFailure) {
                        try Console.out.write(bytes: bytes)
                    } catch {
                        outputFailure = error
                        throw TallyError.io(step: "write", path: "standard output", errno: error.errno.rawValue)
                    }
                }
            } catch {
                if let outputFailure { throw outputFailure }
                throw error
            }
            return
        }
        let summary = try store.exportSnapshot(to: file, options: options, progress: bar.callback)
        bar.finish()
        if global.json {
            try Console.out.json(summary)
        } else if !global.quiet {
            try Console.out.line("exported \(Output.count(summary.documents, "document")) and \(Output.count(summary.events, "event")) to \(summary.path) (\(Output.bytes(summary.bytes)))")
            try Console.out.line("  ledger head seq \(summary.ledgerHeadSeq)  sha256 \(Output.short(summary.sha256, 16))…")
        }
    }
}
