import Foundation
import Testing
@testable import Tally

/// The mirror verifies and renders documents on the thread of its read transaction and reads
/// and writes their files on a second one (`MirrorFileStage`). A failure on either side must
/// still end the mirror cleanly: the error thrown, no temporary file left, no manifest
/// claiming a mirror that was not finished.
@Suite("Mirror: files are written on a second thread, and a failure on either side stops it cleanly")
struct MirrorPipelineTests {
    /// A mirrored store of `count` documents, each then changed so every file must be rewritten.
    private func changedAfterMirror(_ count: Int) throws -> (fixture: ReconcileFixture, manifest: Data) {
        let fixture = try ReconcileFixture()
        try fixture.seed(count)
        try fixture.store.mirror(to: fixture.mirror)
        let manifest = try Data(contentsOf: URL(fileURLWithPath: fixture.mirror + "/" + MirrorFile.manifestName))
        try fixture.store.write { tx in
            for index in 1...count { try tx.state.update(fixture.key(index), body: ["amount": .number(Double(index))]) }
        }
        return (fixture, manifest)
    }

    /// Files under `directory` whose names are Tally's temporary files.
    private func temporaryFiles(under directory: String) -> [String] {
        let all = FileManager.default.enumerator(atPath: directory)?.compactMap { $0 as? String } ?? []
        return all.filter { TempFileName.matches(FileOperations.lastComponent($0)) }
    }

    @Test("the files of many chunks are all written, in key order, as one pass over them would")
    func manyChunks() throws {
        let (fixture, _) = try changedAfterMirror(3 * MirrorFileStage.chunkSize + 7)
        let count = 3 * MirrorFileStage.chunkSize + 7
        let report = try fixture.store.mirror(to: fixture.mirror)
        #expect(report.written == Int64(count) && report.unchanged == 0 && report.findings.isEmpty)
        #expect(try fixture.store.reconcile(against: .directory(fixture.mirror)).isClean)
        let again = try fixture.store.mirror(to: fixture.mirror)
        #expect(again.unchanged == Int64(count) && again.written == 0)
    }

    @Test("a failing sync in the file stage ends the mirror with its I/O error; no temporary file is left, the manifest is the old one")
    func fileSideFailure() throws {
        let (fixture, manifest) = try changedAfterMirror(2 * MirrorFileStage.chunkSize)
        let faults = FaultPlan()
        faults.fail(.syncFileSystem, errno: EIO, times: 1_000)
        faults.fail(.fsync, errno: EIO, times: 1_000)
        let error = try #require(throws: TallyError.self) {
            try fixture.store.mirror(to: fixture.mirror, progress: nil, syscalls: faults.syscalls)
        }
        guard case let .io(step, path, code) = error else {
            Issue.record("expected an I/O error, got \(error)")
            return
        }
        #expect(step == "fsync" && code == EIO)
        #expect(path.hasPrefix(fixture.mirror + "/invoices/"), "\(path)")
        #expect(temporaryFiles(under: fixture.mirror).isEmpty)
        #expect(try Data(contentsOf: URL(fileURLWithPath: fixture.mirror + "/" + MirrorFile.manifestName)) == manifest)
    }

    @Test("a corrupt document found while rendering stops the mirror as corruption; the files already staged are discarded")
    func renderingSideFailure() throws {
        let count = 3 * MirrorFileStage.chunkSize
        let (fixture, manifest) = try changedAfterMirror(count)
        // Keys sort as text: the tenth-from-last key in order is well past the first chunks.
        let keys = (1...count).map(fixture.key).sorted()
        let victim = keys[keys.count - 10]
        try fixture.tamper("UPDATE state SET body = '{\"amount\":-1}', version = version + 1 WHERE key = '\(victim)'")
        let error = try #require(throws: TallyError.self) { try fixture.store.mirror(to: fixture.mirror) }
        guard case let .corruptState(key, _, _) = error else {
            Issue.record("expected corruptState, got \(error)")
            return
        }
        #expect(key == victim)
        #expect(error.exitCode == 3)
        #expect(temporaryFiles(under: fixture.mirror).isEmpty)
        #expect(try Data(contentsOf: URL(fileURLWithPath: fixture.mirror + "/" + MirrorFile.manifestName)) == manifest)
    }
}
