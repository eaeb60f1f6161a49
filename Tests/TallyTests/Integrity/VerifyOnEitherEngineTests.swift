import Foundation
import Testing
@testable import Tally

/// `verify` is written above the connection seam; these run its core findings on both
/// engines, tampering the way a user at the sqlite3 or psql prompt could.
@Suite("Verify on either engine: a clean store is clean, an edited event breaks the chain, an edited body is corrupt")
struct VerifyOnEitherEngineTests {
    /// A store with three invoices, each caused by a charge.
    private func seeded(_ stores: TestStores) throws -> (Store, [StateDocument]) {
        let store = try stores.store()
        var documents: [StateDocument] = []
        for index in 1...3 {
            try store.write { tx in
                let charge = try tx.ledger.append(stream: "invoice/INV-\(index)", kind: "charge", amount: Int64(index * 100),
                                                  currency: "EUR", payload: ["line": .number(Double(index))])
                documents.append(try tx.state.put("invoices/INV-\(index)", body: ["amount": .number(Double(index * 100))],
                                                  status: "unpaid", causedBy: charge))
            }
        }
        return (store, documents)
    }

    /// The seeded store's report after `sql` ran past Tally's `triggers`
    /// (``TestStores/tamper(_:dropping:in:)``), and the documents as seeded.
    private func report(after sql: String, dropping triggers: [String],
                        on stores: TestStores) throws -> (report: VerifyReport, documents: [StateDocument], store: Store) {
        let (store, documents) = try seeded(stores)
        try stores.tamper(sql, dropping: triggers)
        return (try store.verify(), documents, store)
    }

    @Test("an untouched store is clean", arguments: Backend.available)
    func clean(backend: Backend) throws {
        let stores = TestStores(backend)
        let (store, _) = try seeded(stores)
        let report = try store.verify()
        #expect(report.chain.isIntact)
        #expect(report.chain.eventsChecked == 3)
        #expect(report.documentsChecked == 3)
        #expect(report.findings.isEmpty)
        #expect(report.isClean, "\(report)")
        #expect(report.exitStatus == 0)
    }

    @Test("an event edited behind Tally's back breaks the chain at its seq: exit 3", arguments: Backend.available)
    func editedEvent(backend: Backend) throws {
        let (report, _, _) = try report(after: "UPDATE ledger SET amount = 999 WHERE seq = 2", dropping: ["ledger_no_update"],
                                        on: TestStores(backend))
        let broken = try #require(report.chain.firstBreak)
        #expect(broken.seq == 2)
        guard case .hashMismatch = broken.reason else {
            Issue.record("expected a hash mismatch, got \(broken)")
            return
        }
        #expect(report.isCorrupt)
        #expect(report.exitStatus == 3)
    }

    @Test("a body edited behind Tally's back is one corrupt finding for its key: exit 3", arguments: Backend.available)
    func editedBody(backend: Backend) throws {
        let stores = TestStores(backend)
        let (report, documents, store) = try report(after: #"UPDATE state SET body = '{"amount":1}' WHERE key = 'invoices/INV-2'"#,
                                                    dropping: ["state_history_on_update", "state_version_on_update"], on: stores)
        #expect(report.chain.isIntact)
        #expect(report.documentsChecked == 3)
        #expect(report.findings.map(\.kind) == [.corrupt], "\(report.findings)")
        #expect(report.findings.first?.key == documents[1].key)
        #expect(report.findings.first?.databaseChecksum == documents[1].checksum)
        #expect(report.exitStatus == 3)
        // Reading the document fails the same way.
        #expect(throws: TallyError.self) { try store.state.get("invoices/INV-2") }
    }
}
