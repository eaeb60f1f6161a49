import ArgumentParser
import Logging
import Tally
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Options every subcommand accepts, before or after its name.
struct GlobalOptions: ParsableArguments, CommonOptions {
    @Option(name: .long, help: ArgumentHelp("The database file, or a PostgreSQL connection string (postgresql://…) (default: $TALLY_DB, then ./tally.db).", valueName: "path"),
            completion: .file(extensions: ["db"]))
    var db: String?

    @Flag(name: .long, help: "Print JSON (one document, or JSON Lines for streams) instead of tables; errors too.")
    var json = false

    @Flag(name: .long, help: "Print nothing but errors and requested data; no progress bars.")
    var quiet = false

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .warning

    /// The command-line names of these options: (options that take a value, flags). Written
    /// out because reading them off the type (``reflectedNames``) costs a fifth of `tally`'s
    /// start-up; a test keeps the two equal.
    static let names: (valued: Set<String>, flags: Set<String>) = (["--db", "--log-level"], ["--json", "--quiet"])

    /// The names read off the type itself (its property wrappers), as ArgumentParser derives
    /// them: what ``names`` must equal.
    static func reflectedNames() -> (valued: Set<String>, flags: Set<String>) {
        var valued = Set<String>(), flags = Set<String>()
        for child in Mirror(reflecting: GlobalOptions()).children {
            guard let label = child.label, label.hasPrefix("_") else { continue }
            let name = "--" + kebab(String(label.dropFirst()))
            if String(describing: type(of: child.value)).hasPrefix("Flag<") { flags.insert(name) } else { valued.insert(name) }
        }
        return (valued, flags)
    }

    /// `logLevel` → `log-level`, as ArgumentParser names long options.
    private static func kebab(_ name: String) -> String {
        var out = ""
        for character in name {
            if character.isUppercase {
                out += "-" + character.lowercased()
            } else {
                out.append(character)
            }
        }
        return out
    }
}

/// The global options as plain values, for `tally append`'s quick parser: constructing
/// ``GlobalOptions`` builds ArgumentParser's property wrappers, whose generic metadata and
/// protocol-conformance lookups cost about a third of a million instructions at start-up.
struct PlainGlobalOptions: CommonOptions {
    var db: String?
    var json = false
    var quiet = false
    var logLevel: Logger.Level = .warning
}

/// What every command does with the global options, whichever way they were read.
protocol CommonOptions {
    /// `--db`: a database file or a PostgreSQL connection string.
    var db: String? { get }
    /// `--json`.
    var json: Bool { get }
    /// `--quiet`.
    var quiet: Bool { get }
    /// `--log-level`.
    var logLevel: Logger.Level { get }
}

extension CommonOptions {
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

    /// Whether --db names a PostgreSQL database (a `postgresql://` URI or a libpq
    /// `key=value` string) rather than a file.
    var isPostgres: Bool {
        let path = Array(databasePath.utf8)
        func has(_ part: StaticString) -> Bool {
            let needle = UnsafeBufferPointer(start: part.utf8Start, count: part.utf8CodeUnitCount)
            guard needle.count <= path.count else { return false }
            return (0...(path.count - needle.count)).contains { start in path[start..<start + needle.count].elementsEqual(needle) }
        }
        func starts(with part: StaticString) -> Bool {
            path.starts(with: UnsafeBufferPointer(start: part.utf8Start, count: part.utf8CodeUnitCount))
        }
        // Byte comparisons: every `tally` run asks this, and `String.contains` (string
        // processing) cost ≈ 0.4 M instructions on first use, 3 % of a `tally append`.
        return starts(with: "postgresql://") || starts(with: "postgres://") || has("dbname=") || has("host=") && has(" ")
    }

    /// Opens the store with these options.
    func openStore(readOnly: Bool = false) throws -> Store {
        var configuration = Store.Configuration()
        configuration.logger = logger
        configuration.readOnly = readOnly
        if isPostgres { return try Store(postgres: databasePath, configuration: configuration) }
        return try Store(path: databasePath, configuration: configuration)
    }

    /// Refuses a command that works on database files only, naming PostgreSQL's tool.
    func requireSQLite(_ command: String, alternative: String) throws {
        guard isPostgres else { return }
        throw TallyError.invalidInput(field: "--db", reason: "`tally \(command)` works on SQLite database files; on PostgreSQL, \(alternative)")
    }

    /// Opens the store for a read command: read-only, so reading never creates or migrates
    /// a database, and a mistyped --db fails instead of leaving an empty file behind.
    func openStoreForReading() throws -> Store {
        try requireDatabase()
        do {
            return try openStore(readOnly: true)
        } catch let TallyError.notATallyDatabase(_, reason) where isPostgres && reason == Store.noPostgresSchemaYet {
            // Said as for a database file that does not exist yet.
            throw TallyError.invalidInput(field: "--db", reason: "\(PostgresConnection.displayName(databasePath)) holds no Tally schema yet; create it with `tally init`, or point --db (or $TALLY_DB) at a Tally database")
        }
    }

    /// Opens an existing store for writing; only `init`, `import` and `restore` create one,
    /// so a mistyped --db cannot scatter new databases around.
    func openExistingStore() throws -> Store {
        if isPostgres {
            // A database without Tally's schema is refused here as a missing file would be.
            _ = try openStoreForReading()
            return try openStore()
        }
        try requireDatabase()
        return try openStore()
    }

    /// The database's absolute path (it must exist), for configuration files that outlive
    /// the current directory.
    func absoluteDatabasePath() throws -> String {
        try requireDatabase()
        guard let real = System.realPath(databasePath) else {
            throw TallyError.invalidInput(field: "--db", reason: "\(databasePath) cannot be resolved to an absolute path")
        }
        return real
    }

    private func requireDatabase() throws {
        if isPostgres { return }
        guard !databasePath.isEmpty else {
            throw TallyError.invalidInput(field: "--db", reason: "it is empty; name a database file, or leave --db out to use $TALLY_DB or ./tally.db")
        }
        switch System.statInfo(databasePath) {
        case let .success(info) where info.kind == .directory:
            throw TallyError.invalidInput(field: "--db", reason: "\(databasePath) is a directory; point --db (or $TALLY_DB) at a database file")
        case .success:
            return
        case .failure:
            throw TallyError.invalidInput(field: "database", reason: "\(databasePath) does not exist; create it with `tally init`, or point --db (or $TALLY_DB) at an existing database")
        }
    }

    /// A progress bar on stderr, drawing only on a terminal and without --quiet.
    func progressBar() -> ProgressBar {
        ProgressBar(quiet: quiet || json)
    }

    /// Prints a line for people unless --quiet or --json.
    func say(_ line: String) throws(OutputFailure) {
        if !quiet && !json { try Console.out.line(line) }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
