import ArgumentParser
import Tally

/// `tally init`: creates (or opens and migrates) the database.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create the database, or bring an existing one up to date.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let store = try global.openStore()
        let status = try store.migrationStatus()
        if global.json {
            try Output.json(["path": store.path, "schema_version": "\(status.applied.last?.version ?? 0)", "applied_now": "\(store.appliedMigrations.count)"])
        } else if !global.quiet {
            let verb = store.appliedMigrations.isEmpty ? "already up to date" : "created"
            print("\(store.path): \(verb), schema version \(status.applied.last?.version ?? 0)")
        }
    }
}
