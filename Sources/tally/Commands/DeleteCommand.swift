import ArgumentParser
import Tally

/// `tally delete`: deletes a state document (its history keeps every version).
struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a state document; its history keeps every version and records the deletion.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The key, e.g. invoices/INV-1001.")
    var key: String

    @Option(parsing: .unconditional, help: "Fail with exit 4 unless the document is at this version.")
    var expectVersion: Int64?

    func validate() throws {
        if let expectVersion, expectVersion < 1 {
            throw ValidationError("--expect-version \(expectVersion) is not a version a document can have (they start at 1)")
        }
    }

    struct Summary: Encodable {
        let key: String
        let deletedVersion: Int64

        enum CodingKeys: String, CodingKey {
            case key
            case deletedVersion = "deleted_version"
        }
    }

    func run() throws {
        let store = try global.openExistingStore()
        let version = try store.state.delete(key, expectedVersion: expectVersion)
        if global.json {
            try Console.out.json(Summary(key: key, deletedVersion: version))
        } else if !global.quiet {
            try Console.out.line("deleted \(key) (was version \(version)); its history keeps every version")
        }
    }
}
