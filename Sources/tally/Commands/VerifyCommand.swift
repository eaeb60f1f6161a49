import ArgumentParser
import Tally

/// `tally verify`: checks the database on its own.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the database: integrity, schema, foreign keys, the ledger's hash chain and Merkle tree, every state checksum, history.",
        discussion: """
            Runs PRAGMA integrity_check and foreign_key_check, compares the schema with the one the migrations \
            create (a dropped or changed trigger is corruption), recomputes the ledger's hash chain (and notices a \
            tail deleted with plain SQL) and every state document's checksum, and checks ledger_seq references and \
            that state_history agrees with state. It rebuilds the Merkle tree from the events and compares the \
            stored nodes and every signed checkpoint with it; --checkpoint FILE --public-key KEY adds checkpoints \
            kept elsewhere, which a rewritten history fails even when every hash was recomputed. Nothing is changed.
            Exit status: 0 clean, 1 findings, 2 bad usage or not a Tally database, 3 corruption, 5 I/O error.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("A signed checkpoint kept outside the database (repeatable): the ledger must still hold exactly the events it signed.", valueName: "path"),
            completion: .file())
    var checkpoint: [String] = []

    @Option(name: .customLong("public-key"), help: ArgumentHelp("The ledger's public key (KEY.pub), to verify the checkpoints' signatures.", valueName: "path"),
            completion: .file())
    var publicKey: String?

    func validate() throws {
        if !checkpoint.isEmpty && publicKey == nil {
            throw ValidationError("--checkpoint needs --public-key: a checkpoint is only evidence once its signature is verified")
        }
        if checkpoint.isEmpty && publicKey != nil { throw ValidationError("--public-key goes with --checkpoint") }
    }

    func run() throws {
        var checkpoints: [Checkpoint] = []
        if let publicKey {
            let key = String(decoding: try Input.readNamedFile(publicKey, field: "--public-key"), as: UTF8.self)
            for path in checkpoint {
                let note = String(decoding: try Input.readNamedFile(path, field: "--checkpoint"), as: UTF8.self)
                checkpoints.append(try Checkpoint(signedNote: note, publicKey: key))
            }
        }
        // Read-only: a damaged database must not be migrated or switched to WAL on the way
        // in, and its damage is the report.
        let store = try global.openStoreForReading()
        if let given = checkpoints.first, let ledger = given.ledgerID, ledger != (try store.ledgerID()) {
            throw TallyError.invalidInput(field: "--checkpoint", reason: "it is a checkpoint of ledger \(ledger), but \(store.path) holds ledger \(try store.ledgerID())")
        }
        let report = try store.verify(checkpoints: checkpoints)
        let status: ExitStatus = report.isCorrupt ? .corruption : (report.isClean ? .ok : .findings)
        if global.json {
            try Console.out.json(report, exitStatus: status)
        } else if !global.quiet || !report.isClean {
            try Console.out.line(ReportTables.verify(report))
        }
        if status != .ok { throw status.exit }
    }
}
