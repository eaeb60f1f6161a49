import ArgumentParser
import Tally

/// `tally restore`: replaces the database with a verified backup.
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Replace the database with a backup, after verifying it; refused while another process uses the database.",
        discussion: """
            The replaced database is kept beside it as DB.replaced-YYYYMMDDTHHMMSS.mmmZ, and the restored file keeps \
            its permissions. A database that is ahead of the backup (events the backup lacks) or whose history \
            differs is not replaced without --force (exit 4), and the message says how many events it would discard.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The backup file, e.g. backups/tally-20250101T120000.000Z.db.", completion: .file(extensions: ["db"]))
    var file: String

    @Flag(help: "Restore even when the database has events the backup lacks (they are discarded; the old file is kept).")
    var force = false

    func run() throws {
        try global.requireSQLite("restore", alternative: "restore with PostgreSQL's tools (pg_restore, or a base backup and WAL replay)")
        try Input.requireReadable(file, field: "backup")
        var options = Store.RestoreOptions()
        options.force = force
        let result = try Store.restore(from: file, to: global.databasePath, options: options)
        if global.json {
            try Console.out.json(result)
        } else if !global.quiet {
            try Console.out.line("restored \(result.databasePath) from \(result.backupPath): \(Output.count(result.events, "event")) (head seq \(result.ledgerHeadSeq)), "
                + "\(Output.count(result.documents, "document")), schema version \(result.schemaVersion)")
            if result.eventsDiscarded > 0 {
                try Console.out.line("  discarded \(Output.count(result.eventsDiscarded, "event")) the database had beyond the backup (--force)")
            }
            if let replaced = result.replacedPath {
                try Console.out.line("  the replaced database is kept as \(replaced)")
            }
        }
    }
}
