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
        subcommands: [InitCommand.self, MigrateCommand.self, ReconcileCommand.self, VerifyCommand.self]
    )

    /// Runs the command, mapping every failure to DESIGN.md's exit codes: argument errors
    /// to 2, ``TallyError`` to its ``TallyError/exitCode``, each with a one-line message.
    static func main() {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
            } else {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            }
            Foundation.exit(code == .success ? 0 : 2)
        }
        do {
            try command.run()
        } catch let error as TallyError {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            Foundation.exit(error.exitCode)
        } catch let error as ExitCode {
            Foundation.exit(error.rawValue)
        } catch {
            FileHandle.standardError.write(Data("error: \(fullMessage(for: error))\n".utf8))
            Foundation.exit(exitCode(for: error) == .success ? 0 : 2)
        }
    }
}
