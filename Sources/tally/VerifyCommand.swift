import ArgumentParser
import Tally

/// `tally verify`: checks the database on its own.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the database: integrity, foreign keys, the ledger's hash chain, every state checksum, history.",
        discussion: """
            Runs PRAGMA integrity_check and foreign_key_check, recomputes the ledger's hash chain and every state \
            document's checksum, and checks ledger_seq references and that state_history agrees with state. \
            Nothing is changed.
            Exit status: 0 clean, 1 findings, 2 bad usage or not a Tally database, 3 corruption (integrity check \
            failed, ledger chain broken, a state body not matching its checksum), 5 I/O error.
            """)

    @OptionGroup var global: GlobalOptions

    func run() throws {
        // Read-only: a damaged database must not be migrated or switched to WAL on the way in.
        let store = try global.openStore(readOnly: true)
        let report = try store.verify()
        if global.json {
            try Output.json(report)
        } else if !global.quiet || !report.isClean {
            print(report.renderTable())
        }
        if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
    }
}
