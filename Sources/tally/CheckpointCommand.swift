import ArgumentParser
import Tally

/// `tally checkpoint`: copies the WAL back into the database file.
struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Copy WAL content into the database file; --truncate also empties the -wal file.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Wait for readers and writers, then empty the -wal file (exit 5 if they do not finish in time).")
    var truncate = false

    struct Summary: Encodable {
        let mode: String
        let walFrames: Int
        let checkpointedFrames: Int
        let busy: Bool

        enum CodingKeys: String, CodingKey {
            case mode, busy
            case walFrames = "wal_frames", checkpointedFrames = "checkpointed_frames"
        }
    }

    func run() throws {
        let store = try global.openExistingStore()
        let result = try store.checkpoint(truncate ? .truncate : .passive)
        let summary = Summary(mode: truncate ? "truncate" : "passive", walFrames: result.walFrames,
                              checkpointedFrames: result.checkpointedFrames, busy: result.wasBusy)
        if global.json {
            try Output.json(summary)
        } else if !global.quiet {
            print("checkpoint (\(summary.mode)): \(result.checkpointedFrames) of \(result.walFrames) WAL frames copied into \(store.path)"
                + (result.wasBusy ? "; other connections kept it from completing" : ""))
        }
        if result.wasBusy && truncate {
            throw TallyError.lockTimeout(path: store.path, seconds: store.configuration.busyTimeout)
        }
    }
}
