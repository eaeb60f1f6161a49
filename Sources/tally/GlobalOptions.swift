import ArgumentParser
import Foundation
import Logging
import Tally

/// Options every subcommand accepts.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "The database file (default: $TALLY_DB, then ./tally.db).")
    var db: String?

    @Flag(name: .long, help: "Print JSON (one document, or JSON Lines for streams) instead of tables.")
    var json = false

    @Flag(name: .long, help: "Print nothing but errors and requested data; no progress bars.")
    var quiet = false

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .warning

    /// The database path after applying the defaults.
    var databasePath: String {
        if let db { return db }
        if let environment = ProcessInfo.processInfo.environment["TALLY_DB"], !environment.isEmpty { return environment }
        return "tally.db"
    }

    /// A logger writing to stderr at the chosen level.
    var logger: Logger {
        var logger = Logger(label: "tally") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = logLevel
        return logger
    }

    /// Opens the store with these options.
    func openStore(readOnly: Bool = false) throws -> Store {
        var configuration = Store.Configuration()
        configuration.logger = logger
        configuration.readOnly = readOnly
        return try Store(path: databasePath, configuration: configuration)
    }

    /// Opens the store for a read command: read-only, so reading never creates or migrates
    /// a database, and a mistyped --db fails instead of leaving an empty file behind.
    func openStoreForReading() throws -> Store {
        try requireDatabase()
        return try openStore(readOnly: true)
    }

    /// Opens an existing store for writing; only `tally init` creates one, so a mistyped
    /// --db cannot scatter new databases around.
    func openExistingStore() throws -> Store {
        try requireDatabase()
        return try openStore()
    }

    private func requireDatabase() throws {
        guard FileManager.default.fileExists(atPath: databasePath) else {
            throw TallyError.invalidInput(field: "database", reason: "\(databasePath) does not exist; create it with `tally init`, or point --db (or $TALLY_DB) at an existing database")
        }
    }

    /// A progress bar on stderr, drawing only on a terminal and without --quiet.
    func progressBar() -> ProgressBar {
        ProgressBar(quiet: quiet)
    }

    /// Prints a line for people unless --quiet or --json.
    func say(_ line: String) {
        if !quiet && !json { print(line) }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
