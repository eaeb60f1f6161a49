import Foundation
import Testing
@testable import Tally

/// A mirror directory may be written by someone else. These specify what Tally does with
/// what it finds there: it never hangs on a FIFO, never follows a link, never stops half-way,
/// never deletes what it did not write, and `mirror` and `reconcile` agree.
@Suite("Mirror at its edges: untrusted directories are reported, never followed, hung on or half-written")
struct MirrorHardeningTests {
    private func mirrored(_ count: Int = 3) throws -> ReconcileFixture {
        let fixture = try ReconcileFixture()
        try fixture.seed(count)
        try fixture.store.mirror(to: fixture.mirror)
        return fixture
    }

    private func makeFIFO(_ path: String) throws {
        #expect(mkfifo(path, 0o600) == 0, "mkfifo \(path)")
    }

    @Test("a FIFO where a mirror file belongs is an unsafe finding for mirror and reconcile alike, never a hang")
    func fifoAtKeyPath() throws {
        let fixture = try mirrored()
        try FileManager.default.removeItem(atPath: fixture.file("invoices/INV-2"))
        try makeFIFO(fixture.file("invoices/INV-2"))
        try fixture.store.state.put("invoices/INV-4", body: ["amount": 400])

        let report = try fixture.store.mirror(to: fixture.mirror)
        #expect(report.findings.map(\.kind) == [.unsafe])
        #expect(report.findings.first?.key == "invoices/INV-2")
        #expect(report.findings.first?.detail.contains("remove") == true)
        // Everything else was still written, the manifest too.
        #expect(FileManager.default.fileExists(atPath: fixture.file("invoices/INV-4")))
        #expect(FileManager.default.fileExists(atPath: fixture.mirror + "/" + MirrorFile.manifestName))

        let reconciled = try fixture.store.reconcile(against: .directory(fixture.mirror))
        #expect(reconciled.findings.map(\.kind) == [.unsafe])
        #expect(reconciled.findings.first?.key == "invoices/INV-2")
    }

    @Test("a mirror, backup or snapshot aimed at the wrong kind of path is refused as bad input before anything is written")
    func wrongKindOfTarget() throws {
        let fixture = try mirrored()
        let file = fixture.mirror + "/" + MirrorFile.manifestName  // a regular file
        for attempt in [{ _ = try fixture.store.mirror(to: file) }, { _ = try fixture.store.backup(toDirectory: file) }] {
            let error = try #require(throws: TallyError.self) { try attempt() }
            guard case let .invalidInput(field, reason) = error else {
                Issue.record("expected invalidInput, got \(error)")
                continue
            }
            #expect(field == "directory")
            #expect(reason.contains("is a regular file, not a directory"), "\(reason)")
        }
        let export = try #require(throws: TallyError.self) { try fixture.store.exportSnapshot(to: fixture.mirror) }
        #expect(export == .invalidInput(field: "path", reason: "\(fixture.mirror) is a directory; name the file to write"))
        let names = try FileManager.default.contentsOfDirectory(atPath: fixture.mirror).sorted()
        #expect(!names.contains { $0.hasPrefix(".") || $0.hasSuffix(".db") }, "nothing staged: \(names)")
    }

    @Test("a whole mirror lists each directory once: regular files are opened without a stat each, anything else is still looked at and refused")
    func listedDirectories() throws {
        let fixture = try mirrored(20)
        let quiet = FaultPlan()
        let again = try fixture.store.mirror(to: fixture.mirror, progress: nil, syscalls: quiet.syscalls)
        #expect(again.unchanged == 20 && again.written == 0 && again.findings.isEmpty)
        #expect(quiet.calls(.lstatAt) == 0, "no per-file stat for files the listing shows as regular")

        try FileManager.default.removeItem(atPath: fixture.file("invoices/INV-2"))
        try makeFIFO(fixture.file("invoices/INV-2"))
        try FileManager.default.removeItem(atPath: fixture.file("invoices/INV-3"))
        try FileManager.default.createSymbolicLink(atPath: fixture.file("invoices/INV-3"), withDestinationPath: "/etc/passwd")
        try FileManager.default.removeItem(atPath: fixture.file("invoices/INV-4"))
        let looked = FaultPlan()
        let report = try fixture.store.mirror(to: fixture.mirror, progress: nil, syscalls: looked.syscalls)
        #expect(report.findings.map(\.kind) == [.unsafe, .unsafe])
        #expect(report.findings.map(\.key) == ["invoices/INV-2", "invoices/INV-3"])
        #expect(report.written == 1, "the missing file is written without being looked for")
        #expect(looked.calls(.lstatAt) == 2, "the FIFO and the link are looked at, as without a listing")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: fixture.file("invoices/INV-3"))) == "/etc/passwd")
    }

    @Test("a FIFO, a socket-like special file or a link as an extra entry is unsafe, not extra, and is left alone")
    func specialExtraFiles() throws {
        let fixture = try mirrored()
        try makeFIFO(fixture.mirror + "/pipe.json")
        try FileManager.default.createSymbolicLink(atPath: fixture.mirror + "/elsewhere.json", withDestinationPath: "/etc/passwd")
        let report = try fixture.store.reconcile(against: .directory(fixture.mirror))
        #expect(Set(report.findings.map(\.kind)) == [.unsafe])
        #expect(report.findings.count == 2)
        let repaired = try fixture.store.repair(mirror: fixture.mirror, removeExtra: true)
        _ = repaired
        // Tally does not remove what it would have to follow or open to recognise.
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: fixture.mirror + "/elsewhere.json")) == "/etc/passwd")
        #expect(FileManager.default.fileExists(atPath: fixture.mirror + "/pipe.json"))
    }

    @Test("a file too large to be a mirror file is unsafe, read no further than the limit")
    func oversizedFile() throws {
        let fixture = try mirrored()
        let huge = fixture.file("invoices/INV-1")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: huge))
        try handle.truncate(atOffset: UInt64(MirrorFileReader.limit(expected: 0)) + 1)  // sparse: costs no disk
        try handle.close()
        let report = try fixture.store.reconcile(against: .directory(fixture.mirror))
        let finding = try #require(report.documentFindings.first)
        #expect(report.documentFindings.count == 1)
        #expect(finding.kind == .unsafe)
        #expect(finding.detail.contains("limit") || finding.detail.contains("large"), "\(finding)")
    }

    @Test("mirror never stops half-way: a directory where a file belongs is reported, the rest and the manifest are written")
    func neverHalfWay() throws {
        let fixture = try ReconcileFixture()
        try fixture.seed(5)
        // A directory where INV-2's file belongs (with someone's file in it), and a corrupt
        // file at INV-4's path: the path `<key>.json` is the mirror's, so that one is rewritten.
        try FileManager.default.createDirectory(atPath: fixture.file("invoices/INV-2"), withIntermediateDirectories: true)
        try fixture.write(Array("theirs".utf8), to: fixture.file("invoices/INV-2") + "/notes.txt")
        try fixture.write(Array("not JSON".utf8), to: fixture.file("invoices/INV-4"))
        let report = try fixture.store.mirror(to: fixture.mirror)
        #expect(report.findings.compactMap(\.key) == ["invoices/INV-2"], "\(report.findings)")
        #expect(!report.isComplete)
        for index in [1, 3, 4, 5] {
            #expect(FileManager.default.fileExists(atPath: fixture.file(fixture.key(index))))
        }
        #expect(fileBytes(fixture.file("invoices/INV-2") + "/notes.txt") == Data("theirs".utf8))
        let manifest = try #require(fileBytes(fixture.mirror + "/" + MirrorFile.manifestName))
        #expect(String(decoding: manifest, as: UTF8.self).contains("\"documents\""))
    }

    /// Run twice: with pass 1's keys remembered for pass 2 (the default) and with every
    /// directory entry looked up in the database instead (what mirrors beyond 250,000
    /// documents do).
    @Test("mirror then reconcile converge: whatever damage mirror can fix, reconcile then finds clean",
          arguments: [250_000, 0])
    func convergence(keysRemembered: Int) throws {
        let fixture = try mirrored(6)
        // Stale, corrupt, extra, missing, an old temp file, and a manifest from the past.
        try fixture.store.state.put(fixture.key(1), body: ["amount": 1], expectedVersion: 1)
        try fixture.write(Array("{broken".utf8), to: fixture.file(fixture.key(2)))
        try fixture.write(try fixture.validFile(key: "invoices/ghost", version: 1, body: ["a": 1]), to: fixture.file("invoices/ghost"))
        try FileManager.default.removeItem(atPath: fixture.file(fixture.key(3)))
        let temp = fixture.mirror + "/invoices/.INV-5.json.tmp-abcdef"
        try fixture.write(Array("half".utf8), to: temp)
        try fixture.age(temp, by: 3_600)
        try fixture.store.state.delete(fixture.key(6))

        #expect(!(try fixture.store.reconcile(against: .directory(fixture.mirror))).isClean)
        let report = try fixture.store.mirror(to: fixture.mirror, progress: nil, syscalls: .live, keysRememberedAtMost: keysRemembered)
        #expect(report.removed == 2, "the ghost's file and the deleted document's file")
        let after = try fixture.store.reconcile(against: .directory(fixture.mirror))
        #expect(after.isClean, "\(after.findings)")
        // And a second mirror has nothing left to do.
        let again = try fixture.store.mirror(to: fixture.mirror, progress: nil, syscalls: .live, keysRememberedAtMost: keysRemembered)
        #expect(again.written == 0 && again.removed == 0 && again.isComplete)
    }

    @Test("Tally's own database, -wal, -shm and lock files inside the mirror are never extra")
    func ownDatabaseFiles() throws {
        let directory = TemporaryDirectory("tally-mirror-own")
        let store = try Store(path: directory.file("tally.db"))
        try store.state.put("a", body: ["x": 1])
        try store.mirror(to: directory.path)
        try store.state.put("b", body: ["x": 2])  // keeps a -wal file around
        try store.mirror(to: directory.path)
        let entries = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(entries.contains("tally.db-wal"))
        let report = try store.reconcile(against: .directory(directory.path))
        #expect(report.isClean, "\(report.findings)")
    }

    @Test("a directory holding another ledger's mirror is refused, and not one of its files is touched")
    func foreignLedger() throws {
        let first = try mirrored()
        let before = try FileManager.default.subpathsOfDirectory(atPath: first.mirror).sorted()
        let manifest = fileBytes(first.mirror + "/" + MirrorFile.manifestName)
        let other = TemporaryDirectory("tally-mirror-other")
        let stranger = try Store(path: other.file("other.db"))
        try stranger.state.put("x", body: [:])
        #expect(try stranger.ledgerID() != first.store.ledgerID())
        let error = try #require(throws: TallyError.self) { try stranger.mirror(to: first.mirror) }
        #expect(error.problem.contains(try first.store.ledgerID()), "\(error)")
        #expect(error.exitCode == 2)
        #expect(try FileManager.default.subpathsOfDirectory(atPath: first.mirror).sorted() == before)
        #expect(fileBytes(first.mirror + "/" + MirrorFile.manifestName) == manifest)
        // Repair refuses it too.
        #expect(throws: TallyError.self) { try stranger.repair(mirror: first.mirror, removeExtra: true) }
        #expect(try FileManager.default.subpathsOfDirectory(atPath: first.mirror).sorted() == before)
    }

    @Test("the manifest is checked, not trusted: missing, unparsable and behind the database are findings; repair rewrites it")
    func manifestChecked() throws {
        let manifestPath: (ReconcileFixture) -> String = { $0.mirror + "/" + MirrorFile.manifestName }

        let missing = try mirrored()
        try FileManager.default.removeItem(atPath: manifestPath(missing))
        let missingReport = try missing.store.reconcile(against: .directory(missing.mirror))
        #expect(missingReport.manifestFindings.map(\.kind) == [.missing])
        #expect(missingReport.documentFindings.isEmpty)

        let garbled = try mirrored()
        try garbled.write(Array("{\"format\":".utf8), to: manifestPath(garbled))
        #expect(try garbled.store.reconcile(against: .directory(garbled.mirror)).manifestFindings.map(\.kind) == [.corrupt])

        // A document file edited consistently (valid file, new checksum) but the manifest not:
        // the digest over the entries disagrees even though head and count agree.
        let digest = try mirrored()
        let document = try digest.document(digest.key(2))
        try digest.write(try digest.validFile(key: document.key, version: document.version, body: ["amount": 999]),
                         to: digest.file(document.key))
        let digestReport = try digest.store.reconcile(against: .directory(digest.mirror))
        #expect(digestReport.documentFindings.map(\.kind) == [.mismatch])

        let behind = try mirrored()
        try behind.store.ledger.append(behind.event())
        let behindReport = try behind.store.reconcile(against: .directory(behind.mirror))
        #expect(behindReport.manifestFindings.map(\.kind) == [.stale])
        #expect(behindReport.manifestFindings.first?.detail.contains("head") == true)

        for fixture in [missing, garbled, digest, behind] {
            _ = try fixture.store.repair(mirror: fixture.mirror)
            let after = try fixture.store.reconcile(against: .directory(fixture.mirror))
            #expect(after.isClean, "\(after.findings)")
        }
    }
}

extension ReconcileFixture {
    /// A valid new ledger event for tests that only need the head to move.
    func event(stream: String = "test/stream") -> NewEvent {
        NewEvent(stream: stream, kind: "note", amount: 0, currency: "EUR")
    }
}
