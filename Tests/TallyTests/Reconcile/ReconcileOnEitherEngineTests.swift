import Foundation
import Testing
@testable import Tally

/// The mirror and reconciliation are written above the connection seam; these run the
/// round trip on both engines: mirror, reconcile clean, lose and damage files, find them,
/// mirror again to repair.
@Suite("Mirror and reconcile on either engine: what the database holds, the directory shows, and every difference is found")
struct ReconcileOnEitherEngineTests {
    @Test("a mirror reconciles clean; a removed file is missing, an edited one corrupt; mirroring again repairs both", arguments: Backend.available)
    func roundTrip(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        for index in 1...4 {
            try store.write { tx in
                let charge = try tx.ledger.append(stream: "invoice/INV-\(index)", kind: "charge", amount: Int64(index),
                                                  currency: "EUR")
                try tx.state.put("invoices/INV-\(index)", body: ["amount": .number(Double(index)), "lines": [["sku": "A1"]]],
                                 status: "unpaid", causedBy: charge)
            }
        }
        let directory = stores.directory.file("mirror")
        let first = try store.mirror(to: directory)
        #expect(first.documents == 4)
        #expect(first.written == 4)
        #expect(try store.reconcile(against: .directory(directory)).isClean)

        let files = try FileManager.default.subpathsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") && $0.contains("INV-") }.sorted()
        #expect(files.count == 4, "\(files)")
        try FileManager.default.removeItem(atPath: directory + "/" + files[0])
        try Data(#"{"not":"a mirror file"}"#.utf8).write(to: URL(fileURLWithPath: directory + "/" + files[1]))
        let report = try store.reconcile(against: .directory(directory))
        #expect(Set(report.findings.map(\.kind)) == [.missing, .corrupt], "\(report.findings)")
        #expect(report.findings.count == 2)
        #expect(report.documentsChecked == 4)

        let again = try store.mirror(to: directory)
        #expect(again.written == 2)
        #expect(again.unchanged == 2)
        #expect(try store.reconcile(against: .directory(directory)).isClean)
    }
}
