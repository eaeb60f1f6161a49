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
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
