import ArgumentParser
import Tally

/// `tally import`: applies a snapshot, all or nothing.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a snapshot: everything is checked first, then applied in one transaction.",
        discussion: """
            FILE may be - (standard input) or a pipe. Exit 4 when the database is ahead of the snapshot (replace), \
            when the ledgers diverge, or when a merge finds documents both sides changed (they are listed and left alone).
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The snapshot file, or - for standard input.", valueName: "file"),
              completion: .file(extensions: ["jsonl"]))
    var file: String

    @Option(help: "replace: documents become the snapshot's; merge: newer versions win, conflicts reported.")
    var mode: Store.ImportMode = .replace

    @Flag(help: "Check and report what would change, then change nothing.")
    var dryRun = false

    func run() throws {
        if file != "-" { try Input.requireReadable(file, field: "snapshot") }
        let store = try global.openStore()  // importing into a new database is a normal use
        let bar = global.progressBar()
        defer { bar.finish() }
        let report = file == "-"
            ? try store.importSnapshot(fromFileDescriptor: System.standardInput, name: "standard input", mode: mode, dryRun: dryRun,
                                       progress: bar.callback)
            : try store.importSnapshot(from: file, mode: mode, dryRun: dryRun, progress: bar.callback)
        bar.finish()
        for pair in report.caseCollisions {
            Console.error("warning: keys \(pair) differ only in letter case; their mirror files collide on case-insensitive file systems. Rename one.")
        }
        if global.json {
            try Console.out.json(report)
        } else if !global.quiet {
            let verb = dryRun ? "would import" : "imported"
            try Console.out.line("\(verb) \(file == "-" ? "standard input" : file) (\(report.mode.rawValue)): \(report.added) added, \(report.updated) updated, "
                + "\(report.unchanged) unchanged, \(report.deleted) deleted, \(report.skipped) skipped; "
                + "events: \(report.eventsAppended) appended, \(report.eventsMatched) already present")
            if !report.conflicts.isEmpty {
                try Console.out.line("\(Output.count(report.conflicts.count, "conflict")) (both sides changed; left as in the database):")
                for line in Output.table(["KEY", "VERSION", "LINE", "DATABASE", "SNAPSHOT"], report.conflicts.map {
                    [$0.key, "\($0.version)", "\($0.line)", Output.short($0.databaseChecksum) + "…", Output.short($0.snapshotChecksum) + "…"]
                }) {
                    try Console.out.line(line)
                }
            }
        }
        if !report.conflicts.isEmpty {
            try Console.out.flush()
            Console.error("error: \(Output.count(report.conflicts.count, "document")) conflicted and \(report.conflicts.count == 1 ? "was" : "were") not imported; "
                + "resolve them with `tally put KEY … --expect-version N` and import again.")
            throw ExitStatus.conflict.exit
        }
    }
}

extension Store.ImportMode: ExpressibleByArgument {}
