import ArgumentParser
import Tally

/// `tally migrate`: shows applied and pending migrations, and applies the pending ones.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Show applied and pending schema migrations; apply the pending ones.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Only show the status; change nothing.")
    var status = false

    func run() throws {
        let current: Store.MigrationStatus
        var appliedNow: [String] = []
        if status {
            try VerifyDatabaseFile.require(global.databasePath)
            current = try Store.migrationStatus(path: global.databasePath)
        } else {
            let store = try global.openStore()
            appliedNow = store.appliedMigrations
            current = try store.migrationStatus()
        }
        if global.json {
            try Console.out.json(current)
        } else if !global.quiet {
            let rows = current.applied.map { ["\($0.version)", $0.name, appliedNow.contains($0.name) ? "applied now" : "applied", Output.short($0.checksum, 16) + "…"] }
                + current.pending.map { ["\($0.version)", $0.name, "pending", Output.short($0.checksum, 16) + "…"] }
            for line in Output.table(["VERSION", "NAME", "STATE", "SHA-256"], rows) { try Console.out.line(line) }
        }
    }
}

/// The checks a command makes before opening a database it will not create.
enum VerifyDatabaseFile {
    static func require(_ path: String) throws {
        switch System.statInfo(path) {
        case let .success(info) where info.kind == .directory:
            throw TallyError.invalidInput(field: "--db", reason: "\(path) is a directory; point --db at a database file")
        case .success:
            return
        case .failure:
            throw TallyError.invalidInput(field: "database", reason: "\(path) does not exist; create it with `tally init`, or point --db (or $TALLY_DB) at an existing database")
        }
    }
}
