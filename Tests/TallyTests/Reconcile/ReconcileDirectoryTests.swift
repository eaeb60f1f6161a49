import Foundation
import Testing
@testable import Tally

@Suite("Reconcile: database against a mirror directory")
struct ReconcileDirectoryTests {
    /// A store with three invoices, mirrored.
    private func mirrored() throws -> ReconcileFixture {
        let fixture = try ReconcileFixture()
        try fixture.seed(3)
        try fixture.store.mirror(to: fixture.mirror)
        return fixture
    }

    @Test("a fresh mirror is clean")
    func clean() throws {
        let fixture = try mirrored()
        let report = try fixture.store.reconcile(against: .directory(fixture.mirror))
        #expect(report == ReconcileReport(target: fixture.mirror, documentsChecked: 3, filesChecked: 3))
        #expect(report.isClean)
        #expect(report.exitStatus == 0)
    }

    @Test("missing: a document without its file")
    func missing() throws {
        let fixture = try mirrored()
        let document = try fixture.document("invoices/INV-2")
        try FileManager.default.removeItem(atPath: fixture.file("invoices/INV-2"))
        let report = try fixture.store.reconcile(against: .directory(fixture.mirror))
        #expect(report.findings.count == 1)
        let finding = try #require(report.findings.first)
        #expect(finding.kind == .missing)
        #expect(finding.key == "invoices/INV-2")
        #expect(finding.path == fixture.file("invoices/INV-2"))
        #expect(finding.databaseVersion == 1)
        #expect(finding.fileVersion == nil)
        #expect(finding.databaseChecksum == document.checksum)
        #expect(finding.fileChecksum == nil)
        #expect(finding.detail.contains("no file"))
        #expect(report.exitStatus == 1)
        #expect(report.documentsChecked == 3)
        #expect(report.filesChecked == 2)
    }

    @Test("extra: a file whose document was deleted")
    func extra() throws {
        let fixture = try mirrored()
        let document = try fixture.document("invoices/INV-3")
        try fixture.store.state.delete("invoices/INV-3")
        let report = try fixture.store.reconcile(against: .directory(fixture.mirror))
        #expect(report.documentFindings == [Finding(
            kind: .extra, key: "invoices/INV-3", path: fixture.file("invoices/INV-3"), databaseVersion: nil, fileVersion: 1,
            databaseChecksum: nil, fileChecksum: document.checksum, detail: report.findings.first?.detail ?? "")])
        #expect(report.findings.first?.detail.contains("removes extra files") == true)
        // The manifest still counts the deleted document.
        #expect(report.manifestFindings.map(\.kind) == [.mismatch])
        #expect(report.documentsChecked == 2)
        #expect(report.filesChecked == 3)
    }

    @Test("extra: a file that is not a mirror file at all, keyless")
    func foreignFile() throws {
        let fixture = try mirrored()
        try fixture.write(Array("notes".utf8), to: fixture.mirror + "/README.txt")
        let report = try fixture.store.reconcile(against: .directory(fixture.mirror))
        #expect(report.findings.map(\.kind) == [.extra])
        #expect(report.findings.first?.key == nil)
        #expect(report.findings.first?.path == fixture.mirror + "/README.txt")
    }

    @Test("stale: the file has an older version")
    func stale() throws {
        let fixture = try mirrored()
        let old = try fixture.document("invoices/INV-1")
        let new = try fixture.store.state.update("invoices/INV-1", status: "paid")
        let report = try fixture.store.reconcile(against: .directory(fixture.mirror))
        #expect(report.documentFindings.count == 1)
        #expect(report.manifestFindings.map(\.kind) == [.mismatch])
        let finding = try #require(report.findings.first)
        #expect(finding.kind == .stale)
        #expect(finding.key == "invoices/INV-1")
        #expect(finding.path == fixture.file("invoices/INV-1"))
        #expect(finding.databaseVersion == 2)
        #expect(finding.fileVersion == 1)
        #expect(finding.databaseChecksum == new.checksum)
        #expect(finding.fileChecksum == old.checksum)
        #expect(finding.detail.contains("version 1") && finding.detail.contains("version 2"))
    }

    @Test("mismatch: same version, another (valid) body")
    func mismatch() throws {
        let fixture = try mirrored()
        let document = try fixture.document("invoices/INV-2")
        let body: JSONValue = ["amount": 1, "customer": "someone else"]
        try fixture.write(try fixture.validFile(key: document.key, version: 1, body: body), to: fixture.file(document.key))
        let report = try fixture.store.reconcile(against: .directory(fixture.mirror))
        #expect(report.findings.count == 1)
        let finding = try #require(report.findings.first)
        #expect(finding.kind == .mismatch)
        #expect(finding.key == document.key)
        #expect(finding.path == fixture.file(document.key))
        #expect(finding.databaseVersion == 1)
        #expect(finding.fileVersion == 1)
        #expect(finding.databaseChecksum == document.checksum)
        #expect(finding.fileChecksum == (try ReconcileFixture.checksum(body)))
        #expect(finding.detail.contains("the body differs"))
    }

    @Test("mismatch: a file ahead of the database")
    func ahead() throws {
        let fixture = try mirrored()
        let document = try fixture.document("invoices/INV-1")
        let body: JSONValue = ["amount": 5]
        try fixture.write(try fixture.validFile(key: document.key, version: 7, body: body), to: fixture.file(document.key))
        let report = try fixture.store.reconcile(against: .directory(fixture.mirror))
        let finding = try #require(report.findings.first)
        #expect(report.findings.count == 1)
        #expect(finding.kind == .mismatch)
        #expect(finding.databaseVersion == 1)
        #expect(finding.fileVersion == 7)
        #expect(finding.databaseChecksum == document.checksum)
        #expect(finding.fileChecksum == (try ReconcileFixture.checksum(body)))
        #expect(finding.detail.contains("ahead of the database"))
    }

    @Test("corrupt: not JSON")
    func corruptJSON() throws {
        let fixture = try mirrored()
        let document = try fixture.document("invoices/INV-3")
        try fixture.write(Array("{\"key\": \"invoices/INV-3\", trunc".utf8), to: fixture.file(document.key))
        let report = try fixture.store.reconcile(against: .directory(fixture.mirror))
        #expect(report.findings == [Finding(
            kind: .corrupt, key: document.key, path: fixture.file(document.key), databaseVersion: 1, fileVersion: nil,
            databaseChecksum: document.checksum, fileChecksum: nil, detail: report.findings.first?.detail ?? "")])
        #expect(report.findings.first?.detail.contains("not valid JSON") == true)
    }

    @Test("corrupt: a body edited without updating its checksum")
    func corruptChecksum() throws {
        let fixture = try mirrored()
        let document = try fixture.document("invoices/INV-1")
        let edited = String(decoding: try #require(fileBytes(fixture.file(document.key))), as: UTF8.self)
            .replacingOccurrences(of: "\"amount\": 100", with: "\"amount\": 1")
        try fixture.write(Array(edited.utf8), to: fixture.file(document.key))
        let report = try fixture.store.reconcile(against: .directory(fixture.mirror))
        let finding = try #require(report.findings.first)
        #expect(report.findings.count == 1)
        #expect(finding.kind == .corrupt)
        #expect(finding.key == document.key)
        #expect(finding.databaseVersion == 1)
        #expect(finding.fileVersion == 1)
        #expect(finding.databaseChecksum == document.checksum)
        #expect(finding.fileChecksum == document.checksum)  // what the file records, not what its body hashes to
        #expect(finding.detail.contains("hashes to"))
    }

    @Test("corrupt: a file holding another key than its path")
    func corruptKey() throws {
        let fixture = try mirrored()
        let first = try fixture.document("invoices/INV-1")
        let second = try fixture.document("invoices/INV-2")
        try FileManager.default.removeItem(atPath: fixture.file(second.key))
        try FileManager.default.copyItem(atPath: fixture.file(first.key), toPath: fixture.file(second.key))
        let report = try fixture.store.reconcile(against: .directory(fixture.mirror))
        #expect(report.findings == [Finding(
            kind: .corrupt, key: second.key, path: fixture.file(second.key), databaseVersion: 1, fileVersion: 1,
            databaseChecksum: second.checksum, fileChecksum: first.checksum, detail: report.findings.first?.detail ?? "")])
        #expect(report.findings.first?.detail.contains("invoices/INV-1") == true)
    }

    @Test("orphan_temp: a temporary file of an interrupted write")
    func orphanTemp() throws {
        let fixture = try mirrored()
        let temp = fixture.mirror + "/invoices/.INV-1.json.tmp-Ab3dE9"
        try fixture.write(Array("{".utf8), to: temp)
        let report = try fixture.store.reconcile(against: .directory(fixture.mirror))
        #expect(report.findings == [Finding(kind: .orphanTemp, key: nil, path: temp, databaseVersion: nil, fileVersion: nil,
                                            databaseChecksum: nil, fileChecksum: nil, detail: report.findings.first?.detail ?? "")])
        #expect(report.findings.first?.detail.contains("interrupted write") == true)
    }

    @Test("rule: a paid invoice whose stream does not balance")
    func rule() throws {
        let fixture = try ReconcileFixture()
        let charge = try fixture.store.ledger.append(stream: "invoice/INV-1", kind: "charge", amount: 1250, currency: "EUR")
        let paid = try fixture.store.state.put("invoices/INV-1", body: ["amount": 1250], status: "paid", causedBy: charge)
        try fixture.store.write { tx in
            let charge = try tx.ledger.append(stream: "invoice/INV-2", kind: "charge", amount: 900, currency: "EUR")
            let payment = try tx.ledger.append(stream: "invoice/INV-2", kind: "payment", amount: -900, currency: "EUR")
            try tx.state.put("invoices/INV-2", body: ["amount": 900], status: "paid", causedBy: payment)
            _ = charge
        }
        try fixture.store.mirror(to: fixture.mirror)
        let report = try fixture.store.reconcile(against: .directory(fixture.mirror), rules: [PaidBalanceRule()])
        #expect(report.findings.count == 1)
        let finding = try #require(report.findings.first)
        #expect(finding.kind == .rule)
        #expect(finding.key == "invoices/INV-1")
        #expect(finding.path == nil)
        #expect(finding.databaseVersion == 1)
        #expect(finding.databaseChecksum == paid.checksum)
        #expect(finding.detail.hasPrefix("paid-balance-zero: "))
        #expect(finding.detail.contains("1250 EUR"))
    }

    @Test("a database row whose body no longer matches its checksum is reported, not mirrored")
    func corruptDatabaseRow() throws {
        let fixture = try mirrored()
        let document = try fixture.document("invoices/INV-2")
        try fixture.tamper("UPDATE state SET body = '{\"amount\":1}', version = version + 1 WHERE key = 'invoices/INV-2'")
        let report = try fixture.store.reconcile(against: .directory(fixture.mirror))
        #expect(report.documentFindings.count == 1)
        let finding = try #require(report.findings.first)
        #expect(finding.kind == .corrupt)
        #expect(finding.key == document.key)
        #expect(finding.path == nil)
        #expect(finding.databaseVersion == 2)
        #expect(finding.databaseChecksum == document.checksum)
        let repaired = try fixture.store.repair(mirror: fixture.mirror)
        #expect(repaired.repairs.filter { !$0.contains(MirrorFile.manifestName) }.count == 1)
        #expect(repaired.repairs.first?.hasPrefix("left 'invoices/INV-2'") == true)
        #expect(fileBytes(fixture.file(document.key)).map(Array.init) == MirrorFile.render(document))
    }

    @Test("symbolic links are never followed: a file link and a directory link are unsafe, and a key under the link cannot have a file")
    func symbolicLinks() throws {
        let fixture = try ReconcileFixture()
        try fixture.seed(1)
        try fixture.store.state.put("accounts/A-1", body: ["limit": 1])
        try fixture.store.mirror(to: fixture.mirror)
        // invoices/INV-1.json → a copy elsewhere in the mirror: allowed, and still compared.
        try FileManager.default.moveItem(atPath: fixture.file("invoices/INV-1"), toPath: fixture.mirror + "/moved.json")
        try FileManager.default.createSymbolicLink(atPath: fixture.file("invoices/INV-1"), withDestinationPath: "../moved.json")
        // accounts/ → a directory outside the mirror: a key under it cannot have a file.
        let outside = fixture.directory.file("outside")
        try FileManager.default.moveItem(atPath: fixture.mirror + "/accounts", toPath: outside)
        try FileManager.default.createSymbolicLink(atPath: fixture.mirror + "/accounts", withDestinationPath: outside)
        let report = try fixture.store.reconcile(against: .directory(fixture.mirror))
        #expect(report.findings.count == 4, "\(report.findings)")
        let refused = try #require(report.findings.first)
        #expect(refused.kind == .missing)
        #expect(refused.key == "accounts/A-1")
        #expect(refused.path == nil)
        #expect(refused.detail.contains("symbolic link"))
        // The link where INV-1's file belongs is not read through.
        #expect(report.findings[1].kind == .unsafe)
        #expect(report.findings[1].path == fixture.file("invoices/INV-1"))
        #expect(report.findings[1].detail.contains("symbolic link"))
        // moved.json is a regular file no document accounts for; accounts/ is a link.
        #expect(report.findings[2].kind == .extra)
        #expect(report.findings[2].path == fixture.mirror + "/moved.json")
        #expect(report.findings[3].kind == .unsafe)
        #expect(report.findings[3].path == fixture.mirror + "/accounts")
    }

    @Test("every kind of file finding is the same whether pass 2 remembers pass 1's keys or asks the database per file")
    func keysRememberedOrLookedUp() throws {
        let fixture = try ReconcileFixture()
        try fixture.seed(6)
        try fixture.store.mirror(to: fixture.mirror)
        try fixture.store.state.put(fixture.key(1), body: ["amount": 1], expectedVersion: 1)  // stale
        try fixture.write(Array("{broken".utf8), to: fixture.file(fixture.key(2)))  // corrupt
        try FileManager.default.removeItem(atPath: fixture.file(fixture.key(3)))  // missing
        try fixture.store.state.delete(fixture.key(4))  // its file is extra
        try fixture.write(try fixture.validFile(key: "invoices/ghost", version: 1, body: ["a": 1]), to: fixture.file("invoices/ghost"))
        try fixture.write(Array("notes".utf8), to: fixture.mirror + "/README.txt")  // not a mirror file
        try fixture.write(Array("half".utf8), to: fixture.mirror + "/invoices/.INV-5.json.tmp-abcdef")  // orphan temp
        try FileManager.default.createSymbolicLink(atPath: fixture.mirror + "/invoices/link.json",
                                                   withDestinationPath: fixture.file(fixture.key(5)))  // unsafe

        let remembered = try fixture.store.reconcile(directory: fixture.mirror, keysRememberedAtMost: 250_000)
        let lookedUp = try fixture.store.reconcile(directory: fixture.mirror, keysRememberedAtMost: 0)
        #expect(Set(remembered.findings.map(\.kind)) == [.stale, .corrupt, .missing, .extra, .orphanTemp, .unsafe, .mismatch])
        #expect(remembered == lookedUp)
        // The documents' files that are fine are not extra, either way.
        #expect(!remembered.findings.contains { $0.kind == .extra && $0.key == fixture.key(6) })
    }

    /// Flags one key: its finding must land between the neighbours' file findings.
    struct FlagsOneKey: DomainRule {
        let key: String
        var name: String { "flags-one-key" }
        func check(_ document: StateDocument, ledger: Ledger) throws -> [String] {
            document.key == key ? ["flagged"] : []
        }
    }

    @Test("findings come in key order across the chunks the file stage reads ahead, and a repair follows the same order")
    func findingsInKeyOrderAcrossChunks() throws {
        let fixture = try ReconcileFixture()
        let sorted = try fixture.seed(1_200).map(\.key).sorted()
        try fixture.store.mirror(to: fixture.mirror)
        // Positions in key order around the chunk boundaries (512 documents a chunk).
        let (missing, corruptFile, corruptRow, flagged, stale) = (sorted[4], sorted[512], sorted[600], sorted[700], sorted[1_100])
        try FileManager.default.removeItem(atPath: fixture.file(missing))
        try fixture.write(Array("{broken".utf8), to: fixture.file(corruptFile))
        try fixture.tamper("UPDATE state SET body = '{\"amount\":1}', version = version + 1 WHERE key = '\(corruptRow)'")
        try fixture.store.state.put(stale, body: ["amount": 1], expectedVersion: 1)

        let report = try fixture.store.reconcile(against: .directory(fixture.mirror), rules: [FlagsOneKey(key: flagged)])
        let found = report.documentFindings.map { "\($0.kind.rawValue) \($0.key ?? "-")" }
        #expect(found == ["missing \(missing)", "corrupt \(corruptFile)", "corrupt \(corruptRow)", "rule \(flagged)", "stale \(stale)"])
        #expect(report.documentFindings[2].path == nil, "the database's copy is the corrupt one")
        #expect(report.documentsChecked == 1_200)
        #expect(report.filesChecked == 1_198, "neither the missing file nor the corrupt row's")

        let repaired = try fixture.store.repair(mirror: fixture.mirror)
        let actions = repaired.repairs.filter { !$0.contains(MirrorFile.manifestName) }
        #expect(actions.count == 4, "\(actions)")
        #expect(actions.map { $0.hasPrefix("left") ? "left" : "rewrote" } == ["rewrote", "rewrote", "left", "rewrote"])
        #expect(actions[2].contains(corruptRow))
        let after = try fixture.store.reconcile(against: .directory(fixture.mirror))
        #expect(after.documentFindings.map(\.key) == [corruptRow])
    }

    @Test("a directory that does not exist is an error, not a list of missing files")
    func noDirectory() throws {
        let fixture = try mirrored()
        let error = try #require(throws: TallyError.self) {
            try fixture.store.reconcile(against: .directory(fixture.mirror + "-typo"))
        }
        #expect(error == .io(step: "open", path: fixture.mirror + "-typo", errno: ENOENT))
        #expect(error.exitCode == 5)
    }
}
