import Foundation
import Testing
@testable import Tally

@Suite("Reconcile: repairing a mirror")
struct ReconcileRepairTests {
    /// Six documents mirrored, then one problem of every kind repair deals with.
    private func damaged() throws -> (ReconcileFixture, temp: String) {
        let fixture = try ReconcileFixture()
        try fixture.seed(6)
        try fixture.store.mirror(to: fixture.mirror)
        try FileManager.default.removeItem(atPath: fixture.file(fixture.key(1)))                       // missing
        try fixture.store.state.update(fixture.key(2), status: "paid")                                  // stale
        try fixture.write(try fixture.validFile(key: fixture.key(3), version: 1, body: ["x": 1]),
                          to: fixture.file(fixture.key(3)))                                             // mismatch
        try fixture.write(Array("garbage".utf8), to: fixture.file(fixture.key(4)))                      // corrupt
        try fixture.store.state.delete(fixture.key(5))                                                  // extra
        let temp = fixture.mirror + "/invoices/.INV-6.json.tmp-XyZ123"
        try fixture.write(Array("{".utf8), to: temp)                                                    // orphan temp
        try fixture.age(temp, by: 3600)
        return (fixture, temp)
    }

    @Test("repair rewrites from the database; extra files survive without removeExtra and go with it")
    func repairThenClean() throws {
        let (fixture, temp) = try damaged()
        let before = try fixture.store.reconcile(against: .directory(fixture.mirror))
        // Database key order first, then the directory walk (in the filesystem's order).
        #expect(before.findings.prefix(4).map(\.kind) == [.missing, .stale, .mismatch, .corrupt])
        #expect(Set(before.documentFindings.suffix(2).map(\.kind)) == [.extra, .orphanTemp])
        #expect(before.documentFindings.count == 6)
        // The manifest counted six documents at the versions mirrored.
        #expect(before.manifestFindings.map(\.kind) == [.mismatch])

        let repaired = try fixture.store.repair(mirror: fixture.mirror)
        #expect(repaired.findings == before.findings)
        #expect(repaired.exitStatus == 1)
        #expect(repaired.repairs.count == 7)
        #expect(repaired.repairs.filter { $0.hasPrefix("rewrote ") }.count == 5)
        #expect(repaired.repairs.contains("removed \(temp) (a temporary file left by an interrupted write)"))
        #expect(repaired.repairs.contains { $0.hasPrefix("left \(fixture.file(fixture.key(5)))") })
        for index in [1, 2, 3, 4, 6] {
            let document = try fixture.document(fixture.key(index))
            #expect(fileBytes(fixture.file(document.key)).map(Array.init) == MirrorFile.render(document))
        }
        #expect(!FileManager.default.fileExists(atPath: temp))

        let after = try fixture.store.reconcile(against: .directory(fixture.mirror))
        #expect(after.findings.map(\.kind) == [.extra])
        #expect(FileManager.default.fileExists(atPath: fixture.file(fixture.key(5))))

        let removing = try fixture.store.repair(mirror: fixture.mirror, removeExtra: true)
        #expect(removing.repairs == ["removed \(fixture.file(fixture.key(5))) (its key is not in the database)"])
        #expect(!FileManager.default.fileExists(atPath: fixture.file(fixture.key(5))))
        let clean = try fixture.store.reconcile(against: .directory(fixture.mirror))
        #expect(clean.isClean)
        #expect(clean.documentsChecked == 5)
        #expect(clean.filesChecked == 5)
    }

    @Test("a repair that fails part-way leaves every file whole, keeps what it rewrote, and a second repair finishes")
    func repairFailsPartWay() throws {
        let fixture = try ReconcileFixture()
        let mirrored = Dictionary(uniqueKeysWithValues: try fixture.seed(1_200).map { ($0.key, $0) })
        let sorted = mirrored.keys.sorted()
        try fixture.store.mirror(to: fixture.mirror)
        // Every document changes after the mirror: 1,200 stale files, three chunks of the
        // file stage, and the repair's 700th rename fails (the disk filled up).
        try fixture.store.write { tx in
            for key in sorted { try tx.state.update(key, status: "paid") }
        }
        let faults = FaultPlan()
        faults.fail(.rename, errno: ENOSPC, onCall: 700)
        let error = try #require(throws: TallyError.self) {
            try fixture.store.repair(mirror: fixture.mirror, removeExtra: false, progress: nil, syscalls: faults.syscalls)
        }
        #expect(error == .io(step: "rename", path: fixture.file(sorted[699]), errno: ENOSPC))

        // Each file is whole: rewritten from the database up to the failure, as mirrored after it.
        for (position, key) in sorted.enumerated() {
            let expected = try position < 699 ? fixture.document(key) : #require(mirrored[key])
            #expect(fileBytes(fixture.file(key)).map(Array.init) == MirrorFile.render(expected), "\(key) at \(position)")
        }
        let leftovers = try FileManager.default.subpathsOfDirectory(atPath: fixture.mirror)
        #expect(leftovers.filter { $0.contains(".tmp-") }.isEmpty, "the failed write removed its temporary file")

        let finished = try fixture.store.repair(mirror: fixture.mirror)
        let rewrites = finished.repairs.filter { !$0.contains(MirrorFile.manifestName) }
        #expect(rewrites.count == 501)
        #expect(rewrites.allSatisfy { $0.hasPrefix("rewrote ") })
        #expect(try fixture.store.reconcile(against: .directory(fixture.mirror)).isClean)
    }

    @Test("repair leaves a young temp file (a write may be in progress) and files Tally did not write")
    func repairIsCareful() throws {
        let fixture = try ReconcileFixture()
        try fixture.seed(2)
        try fixture.store.mirror(to: fixture.mirror)
        let young = fixture.mirror + "/.INV-9.json.tmp-AAAAAA"
        try fixture.write(Array("{".utf8), to: young)
        let foreign = fixture.mirror + "/invoices/INV-77.json"
        try fixture.write(Array("my own notes".utf8), to: foreign)
        let report = try fixture.store.repair(mirror: fixture.mirror, removeExtra: true)
        #expect(Set(report.findings.map(\.kind)) == [.extra, .orphanTemp])
        #expect(report.repairs.count == 2)
        #expect(report.repairs.allSatisfy { $0.hasPrefix("left ") })
        #expect(FileManager.default.fileExists(atPath: young))
        #expect(FileManager.default.fileExists(atPath: foreign))
    }

    @Test("repair holds the writer when the store writes through to a mirror, and repairs what write-through missed")
    func repairWithWriteThrough() throws {
        let directory = TemporaryDirectory("tally-reconcile")
        var configuration = Store.Configuration()
        configuration.mirrorDirectory = directory.file("mirror")
        let store = try Store(path: directory.file("tally.db"), configuration: configuration)
        try store.state.put("accounts/A-1", body: ["limit": 10])
        let path = directory.file("mirror") + "/accounts/A-1.json"
        #expect(FileManager.default.fileExists(atPath: path))
        try FileManager.default.removeItem(atPath: path)
        let report = try store.repair(mirror: directory.file("mirror"))
        #expect(report.findings.map(\.kind) == [.missing])
        #expect(try store.reconcile(against: .directory(directory.file("mirror"))).isClean)
    }
}
