import ArgumentParser
import Tally

/// `tally checkpoint`: WAL checkpoints (the default).
struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "WAL checkpoints (`tally checkpoint [--truncate]`), and signed Merkle checkpoints (`sign`, `list`).",
        subcommands: [WALCheckpointCommand.self, SignCheckpointCommand.self, ListCheckpointsCommand.self],
        defaultSubcommand: WALCheckpointCommand.self)
}

/// `tally checkpoint wal`: copies the WAL back into the database file.
struct WALCheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wal",
        abstract: "Copy WAL content into the database file; --truncate also empties the -wal file.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Wait for readers and writers, then empty the -wal file (exit 5 if they keep it from completing).")
    var truncate = false

    func run() throws {
        try global.requireSQLite("checkpoint wal", alternative: "the server checkpoints its own WAL (CHECKPOINT)")
        let store = try global.openExistingStore()
        let result = try store.checkpointWAL(truncate: truncate)
        if global.json {
            try Console.out.json(result)
        } else if !global.quiet {
            try Console.out.line("checkpoint (\(truncate ? "truncate" : "passive")): \(result.checkpointedFrames) of \(result.walFrames) WAL frames copied into \(store.path)"
                + (result.wasBusy ? "; other connections (readers) kept it from completing" : ""))
        }
        if result.wasBusy && truncate {
            try Console.out.flush()
            Console.error("error: other connections were reading the database, so the -wal file was not truncated "
                + "(\(result.checkpointedFrames) of \(result.walFrames) frames copied). Retry when they have finished.")
            throw ExitStatus.io.exit
        }
    }
}

/// `tally checkpoint sign --key KEY`: signs the ledger's Merkle tree head.
struct SignCheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign the ledger's current Merkle tree head with KEY, record it, and print the signed checkpoint.",
        discussion: """
            The output is a C2SP tlog-checkpoint signed note: the origin (tally/<ledger id>), the number of events, \
            the base64 Merkle root, and the signature. Publish it somewhere the database's owner cannot rewrite; \
            later, `tally verify --checkpoint FILE --public-key KEY.pub` proves the ledger still holds exactly those \
            events. Make a key with `tally keygen`.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The private key file written by `tally keygen`.", valueName: "path"), completion: .file())
    var key: String

    @Option(help: ArgumentHelp("Also write the signed checkpoint to this file (atomically).", valueName: "path"), completion: .file())
    var output: String?

    func run() throws {
        let keyText = String(decoding: try Input.readNamedFile(key, field: "--key"), as: UTF8.self)
        if case let .success(info) = System.statInfo(key), info.permissions & 0o077 != 0 {
            Console.error("warning: \(key) can be read by others (mode \(String(info.permissions, radix: 8))); chmod 600 it")
        }
        let signingKey = try Checkpoint.SigningKey(privateKeyText: keyText)
        let store = try global.openExistingStore()
        let checkpoint = try store.signCheckpoint(with: signingKey)
        if let output { try AtomicFile.write(Array(checkpoint.signedNote.utf8), to: output, permissions: 0o644) }
        if global.json {
            try Console.out.json(checkpoint)
        } else {
            try Console.out.write(checkpoint.signedNote)
        }
    }
}

/// `tally checkpoint list`.
struct ListCheckpointsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the signed checkpoints recorded for this ledger, oldest first.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let store = try global.openStoreForReading()
        let checkpoints = try store.checkpoints()
        if global.json {
            try Console.out.json(["checkpoints": checkpoints])
            return
        }
        guard !global.quiet else { return }
        if checkpoints.isEmpty {
            try Console.out.line("no checkpoints (sign one with `tally checkpoint sign --key KEY`)")
            return
        }
        let rows = checkpoints.map { [String($0.size), $0.rootHash, $0.origin] }
        for line in Output.table(["SIZE", "ROOT", "ORIGIN"], rows) { try Console.out.line(line) }
    }
}
