import ArgumentParser
import Tally

/// `tally verify`: checks the database on its own.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the database: integrity, schema, foreign keys, the ledger's hash chain, every state checksum, history.",
        discussion: """
            Runs PRAGMA integrity_check and foreign_key_check, compares the schema with the one the migrations \
            create (a dropped or changed trigger is corruption), recomputes the ledger's hash chain (and notices a \
            tail deleted with plain SQL) and every state document's checksum, and checks ledger_seq references and \
            that state_history agrees with state. Nothing is changed.
            Exit status: 0 clean, 1 findings, 2 bad usage or not a Tally database, 3 corruption, 5 I/O error.
            """)

    @OptionGroup var global: GlobalOptions

    func run() throws {
        // Read-only: a damaged database must not be migrated or switched to WAL on the way
        // in, and its damage is the report.
        let store = try global.openStoreForReading()
        let report = try store.verify()
        let status: ExitStatus = report.isCorrupt ? .corruption : (report.isClean ? .ok : .findings)
        if global.json {
            try Console.out.json(report, exitStatus: status)
        } else if !global.quiet || !report.isClean {
            try Console.out.line(ReportTables.verify(report))
        }
        if status != .ok { throw status.exit }
    }
}
