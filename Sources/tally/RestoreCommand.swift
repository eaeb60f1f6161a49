import ArgumentParser
import Tally

/// `tally restore`: replaces the database with a verified backup.
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Replace the database with a backup, after verifying it; refused while another process uses the database.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The backup file, e.g. backups/tally-20250101T120000Z.db.")
    var file: String

    func run() throws {
        try Input.requireFile(file, field: "backup")
        let result = try Store.restore(from: file, to: global.databasePath)
        if global.json {
            try Output.json(result)
        } else if !global.quiet {
            print("restored \(result.databasePath) from \(result.backupPath): \(Output.count(result.events, "event")) (head seq \(result.ledgerHeadSeq)), "
                + "\(Output.count(result.documents, "document")), schema version \(result.schemaVersion)")
        }
    }
}
