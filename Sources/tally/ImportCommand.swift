import ArgumentParser
import Tally

/// `tally import`: applies a snapshot, all or nothing.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a snapshot: everything is checked first, then applied in one transaction.",
        discussion: "Exit 4 when a merge finds documents both sides changed (they are listed and left alone).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The snapshot file.")
    var file: String

    @Option(help: "replace: documents become the snapshot's; merge: newer versions win, conflicts reported.")
    var mode: ImportMode = .replace

    @Flag(help: "Check and report what would change, then change nothing.")
    var dryRun = false

    func run() throws {
        try Input.requireFile(file, field: "snapshot")
        let store = try global.openStore()  // importing into a new database is a normal use
        let bar = global.progressBar()
        defer { bar.finish() }
        let report = try store.importSnapshot(from: file, mode: mode, dryRun: dryRun, progress: bar.callback)
        bar.finish()
        if global.json {
            try Output.json(report)
        } else if !global.quiet {
            let verb = dryRun ? "would import" : "imported"
            print("\(verb) \(file) (\(report.mode.rawValue)): \(report.added) added, \(report.updated) updated, "
                + "\(report.unchanged) unchanged, \(report.deleted) deleted, \(report.skipped) skipped; "
                + "events: \(report.eventsAppended) appended, \(report.eventsMatched) already present")
            if !report.conflicts.isEmpty {
                print("\(report.conflicts.count) conflict\(report.conflicts.count == 1 ? "" : "s") (both sides changed; left as in the database):")
                Output.table(["KEY", "VERSION", "LINE", "DATABASE", "SNAPSHOT"], report.conflicts.map {
                    [$0.key, "\($0.version)", "\($0.line)", Output.short($0.databaseChecksum) + "…", Output.short($0.snapshotChecksum) + "…"]
                })
            }
        }
        if !report.conflicts.isEmpty {
            Output.error("error: \(report.conflicts.count) document\(report.conflicts.count == 1 ? "" : "s") conflicted and \(report.conflicts.count == 1 ? "was" : "were") not imported; resolve them with `tally put KEY … --expect-version N` and import again.")
            throw ExitCode(4)
        }
    }
}

extension ImportMode: ExpressibleByArgument {}
