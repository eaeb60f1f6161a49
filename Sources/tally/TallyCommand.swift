import ArgumentParser
import Tally

/// `tally`: the command line over the Tally library. Each subcommand lives in its own file
/// under `Commands/` and only parses, calls the library and prints.
@main
struct TallyCommand: ParsableCommand {
    /// This build's version, printed by `tally --version`.
    static let version = "0.2.0"

    static let configuration = CommandConfiguration(
        commandName: "tally",
        abstract: "A hash-chained ledger and checksummed JSON state documents on SQLite.",
        discussion: """
            Exit codes: 0 ok · 1 findings · 2 usage or bad input · 3 corruption · 4 conflict · 5 I/O or lock timeout.
            The database is --db, else $TALLY_DB, else ./tally.db. Global options may come before or after the command.
            """,
        version: version,
        subcommands: [DemoCommand.self],
        groupedSubcommands: [
            CommandGroup(name: "Ledger", subcommands: [AppendCommand.self, LogCommand.self, BalanceCommand.self, ConsumersCommand.self]),
            CommandGroup(name: "State documents", subcommands: [PutCommand.self, GetCommand.self, ListCommand.self, DeleteCommand.self]),
            CommandGroup(name: "Snapshots and the mirror", subcommands: [
                ExportCommand.self, ImportCommand.self, MirrorCommand.self, ReconcileCommand.self,
            ]),
            CommandGroup(name: "Integrity and proofs", subcommands: [
                VerifyCommand.self, KeygenCommand.self, ProveCommand.self, VerifyProofCommand.self,
            ]),
            CommandGroup(name: "Maintenance", subcommands: [
                InitCommand.self, MigrateCommand.self, BackupCommand.self, RestoreCommand.self, ReplicateCommand.self,
                StatsCommand.self, CheckpointCommand.self,
            ]),
        ]
    )

    /// Runs the command, mapping every failure to the documented exit codes (``ExitStatus``),
    /// each as one line on stderr, or one JSON document with `--json`.
    static func main() {
        System.ignoreBrokenPipeSignal()
        let arguments = Array(CommandLine.arguments.dropFirst())
        let wantsJSON = arguments.contains("--json")
        if let problem = invalidUTF8Argument() {
            fail(.usage, kind: "usage", message: problem, json: wantsJSON)
        }
        let run: () throws -> Void
        if let append = AppendCommand.quickParse(arguments) {
            run = append.run
        } else {
            var command = parse(arguments, json: wantsJSON)
            run = { try command.run() }
        }
        do {
            try run()
            try Console.out.flush()
        } catch let error as TallyError {
            try? Console.out.flush()
            fail(ExitStatus(error), kind: ErrorWording.kind(error), message: oneLine(ErrorWording.message(error)), json: wantsJSON)
        } catch let error as OutputFailure {
            fail(.io, kind: "output", message: error.message, json: wantsJSON)
        } catch let error as CommandFailure {
            try? Console.out.flush()
            fail(error.status, kind: error.kind, message: oneLine(error.message), json: wantsJSON)
        } catch let error as ExitCode {
            do {
                try Console.out.flush()
            } catch {
                fail(.io, kind: "output", message: error.message, json: wantsJSON)
            }
            exit(error.rawValue)
        } catch {
            try? Console.out.flush()
            if exitCode(for: error) == .success {
                finishWithHelp(fullMessage(for: error))  // `tally help`
            }
            fail(.usage, kind: "usage", message: oneLine(message(for: error)), json: wantsJSON)
        }
        exit(ExitStatus.ok.rawValue)
    }

    /// Parses the command line with ArgumentParser, after moving global options given before
    /// the command's name behind it; a usage error or `--help`/`--version` ends the process.
    private static func parse(_ arguments: [String], json wantsJSON: Bool) -> any ParsableCommand {
        let rewritten = globalOptionsLast(arguments)
        if rewritten.command == nil, !arguments.contains(where: { ["-h", "--help", "help", "--version"].contains($0) }) {
            fail(.usage, kind: "usage",
                 message: "a command is missing: tally [--db PATH] [--json] [--quiet] <command> [options]. Run `tally --help` for the commands.",
                 json: wantsJSON)
        }
        do {
            return try parseAsRoot(rewritten.arguments)
        } catch {
            if exitCode(for: error) == .success {
                finishWithHelp(fullMessage(for: error))  // --help, --version
            }
            var text = oneLine(message(for: error))
            while text.hasSuffix(".") { text.removeLast() }
            fail(.usage, kind: "usage", message: "\(text). Run `tally \(rewritten.command.map { "\($0) " } ?? "")--help` for usage.",
                 json: wantsJSON)
        }
    }

    /// Prints an error (one line, or one JSON document) on stderr and exits with `status`.
    static func fail(_ status: ExitStatus, kind: String, message: String, json: Bool) -> Never {
        if json {
            let document: JSONValue = ["error": ["exit_code": .number(Double(status.rawValue)), "kind": .string(kind),
                                                 "message": .string(message)]]
            Console.error(document.description)
        } else {
            Console.error("error: " + message)
        }
        exit(status.rawValue)
    }

    private static func finishWithHelp(_ text: String) -> Never {
        do {
            try Console.out.line(text)
            try Console.out.flush()
        } catch {
            fail(.io, kind: "output", message: error.message, json: false)
        }
        exit(ExitStatus.ok.rawValue)
    }

    private static func exit(_ code: Int32) -> Never {
        System.exit(code)
    }

    /// Collapses a message onto one line, so every error is exactly one line of stderr.
    static func oneLine(_ text: String) -> String {
        var result = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingPrefix(while: { $0 == " " || $0 == "\t" }) }
            .filter { !$0.isEmpty }
            .joined(separator: " ")
        if result.hasPrefix("Error: ") { result.removeFirst("Error: ".count) }
        return result
    }

    /// The first argument that is not valid UTF-8, described; Swift would otherwise replace
    /// its bad bytes with U+FFFD and store the mangled text.
    private static func invalidUTF8Argument() -> String? {
        for index in 1..<Int(CommandLine.argc) {
            guard let pointer = CommandLine.unsafeArgv[index] else { continue }
            let bytes = Array(UnsafeBufferPointer(start: pointer, count: strlenOf(pointer))).map { UInt8(bitPattern: $0) }
            if let offset = Input.firstInvalidUTF8(bytes) {
                return "argument \(index) is not valid UTF-8 at byte \(offset); pass text as UTF-8"
            }
        }
        return nil
    }

    private static func strlenOf(_ pointer: UnsafeMutablePointer<CChar>) -> Int {
        var count = 0
        while pointer[count] != 0 { count += 1 }
        return count
    }

    /// Moves global options given before the command's name to the end, so that
    /// `tally --db X log` parses like `tally log --db X`: each subcommand owns its copy of
    /// ``GlobalOptions``. The option names come from ``GlobalOptions/names``. Returns the
    /// arguments and the command's name (nil when there is none).
    static func globalOptionsLast(_ arguments: [String]) -> (arguments: [String], command: String?) {
        // The common case, `tally append …`: nothing precedes the command's name, so there is
        // nothing to move and no need to learn the option names (reflection, ~20 % of start-up).
        if let first = arguments.first, !first.hasPrefix("-") { return (arguments, first) }
        let (valued, flags) = GlobalOptions.names
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let name = String(argument.split(separator: "=", maxSplits: 1).first ?? "")
            if flags.contains(argument) || (valued.contains(name) && argument.contains("=")) {
                leading.append(argument)
                index += 1
            } else if valued.contains(argument) {
                leading.append(contentsOf: arguments[index..<min(index + 2, arguments.count)])
                index += 2
            } else {
                break
            }
        }
        guard index < arguments.count else { return (arguments, nil) }
        let command = arguments[index]
        guard !command.hasPrefix("-") else { return (arguments, nil) }
        var rest = Array(arguments[index...])
        // Before a `--`, everything after it is positional.
        let end = rest.firstIndex(of: "--") ?? rest.count
        rest.insert(contentsOf: leading, at: end)
        return (rest, command)
    }
}
