import ArgumentParser
import Tally

/// `tally log`: prints ledger events in order, streamed from the library's cursors (each
/// event's hash is recomputed as it is read); with `--follow`, then every new event as it
/// is committed.
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Print ledger events in seq order (JSON Lines with --json); every event is verified as it is read.",
        discussion: """
            With --follow, keep printing each new event as soon as its commit is durable, whichever \
            process made it, one line (or one JSON line) per event, flushed as it comes, until \
            interrupted or --limit events were printed. --consumer NAME resumes where that consumer \
            stopped and records what was printed (at least once: events printed just before an \
            interruption may print again on the next run).
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "Only this stream's events.")
    var stream: String?

    @Option(parsing: .unconditional, help: "Only events after this seq.")
    var since: Int64 = 0

    @Option(parsing: .unconditional, help: "At most this many events.")
    var limit: Int?

    @Flag(help: "Keep printing new events as they are committed, until interrupted.")
    var follow = false

    @Option(name: .customLong("kind"), help: "With --follow: only events of this kind (repeatable).")
    var kinds: [String] = []

    @Option(help: "With --follow: resume where this consumer stopped, and record the events printed.")
    var consumer: String?

    func validate() throws {
        if since < 0 { throw ValidationError("--since \(since) is negative; negative values are not allowed") }
        if let limit, limit < 0 { throw ValidationError("--limit \(limit) is negative; negative values are not allowed") }
        if !follow && (consumer != nil || !kinds.isEmpty) {
            throw ValidationError("--consumer and --kind go with --follow")
        }
        if consumer != nil && since != 0 {
            throw ValidationError("--since and --consumer both say where to start; give one (reset a consumer with `tally consumers reset`)")
        }
    }

    func run() throws {
        if follow { return try runFollowing() }
        let store = try global.openStoreForReading()
        var cursor = stream.map { store.ledger.events(inStream: $0) } ?? store.ledger.events(from: since + 1)
        var table = Output.StreamingTable(["SEQ", "RECORDED", "STREAM", "VER", "KIND", "AMOUNT", "QTY", "PAYLOAD"])
        var printed = 0
        while limit.map({ printed < $0 }) ?? true, let event = try cursor.next() {
            // A stream's cursor walks its versions; --since still counts in ledger seqs.
            if event.seq <= since { continue }
            printed += 1
            if global.json {
                try Console.out.json(event)
            } else if !global.quiet {
                try table.append(Self.row(event))
            }
        }
        if !global.json && !global.quiet {
            try table.finish()
        }
    }

    /// `--follow`: the catch-up, then live events, each line flushed as it is printed.
    private func runFollowing() throws {
        let store = consumer == nil ? try global.openStoreForReading() : try global.openExistingStore()
        let filter = kinds.isEmpty ? nil : Set(kinds)
        let tracked = try consumer.map { try store.consumer($0, stream: stream, kinds: filter) }
        var feed = store.ledger.follow(after: try tracked?.position() ?? since, stream: stream, kinds: filter)
        var printed = 0
        var acknowledged = try tracked?.position() ?? 0
        /// Records progress: through `seq` when everything read so far was printed.
        func acknowledge(_ seq: Int64) throws {
            guard let tracked, seq > acknowledged else { return }
            try tracked.acknowledge(through: seq)
            acknowledged = seq
        }
        while limit.map({ printed < $0 }) ?? true {
            // Drain what is ready without waiting; before waiting, record how far we got.
            var update = try feed.next(timeout: 0)
            if update == nil {
                try acknowledge(feed.position)
                update = try feed.next()
            }
            guard let update else { break }
            switch update {
            case let .event(event):
                if global.json {
                    try Console.out.json(event)
                } else {
                    try Console.out.line(Output.line(Self.row(event), widths: Self.followWidths))
                }
                try Console.out.flush()
                printed += 1
                if printed % 256 == 0 { try acknowledge(event.seq) }
                if let limit, printed >= limit { try acknowledge(event.seq) }
            case let .caughtUp(seq):
                if !global.quiet && System.isTerminal(System.standardError) {
                    Console.error("-- caught up at seq \(seq); following new commits (Ctrl-C to stop)")
                }
            }
        }
    }

    /// Fixed column widths for followed events (a live stream cannot measure its rows first).
    private static let followWidths = [6, 24, 18, 4, 10, 14, 6, 0]

    static func row(_ event: LedgerEvent) -> [String] {
        ["\(event.seq)", event.recordedAt, Output.printable(event.stream), "\(event.streamVersion)", Output.printable(event.kind),
         Output.money(event.amount, event.currency), event.quantity.map { JSONNumberFormatter.string($0) } ?? "",
         event.payload == [:] ? "" : Output.clipped(event.payload)]
    }
}
