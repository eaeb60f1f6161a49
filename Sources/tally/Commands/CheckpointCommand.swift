import ArgumentParser
import Tally

/// `tally checkpoint`: WAL checkpoints (the default).
struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Copy WAL content into the database file (`tally checkpoint [--truncate]`).",
        subcommands: [WALCheckpointCommand.self],
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
