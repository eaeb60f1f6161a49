import ArgumentParser
import Foundation
import Tally

/// `tally`: the command line over the Tally library. Each subcommand lives in its own file
/// and only parses, calls the library and prints.
@main
struct TallyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tally",
        abstract: "A hash-chained ledger and checksummed JSON state documents on SQLite.",
        discussion: """
            Exit codes: 0 ok · 1 findings · 2 usage or bad input · 3 corruption · 4 conflict · 5 I/O or lock timeout.
            The database is --db, else $TALLY_DB, else ./tally.db.
            """,
        subcommands: [
            InitCommand.self, MigrateCommand.self,
            AppendCommand.self, LogCommand.self, BalanceCommand.self,
            PutCommand.self, GetCommand.self, ListCommand.self,
            ExportCommand.self, ImportCommand.self, MirrorCommand.self,
            ReconcileCommand.self, VerifyCommand.self,
            BackupCommand.self, RestoreCommand.self, StatsCommand.self, CheckpointCommand.self,
            DemoCommand.self,
        ]
    )

    /// Runs the command, mapping every failure to DESIGN.md's exit codes: argument errors
    /// to 2, ``TallyError`` to its ``TallyError/exitCode``, each as one line on stderr.
    static func main() {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(globalOptionsAfterSubcommand(Array(CommandLine.arguments.dropFirst())))
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))  // --help, --version
                Foundation.exit(0)
            }
            var text = oneLine(message(for: error))
            while text.hasSuffix(".") { text.removeLast() }
            Output.error("error: \(text). Run `tally \(subcommandName().map { "\($0) " } ?? "")--help` for usage.")
            Foundation.exit(2)
        }
        do {
            try command.run()
        } catch let error as TallyError {
            Output.error("error: \(oneLine(error.description))")
            Foundation.exit(error.exitCode)
        } catch let error as ExitCode {
            Foundation.exit(error.rawValue)
        } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))  // help requested while running (`tally`, `tally help`)
                Foundation.exit(0)
            }
            Output.error("error: \(oneLine(message(for: error)))")
            Foundation.exit(2)
        }
    }

    /// Collapses a message onto one line, so every error is exactly one line of stderr.
    static func oneLine(_ text: String) -> String {
        var result = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .joined(separator: " ")
        if result.hasPrefix("Error: ") { result.removeFirst("Error: ".count) }
        return result
    }

    /// DESIGN.md writes `tally [--db PATH] [--json] [--quiet] [--log-level L] <command>`, but
    /// each subcommand owns its copy of ``GlobalOptions``: move global options given before
    /// the subcommand's name to just after it, so both positions work.
    static func globalOptionsAfterSubcommand(_ arguments: [String]) -> [String] {
        let names = Set(configuration.subcommands.compactMap { $0.configuration.commandName })
        let valued: Set<String> = ["--db", "--log-level"]
        let flags: Set<String> = ["--json", "--quiet"]
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if names.contains(argument) {
                return [argument] + leading + arguments[(index + 1)...]
            }
            let name = String(argument.split(separator: "=", maxSplits: 1).first ?? "")
            if flags.contains(argument) || (valued.contains(name) && argument.contains("=")) {
                leading.append(argument)
                index += 1
            } else if valued.contains(argument), index + 1 < arguments.count {
                leading.append(contentsOf: arguments[index...(index + 1)])
                index += 2
            } else {
                return arguments  // something else (--help, a typo): let the parser report it
            }
        }
        return arguments
    }

    /// The subcommand named on the command line, for pointing at its help.
    private static func subcommandName() -> String? {
        let names = Set(configuration.subcommands.map { $0.configuration.commandName ?? "" })
        return CommandLine.arguments.dropFirst().first { names.contains($0) }
    }
}
