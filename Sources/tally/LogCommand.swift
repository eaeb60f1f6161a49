import ArgumentParser
import Tally

/// `tally log`: prints ledger events in order, streamed from the library's cursors.
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Print ledger events in seq order (JSON Lines with --json).")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Only this stream's events.")
    var stream: String?

    @Option(help: "Only events after this seq.")
    var since: Int64 = 0

    @Option(help: "At most this many events.")
    var limit: Int?

    func validate() throws {
        if since < 0 { throw ValidationError("--since must be 0 or more") }
        if let limit, limit < 0 { throw ValidationError("--limit must be 0 or more") }
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
                try Output.json(event)
            } else if !global.quiet {
                table.append(["\(event.seq)", event.recordedAt, event.stream, "\(event.streamVersion)", event.kind,
                              Output.money(event.amount, event.currency), event.quantity.map { "\($0)" } ?? "",
                              event.payload == [:] ? "" : Output.clipped(event.payload)])
            }
        }
        if !global.json && !global.quiet {
            table.finish()
        }
    }
}
