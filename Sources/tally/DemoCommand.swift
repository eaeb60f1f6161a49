import ArgumentParser
import Foundation
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
            the demo keeps its own database in DIR/tally.db. Running it again starts over.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "The demo directory; recreated on every run, refused if it holds anything the demo did not make.")
    var dir = "tally-demo"

    /// Marks a directory as the demo's, so a rerun may delete it.
    static let marker = ".tally-demo"
    /// Everything a demo run leaves at the top of its directory.
    static let artifacts: Set<String> = [marker, "tally.db", "tally.db-wal", "tally.db-shm", "tally.db-journal",
                                         "tally.db.lock", "snapshot.tally.jsonl", "mirror"]

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
        try prepareDirectory()
        let databasePath = path("tally.db")
        var configuration = Store.Configuration()
        configuration.logger = global.logger
        let store = try Store(path: databasePath, configuration: configuration)
        print("tally demo: a collections scenario in \(dir)/")

        step(1, "Five invoices: a state document (status unpaid) and a charge event each, in one transaction per invoice")
        for invoice in Self.invoices {
            let amount = try MoneyAmount(parsing: invoice.total, currency: invoice.currency)
            let body: JSONValue = ["customer": .string(invoice.customer), "total": .string(invoice.total),
                                   "currency": .string(invoice.currency), "due": .string(invoice.due)]
            let charge = try store.write { tx in
                let charge = try tx.ledger.append(stream: "invoice/\(invoice.id)", kind: "charge", amount: amount.minorUnits,
                                                  currency: invoice.currency, payload: ["customer": .string(invoice.customer)],
                                                  eventID: "charge-\(invoice.id)")
                try tx.state.put("invoices/\(invoice.id)", body: body, status: "unpaid", expectedVersion: 0, causedBy: charge)
                return charge
            }
            print("   invoices/\(invoice.id)  \(invoice.customer.padding(toLength: 13, withPad: " ", startingAt: 0))  "
                + "\(amount.description.leftPadded(to: 13))  due \(invoice.due)  charge seq \(charge.seq)")
        }

        step(2, "Payments: a payment event and the invoice update commit together (causedBy links them)")
        for (id, paid, method) in [("INV-1001", "1250.00", "SEPA transfer"), ("INV-1004", "150000", "bank transfer"),
                                   ("INV-1003", "500.00", "card")] {
            guard let invoice = Self.invoices.first(where: { $0.id == id }) else { continue }
            let amount = try MoneyAmount(parsing: paid, currency: invoice.currency)
            let full = paid == invoice.total
            let (payment, document) = try store.write { tx in
                let payment = try tx.ledger.append(stream: "invoice/\(id)", kind: "payment", amount: -amount.minorUnits,
                                                   currency: invoice.currency, payload: ["method": .string(method)],
                                                   eventID: "payment-\(id)-1")
                let document = try tx.state.update("invoices/\(id)", status: full ? "paid" : "partially_paid", causedBy: payment)
                return (payment, document)
            }
            print("   invoices/\(id)  paid \(amount) by \(method) → status \(document.status ?? "-") (version \(document.version), ledger seq \(payment.seq))")
        }

        step(3, "Escalations: an escalated event with its reason, and the invoice marked escalated")
        for (id, reason) in [("INV-1002", "60 days overdue, two reminders unanswered"),
                             ("INV-1005", "disputed: customer says the goods never arrived")] {
            let event = try store.write { tx in
                let event = try tx.ledger.append(stream: "invoice/\(id)", kind: "escalated",
                                                 payload: ["reason": .string(reason), "level": 1], eventID: "escalated-\(id)-1")
                try tx.state.update("invoices/\(id)", status: "escalated", causedBy: event)
                return event
            }
            print("   invoices/\(id)  escalated (seq \(event.seq)): \(reason)")
        }

        step(4, "Balances from the ledger (charges minus payments, per stream and currency)")
        var cursor = store.ledger.balances()
        var rows: [[String]] = []
        while let balance = try cursor.next() {
            rows.append([balance.stream, MoneyAmount.format(minorUnits: balance.balance, currency: balance.currency).leftPadded(to: 9),
                         balance.currency, "\(balance.events) event\(balance.events == 1 ? "" : "s")"])
        }
        for line in Output.tableLines(["STREAM", "BALANCE", "CURRENCY", "EVENTS"], rows, indent: "   ") { print(line) }

        step(5, "Snapshot: one JSON Lines file, written atomically from one consistent read")
        let snapshot = try store.exportSnapshot(to: path("snapshot.tally.jsonl"))
        print("   \(snapshot.path): \(snapshot.documents) documents, \(snapshot.events) events, sha256 \(Output.short(snapshot.sha256, 16))…")

        let mirror = path("mirror")
        step(6, "Mirror: every document as a file, \(mirror)/<key>.json")
        let mirrored = try store.mirror(to: mirror)
        print("   wrote \(mirrored.written) files and MANIFEST.json (ledger head seq \(mirrored.ledgerHeadSeq))")

        step(7, "Damage: someone edits a mirror file by hand")
        let damaged = try damageMirror(mirror)
        print("   \(damaged): total 1200.00 → 12000.00 (checksum left as it was)")

        step(8, "Reconcile the mirror with the database")
        let found = try DemoReconcileSteps.reconcile(store, mirror: mirror)
        print("   \(found.findings.count) finding\(found.findings.count == 1 ? "" : "s")\(found.isClean ? ": clean" : ":")")
        for finding in found.findings {
            print("   - \(finding.kind)  \(finding.key)  \(finding.path)")
            print("     \(finding.detail)")
        }

        step(9, "Repair: rewrite the disagreeing files from the database, then reconcile again")
        let repaired = try DemoReconcileSteps.repair(store, mirror: mirror)
        for finding in repaired.findings { print("   rewrote \(finding.path)") }
        let again = try DemoReconcileSteps.reconcile(store, mirror: mirror)
        print("   reconcile again: \(again.isClean ? "clean" : "\(again.findings.count) findings remain")")

        step(10, "Verify the database on its own (integrity, hash chain, checksums)")
        let verified = try DemoReconcileSteps.verify(store)
        for line in verified.table.split(separator: "\n") { print("   \(line)") }
        print("   \(verified.isClean ? "verify: clean" : "verify: problems found")")

        print("")
        print("Look inside with sqlite3; the views are made for it:")
        print("   sqlite3 \(databasePath)")
        try query(store, "SELECT * FROM ledger_balances;")
        try query(store, "SELECT * FROM state_by_status;")
        print("   (and ledger_recent: the last 100 events, newest first)")
        print("")
        print("Or with tally itself:  tally --db \(databasePath) log   ·   tally --db \(databasePath) get invoices/INV-1002")
        guard found.findings.count == 1, again.isClean, verified.isClean else {
            throw TallyError.corruptDatabase(path: databasePath, detail: "the demo's checks did not come out as expected (see above); please report this")
        }
    }

    // MARK: Steps

    private func step(_ number: Int, _ title: String) {
        print("")
        print("\(number). \(title)")
    }

    private func path(_ name: String) -> String {
        (dir as NSString).appendingPathComponent(name)
    }

    /// Runs `sql` the way the sqlite3 prompt would and prints its rows as a table.
    private func query(_ store: Store, _ sql: String) throws {
        print("   sqlite> \(sql)")
        let (columns, rows) = try store.read { db -> ([String], [[String]]) in
            let statement = try db.prepare(sql)
            let columns = (0..<statement.columnCount).map { statement.columnName($0) }
            var rows: [[String]] = []
            while try statement.step() {
                rows.append((0..<statement.columnCount).map { index in
                    switch statement.value(index) {
                    case .null: return ""
                    case let .integer(value): return String(value)
                    case let .real(value): return String(value)
                    case let .text(value): return value
                    case let .blob(value): return "<\(value.count) bytes>"
                    }
                })
            }
            return (columns, rows)
        }
        for line in Output.tableLines(columns, rows, indent: "   ") { print(line) }
    }

    /// Changes INV-1003's total in its mirror file without fixing the checksum beside it,
    /// as a careless hand edit would. Returns the file's path.
    private func damageMirror(_ mirror: String) throws -> String {
        let file = try SafePath.path(forKey: "invoices/INV-1003", under: mirror, suffix: MirrorFile.suffix)
        guard let data = FileManager.default.contents(atPath: file) else {
            throw TallyError.io(step: "read", path: file, errno: ENOENT)
        }
        let text = String(decoding: data, as: UTF8.self)
        let edited = text.replacingOccurrences(of: "\"total\": \"1200.00\"", with: "\"total\": \"12000.00\"")
        guard edited != text else {
            throw TallyError.invalidInput(field: "demo", reason: "\(file) does not hold the expected total; the mirror format changed")
        }
        try AtomicFile.write(Array(edited.utf8), to: file, permissions: 0o600)
        return file
    }

    // MARK: The demo directory

    /// Makes `dir` a fresh, empty demo directory: created when missing, emptied when it holds
    /// a previous demo run, refused when it holds anything else.
    private func prepareDirectory() throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw TallyError.invalidInput(field: "--dir", reason: "\(dir) exists and is not a directory; pass --dir with a new or empty directory")
            }
            let entries: [String]
            do {
                entries = try FileManager.default.contentsOfDirectory(atPath: dir)
            } catch {
                throw TallyError.io(step: "read", path: dir, errno: EACCES)
            }
            if !entries.isEmpty {
                let foreign = entries.filter { !Self.artifacts.contains($0) && !AtomicFile.isTemporaryName($0) }.sorted()
                guard entries.contains(Self.marker), foreign.isEmpty else {
                    let example = foreign.first ?? entries.sorted()[0]
                    throw TallyError.invalidInput(field: "--dir", reason: "refusing to use \(dir): it holds files tally demo did not make (e.g. '\(example)'); pass --dir with a new or empty directory")
                }
                do {
                    try FileManager.default.removeItem(atPath: dir)
                } catch {
                    throw TallyError.io(step: "unlink", path: dir, errno: EACCES)
                }
            }
        }
        try AtomicFile.write(Array("This directory was made by `tally demo`; a rerun deletes and recreates it.\n".utf8),
                             to: path(Self.marker), permissions: 0o644)
    }
}

extension String {
    /// The string right-aligned in `width` columns, for amounts in tables.
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
