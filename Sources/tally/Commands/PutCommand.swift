import ArgumentParser
import Tally

/// `tally put`: creates or replaces a state document.
struct PutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put",
        abstract: "Create or replace a state document.",
        discussion: """
            Without --status the document keeps its current status (--clear-status removes it). Writing the same \
            body and status again writes nothing and says so. Example:
              tally put invoices/INV-1001 '{"customer":"Acme","total":"1250.00"}' --status unpaid --expect-version 0
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The key, e.g. invoices/INV-1001.")
    var key: String

    @Argument(help: ArgumentHelp("The body: JSON, @FILE, or - for standard input.", valueName: "json"),
              completion: .file(extensions: ["json"]))
    var body: String

    @Option(help: "A status label, e.g. unpaid.")
    var status: String?

    @Flag(help: "Remove the document's status.")
    var clearStatus = false

    @Option(parsing: .unconditional, help: "Fail with exit 4 unless the document is at this version (0 = must not exist).")
    var expectVersion: Int64?

    func validate() throws {
        if status != nil && clearStatus { throw ValidationError("give either --status or --clear-status, not both") }
        if let expectVersion, expectVersion < 0 {
            throw ValidationError("--expect-version \(expectVersion) is negative; negative values are not allowed (0 means a new document)")
        }
    }

    func run() throws {
        let value = try Input.json(body, field: "body")
        let store = try global.openExistingStore()
        let update: StateStore.StatusUpdate = clearStatus ? .clear : status.map { .set($0) } ?? .keep
        let result = try store.state.save(key, body: value, status: update, expectedVersion: expectVersion)
        for other in result.caseCollisions {
            Console.error("warning: '\(Output.printable(key))' and '\(Output.printable(other))' differ only in letter case; "
                + "their mirror files collide on case-insensitive file systems (macOS, Windows). Rename one.")
        }
        let document = result.document
        if global.json {
            guard case var .object(members) = try JSONValue(encoding: document) else { return }
            members["changed"] = .bool(result.written)  // not "written": mirror's `written` is a count
            try Console.out.line(JSONValue.object(members).description)
        } else if !global.quiet {
            let status = document.status.map { " status \(Output.printable($0))" } ?? ""
            if result.written {
                try Console.out.line("put \(document.key) version \(document.version)\(status)  checksum \(Output.short(document.checksum, 16))…")
            } else {
                try Console.out.line("\(document.key) unchanged at version \(document.version)\(status): the body and status are the same; nothing written")
            }
        }
    }
}
