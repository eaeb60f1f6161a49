import ArgumentParser
import Tally

/// `tally list`: lists state documents in key order, streamed from the library's cursor.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List state documents in key order (JSON Lines with --json).")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Only keys starting with this, e.g. invoices/.")
    var prefix = ""

    @Option(help: "Only documents with this status.")
    var status: String?

    func run() throws {
        let store = try global.openStoreForReading()
        var cursor = store.state.list(prefix: prefix, status: status)
        var table = Output.StreamingTable(["KEY", "VERSION", "STATUS", "UPDATED", "LEDGER SEQ", "CHECKSUM"])
        while let document = try cursor.next() {
            if global.json {
                try Console.out.json(document)
            } else if !global.quiet {
                try table.append([document.key, "\(document.version)", document.status.map(Output.printable) ?? "", document.updatedAt,
                                  document.ledgerSeq.map { "\($0)" } ?? "", Output.short(document.checksum) + "…"])
            }
        }
        if !global.json && !global.quiet { try table.finish() }
    }
}
