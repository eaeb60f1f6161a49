import ArgumentParser
import Tally

/// `tally backup`: a verified, self-contained copy of the database.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the database to DIR/tally-YYYYMMDDTHHMMSSZ.db (SQLite online backup, verified, atomic).",
        discussion: "Writers may go on meanwhile. The copy is checked (integrity_check, ledger chain) before it is published.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The backup directory (created if missing).")
    var directory: String

    @Option(help: "Keep only the newest N backups in DIR (older tally-*.db files are removed).")
    var keep: Int?

    func validate() throws {
        if let keep, keep < 1 { throw ValidationError("--keep must be at least 1") }
    }

    func run() throws {
        let store = try global.openStoreForReading()
        let bar = global.progressBar()
        defer { bar.finish() }
        let result = try store.backup(toDirectory: directory, keep: keep, progress: bar.callback)
        bar.finish()
        if global.json {
            try Output.json(result)
        } else if !global.quiet {
            print("backed up \(store.path) to \(result.path) (\(Output.bytes(result.bytes)), \(Output.count(result.pages, "page")))")
            print("  verified: integrity ok, \(Output.count(result.events, "event")) chained to seq \(result.ledgerHeadSeq), \(Output.count(result.documents, "document"))")
            for path in result.removed { print("  removed old backup \(path)") }
        }
    }
}
