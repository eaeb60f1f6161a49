import ArgumentParser
import Tally

/// `tally get`: prints one state document.
struct GetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Print one state document (its checksum is verified on read).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The key, e.g. invoices/INV-1001.")
    var key: String

    func run() throws {
        let store = try global.openStoreForReading()
        guard let document = try store.state.get(key) else { throw TallyError.notFound(key: key) }
        if global.json {
            try Console.out.json(document)
        } else if !global.quiet {
            try Console.out.line("\(document.key)  version \(document.version)  status \(document.status.map(Output.printable) ?? "-")  updated \(document.updatedAt)"
                + (document.ledgerSeq.map { "  ledger seq \($0)" } ?? ""))
            try Console.out.line(document.body.prettyPrinted())
        }
    }
}
