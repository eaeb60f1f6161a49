import ArgumentParser
import Tally

/// `tally put`: creates or replaces a state document.
struct PutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put",
        abstract: "Create or replace a state document.",
        discussion: """
            Example: tally put invoices/INV-1001 '{"customer":"Acme","total":"1250.00"}' --status unpaid --expect-version 0
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The key, e.g. invoices/INV-1001.")
    var key: String

    @Argument(help: "The body: JSON, @FILE, or - for standard input.")
    var body: String

    @Option(help: "A status label, e.g. unpaid.")
    var status: String?

    @Option(help: "Fail with exit 4 unless the document is at this version (0 = must not exist).")
    var expectVersion: Int64?

    func run() throws {
        let value = try Input.json(body, field: "body")
        let store = try global.openExistingStore()
        let document = try store.state.put(key, body: value, status: status, expectedVersion: expectVersion)
        if global.json {
            try Output.json(document)
        } else if !global.quiet {
            print("put \(document.key) version \(document.version)\(document.status.map { " status \($0)" } ?? "")  checksum \(Output.short(document.checksum, 16))…")
        }
    }
}
