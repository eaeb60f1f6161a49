import ArgumentParser
import Tally

/// `tally migrate`: shows applied and pending migrations, and applies the pending ones.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Show applied and pending schema migrations; apply the pending ones.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Only show the status; change nothing.")
    var status = false

    struct Row: Encodable {
        let version: Int
        let name: String
        let checksum: String
        let state: String
    }

    func run() throws {
        let rows: [Row]
        if status {
            let current = try Store.migrationStatus(path: global.databasePath)
            rows = current.applied.map { Row(version: $0.version, name: $0.name, checksum: $0.checksum, state: "applied") }
                + current.pending.map { Row(version: $0.version, name: $0.name, checksum: $0.checksum, state: "pending") }
        } else {
            let store = try global.openStore()
            let justApplied = Set(store.appliedMigrations.map(\.version))
            rows = try store.migrationStatus().applied.map {
                Row(version: $0.version, name: $0.name, checksum: $0.checksum, state: justApplied.contains($0.version) ? "applied now" : "applied")
            }
        }
        if global.json {
            try Output.json(rows)
        } else if !global.quiet {
            Output.table(["VERSION", "NAME", "STATE", "SHA-256"], rows.map { ["\($0.version)", $0.name, $0.state, String($0.checksum.prefix(16)) + "…"] })
        }
    }
}
