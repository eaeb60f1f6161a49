import Foundation
import Testing
import Tally

/// The README's "library in ten lines", compiled and run as written (paths aside), so the
/// first code a user copies works.
@Suite("README: the library sample compiles and does what it says")
struct ReadmeSampleTests {
    let directory = TemporaryDirectory("tally-readme")

    @Test("ten lines: append, put, a combined write, export and reconcile")
    func tenLines() throws {
        let path = { (name: String) in self.directory.file(name) }
        try FileManager.default.createDirectory(atPath: path("mirror"), withIntermediateDirectories: true)

        let store = try Store(path: path("tally.db"))
        let charge = try store.ledger.append(stream: "invoice/INV-1", kind: "charge",
                                             amount: 12_50, currency: "EUR", payload: ["sku": "A1"])
        try store.state.put("invoices/INV-1", body: ["total": 1250], status: "unpaid",
                            expectedVersion: 0, causedBy: charge)
        try store.write { tx in
            let pay = try tx.ledger.append(stream: "invoice/INV-1", kind: "payment", amount: -12_50, currency: "EUR")
            try tx.state.update("invoices/INV-1", status: "paid", causedBy: pay)
        }
        try store.exportSnapshot(to: path("backup.tally.jsonl"))
        let report = try store.reconcile(against: .directory(path("mirror")))

        #expect(try store.state.get("invoices/INV-1")?.status == "paid")
        #expect(try store.ledger.head().seq == 2)
        #expect(report.findings.map(\.kind) == [.missing, .missing])  // the mirror was never written
    }
}
