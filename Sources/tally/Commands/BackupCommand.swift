import ArgumentParser
import Tally

/// `tally backup`: a verified, self-contained copy of the database.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the database to DIR/tally-YYYYMMDDTHHMMSS.mmmZ.db (SQLite online backup, verified, atomic).",
        discussion: """
            Writers may go on meanwhile. The copy is checked (integrity_check, schema, ledger chain) before it is \
            published under a name no other backup has. --keep N keeps the newest N backups in DIR by creation time; \
            the backup just made is never removed, and files that are not backups are never touched.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The backup directory (created if missing).", completion: .directory)
    var directory: String

    @Option(parsing: .unconditional, help: "Keep only the newest N backups in DIR (older tally-*.db files are removed).")
    var keep: Int?

    func validate() throws {
        if let keep, keep < 1 { throw ValidationError("--keep must be at least 1 (the backup just made is always kept)") }
    }

    func run() throws {
        try global.requireSQLite("backup", alternative: "back up with pg_basebackup (a physical copy) or pg_dump")
        let store = try global.openStoreForReading()
        let bar = global.progressBar()
        defer { bar.finish() }
        let result = try store.backup(toDirectory: directory, keep: keep, progress: bar.callback)
        bar.finish()
        if global.json {
            try Console.out.json(result)
        } else if !global.quiet {
            try Console.out.line("backed up \(store.path) to \(result.path) (\(Output.bytes(result.bytes)), \(Output.count(result.pages, "page")))")
            try Console.out.line("  verified: integrity ok, \(Output.count(result.events, "event")) chained to seq \(result.ledgerHeadSeq), \(Output.count(result.documents, "document"))")
            for path in result.removed { try Console.out.line("  removed old backup \(path)") }
        }
    }
}
