import ArgumentParser
import Tally

/// `tally demo`: a collections scenario in a fresh directory, narrated step by step.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a collections scenario in a fresh directory and show what Tally recorded.",
        discussion: """
            Invoices become state documents, charges and payments go to the ledger (one transaction each), \
            two invoices are escalated with reasons; then a snapshot is exported, the state is mirrored to files, \
            one file is damaged on purpose, reconciliation finds it and repair fixes it. --db is not used: \
            the demo keeps its own database in DIR/tally.db. Running it again starts over, removing only files \
            a demo made; a directory holding anything else is refused.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "The demo directory; recreated on every run, refused if it holds anything the demo did not make.",
            completion: .directory)
    var dir = "tally-demo"

    /// Marks a directory as the demo's, so a rerun may empty it.
    static let marker = ".tally-demo"
    /// The files a demo run leaves at the top of its directory (besides the mirror).
    static let artifacts: Set<String> = [marker, "tally.db", "tally.db-wal", "tally.db-shm", "tally.db-journal",
                                         "tally.db.lock", "snapshot.tally.jsonl"]

    struct Invoice {
        let id: String
        let customer: String
        let total: String
        let currency: String
        let due: String
    }

    static let invoices = [
        Invoice(id: "INV-1001", customer: "Acme GmbH", total: "1250.00", currency: "EUR", due: "2025-01-31"),
        Invoice(id: "INV-1002", customer: "Globex Ltd", total: "980.50", currency: "EUR", due: "2024-12-15"),
        Invoice(id: "INV-1003", customer: "Initech SA", total: "1200.00", currency: "EUR", due: "2025-02-28"),
        Invoice(id: "INV-1004", customer: "Tanaka KK", total: "150000", currency: "JPY", due: "2025-01-20"),
        Invoice(id: "INV-1005", customer: "Umbrella Corp", total: "4310.25", currency: "USD", due: "2024-11-30"),
    ]

    func run() throws {
        try DemoDirectory(path: dir).prepare()
        let databasePath = path("tally.db")
        var configuration = Store.Configuration()
        configuration.logger = global.logger
        let store = try Store(path: databasePath, configuration: configuration)
        try say("tally demo: a collections scenario in \(dir)/")

        try step(1, "Five invoices: a state document (status unpaid) and a charge event each, in one transaction per invoice")
        for invoice in Self.invoices {
            let amount = try Money(parsing: invoice.total, currency: invoice.currency)
            let body: JSONValue = ["customer": .string(invoice.customer), "total": .string(invoice.total),
                                   "currency": .string(invoice.currency), "due": .string(invoice.due)]
            let charge = try store.write { tx in
                let charge = try tx.ledger.append(stream: "invoice/\(invoice.id)", kind: "charge", amount: amount.minorUnits,
                                                  currency: invoice.currency, payload: ["customer": .string(invoice.customer)],
                                                  eventID: "charge-\(invoice.id)")
                try tx.state.put("invoices/\(invoice.id)", body: body, status: "unpaid", expectedVersion: 0, causedBy: charge)
                return charge
            }
            try say("   invoices/\(invoice.id)  \(Output.padded(invoice.customer, to: 13))  "
                + "\(amount.description.leftPadded(to: 13))  due \(invoice.due)  charge seq \(charge.seq)")
        }

        try step(2, "Payments: a payment event and the invoice update commit together (causedBy links them)")
        for (id, paid, method) in [("INV-1001", "1250.00", "SEPA transfer"), ("INV-1004", "150000", "bank transfer"),
                                   ("INV-1003", "500.00", "card")] {
            guard let invoice = Self.invoices.first(where: { $0.id == id }) else { continue }
            let amount = try Money(parsing: paid, currency: invoice.currency)
            let full = paid == invoice.total
            let (payment, document) = try store.write { tx in
                let payment = try tx.ledger.append(stream: "invoice/\(id)", kind: "payment", amount: -amount.minorUnits,
                                                   currency: invoice.currency, payload: ["method": .string(method)],
                                                   eventID: "payment-\(id)-1")
                let document = try tx.state.update("invoices/\(id)", status: .set(full ? "paid" : "partially_paid"), causedBy: payment)
                return (payment, document)
            }
            try say("   invoices/\(id)  paid \(amount) by \(method) → status \(document.status ?? "-") (version \(document.version), ledger seq \(payment.seq))")
        }

        try step(3, "Escalations: an escalated event with its reason, and the invoice marked escalated")
        for (id, reason) in [("INV-1002", "60 days overdue, two reminders unanswered"),
                             ("INV-1005", "disputed: customer says the goods never arrived")] {
            let event = try store.write { tx in
                let event = try tx.ledger.append(stream: "invoice/\(id)", kind: "escalated",
                                                 payload: ["reason": .string(reason), "level": 1], eventID: "escalated-\(id)-1")
                try tx.state.update("invoices/\(id)", status: "escalated", causedBy: event)
                return event
            }
            try say("   invoices/\(id)  escalated (seq \(event.seq)): \(reason)")
        }

        try step(4, "Balances from the ledger (charges minus payments, per stream and currency)")
        var cursor = store.ledger.balances()
        var rows: [[String]] = []
        while let balance = try cursor.next() {
            rows.append([balance.stream, Money.format(minorUnits: balance.balance, currency: balance.currency).leftPadded(to: 9),
                         balance.currency, Output.count(balance.events, "event")])
        }
        for line in Output.table(["STREAM", "BALANCE", "CURRENCY", "EVENTS"], rows, indent: "   ") { try say(line) }

        try step(5, "Snapshot: one JSON Lines file, written atomically from one consistent read")
        let snapshot = try store.exportSnapshot(to: path("snapshot.tally.jsonl"))
        try say("   \(snapshot.path): \(snapshot.documents) documents, \(snapshot.events) events, sha256 \(Output.short(snapshot.sha256, 16))…")

        let mirror = path("mirror")
        try step(6, "Mirror: every document as a file, \(mirror)/<key>.json")
        let mirrored = try store.mirror(to: mirror)
        try say("   wrote \(mirrored.written) files and MANIFEST.json (ledger head seq \(mirrored.ledgerHeadSeq))")

        try step(7, "Damage: someone edits a mirror file by hand")
        let damaged = try damageMirror(mirror)
        try say("   \(damaged): total 1200.00 → 12000.00 (checksum left as it was)")

        try step(8, "Reconcile the mirror with the database")
        let found = try store.reconcile(against: .directory(mirror))
        try say("   \(Output.count(found.findings.count, "finding"))\(found.isClean ? ": clean" : ":")")
        for finding in found.findings {
            try say("   - \(finding.kind.rawValue)  \(finding.key ?? "-")  \(finding.path ?? "-")")
            try say("     \(finding.detail)")
        }

        try step(9, "Repair: rewrite the disagreeing files from the database, then reconcile again")
        let repaired = try store.repair(mirror: mirror)
        for finding in repaired.findings { try say("   rewrote \(finding.path ?? "-")") }
        let again = try store.reconcile(against: .directory(mirror))
        try say("   reconcile again: \(again.isClean ? "clean" : "\(again.findings.count) findings remain")")

        try step(10, "Verify the database on its own (integrity, schema, hash chain, Merkle tree, checksums)")
        let verified = try store.verify()
        for line in ReportTables.verify(verified).split(separator: "\n") { try say("   \(line)") }

        try say("")
        try say("Look inside with sqlite3; the views are made for it:")
        try say("   sqlite3 \(databasePath)")
        try query(databasePath, "SELECT * FROM ledger_balances;")
        try query(databasePath, "SELECT * FROM state_by_status;")
        try say("   (and ledger_recent: the last 100 events, newest first)")
        try say("")
        try say("Or with tally itself:  tally --db \(databasePath) log   ·   tally --db \(databasePath) get invoices/INV-1002")
        guard found.findings.count == 1, again.isClean, verified.isClean else {
            throw TallyError.internal("the demo's checks did not come out as expected (see above)")
        }
    }

    // MARK: Steps

    private func say(_ line: String) throws(OutputFailure) {
        if !global.quiet { try Console.out.line(line) }
    }

    private func step(_ number: Int, _ title: String) throws(OutputFailure) {
        try say("")
        try say("\(number). \(title)")
    }

    private func path(_ name: String) -> String {
        FileOperations.join(dir, name)
    }

    /// Runs `sql` the way the sqlite3 prompt would (read-only) and prints its rows as a table.
    private func query(_ databasePath: String, _ sql: String) throws {
        try say("   sqlite> \(sql)")
        let connection = try SQLiteConnection(path: databasePath, mode: .readOnly)
        let statement = try connection.prepareSQLite(sql)
        let columns = (0..<statement.columnCount).map { statement.columnName($0) }
        var rows: [[String]] = []
        while try statement.step() {
            rows.append((0..<statement.columnCount).map { index in
                switch statement.value(index) {
                case .null: return ""
                case let .integer(value): return String(value)
                case let .real(value): return JSONNumberFormatter.string(value)
                case let .text(value): return value
                case let .blob(value): return "<\(value.count) bytes>"
                }
            })
        }
        for line in Output.table(columns, rows, indent: "   ") { try say(line) }
    }

    /// Changes INV-1003's total in its mirror file without fixing the checksum beside it,
    /// as a careless hand edit would. Returns the file's path.
    private func damageMirror(_ mirror: String) throws -> String {
        let file = try SafePath.path(forKey: "invoices/INV-1003", under: mirror, suffix: MirrorFile.suffix)
        guard let bytes = try FileOperations(syscalls: .live).readUntrusted(file, limit: 1 << 20) else {
            throw TallyError.io(step: "read", path: file, errno: Errno.noSuchFile.rawValue)
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let edited = text.replacingFirst("\"total\": \"1200.00\"", with: "\"total\": \"12000.00\"")
        guard edited != text else {
            throw TallyError.internal("\(file) does not hold the expected total; the mirror format changed")
        }
        try AtomicFile.write(Array(edited.utf8), to: file, permissions: 0o600)
        return file
    }
}

/// The demo's directory: created when missing, emptied of a previous demo's files when it
/// holds one, refused when it holds anything else. It removes only files a demo made: the
/// top-level artifacts, and in the mirror only valid mirror files, the manifest and Tally's
/// temporary files.
struct DemoDirectory {
    let path: String

    func prepare() throws {
        let operations = FileOperations(syscalls: .live)
        switch System.lstatInfo(path) {
        case .failure(.noSuchFile):
            try operations.makeDirectories(path)
        case let .success(info) where info.kind != .directory:
            throw TallyError.invalidInput(field: "--dir", reason: "\(path) exists and is not a directory; pass --dir with a new or empty directory")
        case let .failure(error):
            throw TallyError.io(step: "stat", path: path, errno: error.rawValue)
        case .success:
            let entries = try operations.listDirectory(path)
            if !entries.isEmpty {
                let plan = try removalPlan(entries)
                for file in plan.files { try AtomicFile.remove(file) }
                for directory in plan.directories.reversed() {
                    if let error = System.removeDirectory(directory) {
                        throw TallyError.io(step: "rmdir", path: directory, errno: error.rawValue)
                    }
                }
            }
        }
        try AtomicFile.write(Array("This directory was made by `tally demo`; a rerun empties and refills it.\n".utf8),
                             to: FileOperations.join(path, DemoCommand.marker), permissions: 0o644)
    }

    /// Everything to remove (files, then directories, parents before children), or a refusal
    /// naming the first entry a demo did not make.
    private func removalPlan(_ entries: [System.DirectoryEntry]) throws -> (files: [String], directories: [String]) {
        guard entries.contains(where: { $0.name == DemoCommand.marker }) else {
            throw refuse(entries.map(\.name).sorted().first ?? "")
        }
        var files: [String] = []
        var directories: [String] = []
        for entry in entries.sorted(by: { $0.name < $1.name }) {
            let full = FileOperations.join(path, entry.name)
            if entry.kind == .regular && (DemoCommand.artifacts.contains(entry.name) || TempFileName.matches(entry.name)) {
                files.append(full)
            } else if entry.kind == .directory && entry.name == "mirror" {
                try collectMirror(full, relative: "", files: &files, directories: &directories)
            } else {
                throw refuse(entry.name)
            }
        }
        return (files, directories)
    }

    private func refuse(_ example: String) -> TallyError {
        .invalidInput(field: "--dir", reason: "refusing to use \(path): it holds '\(example)', which tally demo did not make; "
            + "pass --dir with a new or empty directory")
    }

    private func collectMirror(_ directory: String, relative: String, files: inout [String], directories: inout [String]) throws {
        directories.append(directory)
        let operations = FileOperations(syscalls: .live)
        for entry in try operations.listDirectory(directory) {
            let full = FileOperations.join(directory, entry.name)
            let inner = relative.isEmpty ? entry.name : relative + "/" + entry.name
            switch entry.kind {
            case .directory:
                try collectMirror(full, relative: inner, files: &files, directories: &directories)
            case .regular where inner == MirrorFile.manifestName || TempFileName.matches(entry.name):
                files.append(full)
            case .regular:
                guard let key = MirrorFile.key(forRelativePath: inner),
                      let bytes = try? operations.readUntrusted(full, limit: 64 << 20),
                      case .success = MirrorFile.parse(bytes, expectedKey: key) else { throw refuse("mirror/" + inner) }
                files.append(full)
            default:
                throw refuse("mirror/" + inner)
            }
        }
    }
}

extension String {
    /// The string with the first occurrence of `target` replaced (Foundation-free).
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var start = startIndex
        while start < endIndex {
            if self[start...].hasPrefix(target) {
                let end = index(start, offsetBy: target.count)
                return String(self[..<start]) + replacement + String(self[end...])
            }
            start = index(after: start)
        }
        return self
    }
}
