import ArgumentParser
import Tally

/// `tally log`: prints ledger events in order, streamed from the library's cursors (each
/// event's hash is recomputed as it is read).
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Print ledger events in seq order (JSON Lines with --json); every event is verified as it is read.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Only this stream's events.")
    var stream: String?

    @Option(parsing: .unconditional, help: "Only events after this seq.")
    var since: Int64 = 0

    @Option(parsing: .unconditional, help: "At most this many events.")
    var limit: Int?

    func validate() throws {
        if since < 0 { throw ValidationError("--since \(since) is negative; negative values are not allowed") }
        if let limit, limit < 0 { throw ValidationError("--limit \(limit) is negative; negative values are not allowed") }
    }

    func run() throws {
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

    static func row(_ event: LedgerEvent) -> [String] {
        ["\(event.seq)", event.recordedAt, Output.printable(event.stream), "\(event.streamVersion)", Output.printable(event.kind),
         Output.money(event.amount, event.currency), event.quantity.map { JSONNumberFormatter.string($0) } ?? "",
         event.payload == [:] ? "" : Output.clipped(event.payload)]
    }
}
