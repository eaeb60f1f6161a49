import Foundation
import Testing
@testable import Tally

@Suite("Verify: the database on its own")
struct VerifyTests {
    /// Three invoices, each caused by a charge.
    private func seeded() throws -> ReconcileFixture {
        let fixture = try ReconcileFixture()
        for index in 1...3 {
            try fixture.store.write { tx in
                let charge = try tx.ledger.append(stream: "invoice/INV-\(index)", kind: "charge", amount: Int64(index * 100),
                                                  currency: "EUR", payload: ["line": .number(Double(index))])
                try tx.state.put(fixture.key(index), body: ["amount": .number(Double(index * 100))], status: "unpaid",
                                 causedBy: charge)
            }
        }
        return fixture
    }

    @Test("an untouched database is clean")
    func clean() throws {
        let fixture = try seeded()
        let report = try fixture.store.verify()
        #expect(report.integrityCheck == ["ok"])
        #expect(report.foreignKeyProblems.isEmpty)
        #expect(report.chain.isIntact)
        #expect(report.chain.eventsChecked == 3)
        #expect(report.documentsChecked == 3)
        #expect(report.findings.isEmpty)
        #expect(report.isClean)
        #expect(report.exitStatus == 0)
    }

    @Test("a ledger row altered with raw SQL breaks the chain: exit 3")
    func alteredLedger() throws {
        let fixture = try seeded()
        try fixture.tamper("UPDATE ledger SET amount = 999 WHERE seq = 2", dropping: ["ledger_no_update"])
        let report = try fixture.store.verify()
        let broken = try #require(report.chain.firstBreak)
        #expect(broken.seq == 2)
        guard case .hashMismatch = broken.reason else {
            Issue.record("expected a hash mismatch, got \(broken)")
            return
        }
        #expect(report.exitStatus == 3)
        #expect(report.isCorrupt)
    }

    @Test("state bodies altered with raw SQL: one corrupt finding per document, exit 3")
    func alteredState() throws {
        let fixture = try seeded()
        let first = try fixture.document(fixture.key(1))
        let third = try fixture.document(fixture.key(3))
        try fixture.tamper("UPDATE state SET body = '{\"amount\":1}', version = version + 1 WHERE key IN ('\(first.key)', '\(third.key)')")
        let report = try fixture.store.verify()
        #expect(report.integrityCheck == ["ok"])
        #expect(report.chain.isIntact)
        #expect(report.documentsChecked == 3)
        #expect(report.findings.count == 2)
        let actual = try ReconcileFixture.checksum(["amount": 1])
        for (finding, document) in zip(report.findings, [first, third]) {
            #expect(finding == Finding(kind: .corrupt, key: document.key, path: nil, databaseVersion: 2, fileVersion: nil,
                                       databaseChecksum: document.checksum, fileChecksum: nil, detail: finding.detail))
            #expect(finding.detail.contains(actual))
        }
        #expect(report.exitStatus == 3)
    }

    @Test("a ledger_seq that names no event: a missing finding, exit 1")
    func danglingLedgerSeq() throws {
        let fixture = try seeded()
        let document = try fixture.document(fixture.key(2))
        try fixture.tamper("UPDATE state SET ledger_seq = 999, version = version + 1 WHERE key = '\(document.key)'")
        let report = try fixture.store.verify()
        #expect(report.findings.count == 1)
        let finding = try #require(report.findings.first)
        #expect(finding == Finding(kind: .missing, key: document.key, path: nil, databaseVersion: 2, fileVersion: nil,
                                   databaseChecksum: document.checksum, fileChecksum: nil, detail: finding.detail))
        #expect(finding.detail.contains("ledger seq 999"))
        #expect(report.foreignKeyProblems.count == 2)  // the state row and its history row
        #expect(report.exitStatus == 1)
    }

    @Test("state_history out of step with state: mismatch and missing findings, exit 1")
    func historyInconsistency() throws {
        let fixture = try seeded()
        let changed = try fixture.document(fixture.key(1))
        let removed = try fixture.document(fixture.key(3))
        try fixture.tamper("UPDATE state SET status = 'paid', version = version + 1 WHERE key = '\(changed.key)'",
                           dropping: ["state_history_on_update"])
        try fixture.tamper("DELETE FROM state WHERE key = '\(removed.key)'", dropping: ["state_history_on_delete"])
        let report = try fixture.store.verify()
        #expect(report.findings.count == 2)
        let mismatch = try #require(report.findings.first)
        #expect(mismatch == Finding(kind: .mismatch, key: changed.key, path: nil, databaseVersion: 2, fileVersion: nil,
                                    databaseChecksum: changed.checksum, fileChecksum: nil, detail: mismatch.detail))
        #expect(mismatch.detail.contains("latest history row is version 1"))
        #expect(mismatch.detail.contains("'unpaid'"))
        let missing = try #require(report.findings.last)
        #expect(missing == Finding(kind: .missing, key: removed.key, path: nil, databaseVersion: 1, fileVersion: nil,
                                   databaseChecksum: removed.checksum, fileChecksum: nil, detail: missing.detail))
        #expect(missing.detail.contains("no tombstone"))
        #expect(report.exitStatus == 1)
    }

    @Test("a domain rule's problem is a rule finding")
    func rule() throws {
        let fixture = try seeded()
        let paid = try fixture.store.state.update(fixture.key(2), status: "paid")
        let report = try fixture.store.verify(rules: [PaidBalanceRule()])
        #expect(report.findings.count == 1)
        let finding = try #require(report.findings.first)
        #expect(finding == Finding(kind: .rule, key: paid.key, path: nil, databaseVersion: 2, fileVersion: nil,
                                   databaseChecksum: paid.checksum, fileChecksum: nil, detail: finding.detail))
        #expect(finding.detail == "paid-balance-zero: 'invoices/INV-2' is paid but its stream invoice/INV-2 has a balance "
            + "of 200 EUR (minor units, last changed by seq 2); record the missing payment or refund, or correct the status")
        #expect(report.exitStatus == 1)

        try fixture.store.ledger.append(stream: "invoice/INV-2", kind: "payment", amount: -200, currency: "EUR")
        #expect(try fixture.store.verify(rules: [PaidBalanceRule()]).isClean)
    }

    @Test("a rule that throws is reported, and the others still run")
    func throwingRule() throws {
        struct Failing: DomainRule {
            var name: String { "failing" }
            func check(_ document: StateDocument, ledger: Ledger) throws -> [String] {
                throw TallyError.invalidInput(field: "rule", reason: "boom")
            }
        }
        let fixture = try seeded()
        let report = try fixture.store.verify(rules: [Failing()])
        #expect(report.findings.count == 3)
        #expect(report.findings.allSatisfy { $0.kind == .rule && $0.detail.hasPrefix("failing: could not check") })
    }

    /// Where on a page the damage goes.
    enum Damage: String, CaseIterable, Sendable {
        /// 200 bytes from the start of the cell content area: rows' data and record headers.
        case cells
        /// The b-tree page header and the cell pointers after it.
        case header
    }

    @Test("a database file with a damaged page: exit status 3 or an error with exit code 3, never a crash",
          arguments: Damage.allCases)
    func damagedPage(_ damage: Damage) throws {
        let fixture = try ReconcileFixture()
        for batch in 0..<10 {
            try fixture.store.write { tx in
                for index in 0..<300 {
                    let number = batch * 300 + index
                    let event = try tx.ledger.append(stream: "invoice/INV-\(number)", kind: "charge", amount: Int64(number),
                                                     currency: "EUR", payload: ["note": .string("line \(number) of the test data")])
                    try tx.state.put("invoices/INV-\(number)", body: ["amount": .number(Double(number))], status: "unpaid",
                                     causedBy: event)
                }
            }
        }
        try fixture.store.checkpointWAL(truncate: true)
        var bytes = try #require(fileBytes(fixture.databasePath))
        let pageSize = Int(bytes[16]) << 8 | Int(bytes[17])
        let pages = bytes.count / pageSize
        // A leaf page (table 0x0D, or 0x0A for the WITHOUT ROWID state tables) in the middle
        // of the file. Damage in a page's free space would change no data, so aim at the cells.
        let page = try #require((pages / 2..<pages).first { [0x0D, 0x0A].contains(bytes[$0 * pageSize]) })
        let start = page * pageSize
        let cells = Int(bytes[start + 5]) << 8 | Int(bytes[start + 6])
        let range = damage == .cells ? (start + cells)..<min(start + cells + 200, start + pageSize) : start..<(start + 40)
        for offset in range { bytes[offset] ^= 0xFF }
        let copy = fixture.directory.file("damaged.db")
        try bytes.write(to: URL(fileURLWithPath: copy))

        for readOnly in [true, false] {
            var configuration = Store.Configuration()
            configuration.readOnly = readOnly
            do {
                let store = try Store(path: copy, configuration: configuration)
                let report = try store.verify()
                #expect(report.exitStatus == 3, "read-only \(readOnly): \(report)")
                #expect(report.isCorrupt)
            } catch {
                #expect(error.exitCode == 3, "read-only \(readOnly): \(error)")
            }
        }
    }
}
