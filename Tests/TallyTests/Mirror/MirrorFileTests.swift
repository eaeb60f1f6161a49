import Foundation
import Testing
@testable import Tally

@Suite("MirrorFile: a stored row's file is laid out from its canonical bytes exactly as from its document")
struct MirrorFileTests {
    @Test("render(row) and render(document) give the same bytes, and the file parses back to the document")
    func rowAndDocumentRenderAlike() throws {
        var generator = JSONRoundTripTests.Generator(random: SeededGenerator(seed: 7))
        for index in 0..<500 {
            let body = index % 7 == 0 ? JSONValue.object([:]) : generator.value()
            let canonical = try CanonicalJSON.bytes(body)
            let document = StateDocument(key: "k/\(index)", version: Int64(index + 1), status: index % 2 == 0 ? nil : "open",
                                         body: body, checksum: Digest.sha256Hex(canonical),
                                         updatedAt: "2026-11-29T20:00:00.000Z", ledgerSeq: index % 3 == 0 ? nil : Int64(index))
            let row = StateTable.CanonicalRow(row: StateTable.Row(key: document.key, version: document.version, status: document.status,
                                                                  checksum: document.checksum, updatedAt: document.updatedAt,
                                                                  ledgerSeq: document.ledgerSeq),
                                              body: canonical)
            let fromDocument = MirrorFile.render(document)
            #expect(MirrorFile.render(row) == fromDocument)
            // The layout is the one prettyPrinted gives the whole file as one JSON value.
            let envelope: JSONValue = [
                "key": .string(document.key), "version": .number(Double(document.version)),
                "status": document.status.map { .string($0) } ?? .null, "checksum": .string(document.checksum),
                "updated_at": .string(document.updatedAt),
                "ledger_seq": document.ledgerSeq.map { .number(Double($0)) } ?? .null, "body": body,
            ]
            #expect(fromDocument == Array((envelope.prettyPrinted(indent: 2) + "\n").utf8))
            guard case let .success(parsed) = MirrorFile.parse(fromDocument, expectedKey: document.key) else {
                Issue.record("the file of \(document.key) does not parse back")
                return
            }
            #expect(parsed == document)
        }
    }
}

@Suite("Mirror copies stored bodies verified: reformatted text is laid out canonically, corrupt text is refused")
struct MirrorStoredBodyTests {
    @Test("a body reformatted at the sqlite3 prompt (same value, same checksum) mirrors to the same file")
    func reformattedBody() throws {
        let fixture = try ReconcileFixture()
        try fixture.store.state.put("invoices/A", body: ["amount": 12, "lines": ["x", "y"]], status: "open")
        try fixture.store.mirror(to: fixture.mirror)
        let before = try Data(contentsOf: URL(fileURLWithPath: fixture.file("invoices/A")))
        try fixture.tamper(#"UPDATE state SET body = '{ "lines" : [ "x", "y" ], "amount" : 12 }' WHERE key = 'invoices/A'"#,
                           dropping: ["state_version_on_update", "state_history_on_update"])
        // Reconcile renders the file it expects from the stored body the same way.
        let reconciled = try fixture.store.reconcile(against: .directory(fixture.mirror))
        #expect(reconciled.isClean, "\(reconciled.findings)")
        try FileManager.default.removeItem(atPath: fixture.file("invoices/A"))
        let report = try fixture.store.mirror(to: fixture.mirror)
        #expect(report.findings.isEmpty)
        #expect(try Data(contentsOf: URL(fileURLWithPath: fixture.file("invoices/A"))) == before)
    }

    @Test("a body that no longer matches its checksum stops the mirror with corrupt state naming the key")
    func corruptBody() throws {
        let fixture = try ReconcileFixture()
        try fixture.store.state.put("invoices/A", body: ["amount": 12])
        try fixture.tamper(#"UPDATE state SET body = '{"amount":13}' WHERE key = 'invoices/A'"#,
                           dropping: ["state_version_on_update", "state_history_on_update"])
        #expect {
            try fixture.store.mirror(to: fixture.mirror)
        } throws: { error in
            guard case let .corruptState(key, _, _)? = error as? TallyError else { return false }
            return key == "invoices/A"
        }
    }
}

@Suite("The manifest's entries digest is the sum of SHA-256 of key TAB version TAB checksum")
struct MirrorEntriesDigestTests {
    @Test("an entry is SHA-256 of `key\\tversion\\tchecksum`, read as four big-endian 64-bit limbs")
    func entryFormat() throws {
        for (key, version) in [("invoices/INV-1", Int64(1)), ("ünï/cödé", 42), ("k", 9_007_199_254_740_991)] {
            let checksum = Digest.sha256Hex(key)
            let hex = Digest.sha256Hex("\(key)\t\(version)\t\(checksum)")
            let limbs = EntriesDigest.entry(key: key, version: version, checksum: checksum)
            #expect(limbs.map { String(format: "%016llx", $0) }.joined() == hex)
            var digest = EntriesDigest()
            digest.add(key: key, version: version, checksum: checksum)
            #expect(digest.hex == hex)
        }
    }
}
