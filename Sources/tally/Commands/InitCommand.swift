import ArgumentParser
import Tally

/// `tally init`: creates (or opens and migrates) the database.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create the database, or bring an existing one up to date.")

    @OptionGroup var global: GlobalOptions

    struct Summary: Encodable {
        let path: String
        let schemaVersion: Int
        let appliedNow: Int
        let ledgerID: String

        enum CodingKeys: String, CodingKey {
            case path
            case schemaVersion = "schema_version", appliedNow = "applied_now", ledgerID = "ledger_id"
        }
    }

    func run() throws {
        let store = try global.openStore()
        let status = try store.migrationStatus()
        let summary = Summary(path: store.path, schemaVersion: status.schemaVersion, appliedNow: store.appliedMigrations.count,
                              ledgerID: try store.ledgerID())
        if global.json {
            try Console.out.json(summary)
        } else if !global.quiet {
            let verb = store.appliedMigrations.isEmpty ? "already up to date" : (status.applied.count == store.appliedMigrations.count ? "created" : "migrated")
            try Console.out.line("\(store.path): \(verb), schema version \(status.schemaVersion), ledger \(summary.ledgerID)")
        }
    }
}
