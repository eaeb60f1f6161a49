import ArgumentParser
import Tally

/// `tally mirror`: writes every state document to DIR/<key>.json.
struct MirrorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mirror",
        abstract: "Write every state document to DIR/<key>.json plus DIR/MANIFEST.json (only changed files are rewritten).",
        discussion: """
            It never stops half-way: what it cannot write or will not touch (a link or a FIFO where a file belongs, \
            a file it did not write) is listed, everything else and the manifest are written, and the exit status is 1. \
            A directory that mirrors another database's ledger is refused.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The mirror directory (created if missing).", completion: .directory)
    var directory: String

    func run() throws {
        let store = try global.openStoreForReading()
        let bar = global.progressBar()
        defer { bar.finish() }
        let report = try store.mirror(to: directory, progress: bar.callback)
        bar.finish()
        if global.json {
            try Console.out.json(report, exitStatus: report.isComplete ? .ok : .findings)
        } else if !global.quiet || !report.isComplete {
            try Console.out.line("mirrored \(Output.count(report.documents, "document")) to \(report.directory): \(report.written) written, "
                + "\(report.unchanged) unchanged, \(report.removed) removed (ledger head seq \(report.ledgerHeadSeq))")
            if !report.isComplete { try Console.out.line(ReportTables.mirrorFindings(report)) }
        }
        if !report.isComplete { throw ExitStatus.findings.exit }
    }
}
