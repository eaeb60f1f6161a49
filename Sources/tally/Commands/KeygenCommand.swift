import ArgumentParser
import Tally

/// `tally keygen PATH`: an Ed25519 key pair for signing this ledger's checkpoints.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write a new Ed25519 key pair for this ledger's checkpoints: PATH (private, mode 0600) and PATH.pub.",
        discussion: """
            The key is named after the ledger (tally/<ledger id>), in the format of Go's sumdb note package. \
            Keep PATH out of the database and its backups: whoever holds it can sign a rewritten history. \
            Give PATH.pub to whoever checks your checkpoints. Existing files are never overwritten.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("Where to write the private key (PATH.pub gets the public key).", valueName: "path"),
              completion: .file())
    var path: String

    func run() throws {
        let store = try global.openStoreForReading()
        let key = try Checkpoint.SigningKey.generate(forLedger: try store.ledgerID())
        let publicPath = path + ".pub"
        for existing in [path, publicPath] where System.lstatInfo(existing).isSuccess {
            throw TallyError.invalidInput(field: "keygen", reason: "\(existing) already exists; keygen never overwrites a key, choose another path")
        }
        try AtomicFile.createNew(Array((key.privateKeyText + "\n").utf8), at: path, permissions: 0o600)
        try AtomicFile.createNew(Array((key.publicKeyText + "\n").utf8), at: publicPath, permissions: 0o644)
        if global.json {
            try Console.out.json(["name": key.name, "private_key_path": path, "public_key_path": publicPath, "public_key": key.publicKeyText])
        } else if !global.quiet {
            try Console.out.line("wrote \(path) (private, mode 0600) and \(publicPath)")
            try Console.out.line("  key \(key.publicKeyText)")
            try Console.out.line("  sign with: tally checkpoint sign --key \(path)")
        }
    }
}

extension Result {
    var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
