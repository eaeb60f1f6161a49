import ArgumentParser
import Tally

/// `tally mirror`: writes every state document to DIR/<key>.json.
struct MirrorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mirror",
        abstract: "Write every state document to DIR/<key>.json plus DIR/MANIFEST.json (only changed files are rewritten).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The mirror directory (created if missing).")
    var directory: String

    func run() throws {
        let store = try global.openStoreForReading()
        let bar = global.progressBar()
        defer { bar.finish() }
        let report = try store.mirror(to: directory, progress: bar.callback)
        bar.finish()
        if global.json {
            try Output.json(report)
        } else if !global.quiet {
            print("mirrored \(Output.count(report.documents, "document")) to \(report.directory): \(report.written) written, "
                + "\(report.unchanged) unchanged, \(report.removed) removed (ledger head seq \(report.ledgerHeadSeq))")
        }
    }
}
