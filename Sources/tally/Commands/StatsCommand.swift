import ArgumentParser
import Tally

/// `tally stats`: counts, sizes and SQLite figures.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show counts, file sizes and SQLite page figures.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let store = try global.openStoreForReading()
        let stats = try store.statistics()
        if global.json {
            try Console.out.json(stats)
        } else if !global.quiet {
            for line in Output.pairs([
                ["database", "\(stats.path) (\(Output.bytes(stats.databaseBytes)))"],
                ["wal", "\(Output.bytes(stats.walBytes)), room for \(Output.count(stats.walFrames, "frame")) (journal_mode \(stats.journalMode))"],
                ["schema version", "\(stats.schemaVersion)"],
                ["events", "\(stats.events) in \(Output.count(stats.streams, "stream")), head seq \(stats.ledgerHeadSeq)"],
                ["documents", "\(stats.documents) (\(Output.count(stats.historyRows, "history row")))"],
                ["checkpoints", stats.latestCheckpointSize.map { "\(stats.checkpoints) signed, the latest covering \(Output.count($0, "event"))" } ?? "none signed"],
                ["consumers", "\(stats.consumers)"],
                ["pages", "\(stats.pageCount) × \(stats.pageSize) bytes, \(stats.freelistCount) free"],
                ["sqlite", stats.sqliteVersion],
            ]) {
                try Console.out.line(line)
            }
        }
    }
}
