import Foundation
import Testing

@testable import Tally

@Suite("Power loss during AtomicFile.Batch, the mirror's writer, leaves each file old or new, and every file new once commit returned")
struct BatchPowerLossTests {
    /// Two files replaced (one in a subdirectory), one created, one created in a new directory.
    private let old = ["a.json": fixture("old a", 700), "sub/b.json": fixture("old b", 300)]
    private let new = ["a.json": fixture("new a", 1200), "sub/b.json": fixture("new b", 400),
                       "c.json": fixture("new c", 600), "fresh/d.json": fixture("new d", 200)]

    private func commit(syncFileSystemAvailable: Bool) throws -> Recording {
        try withTemporaryDirectory { directory in
            try FileManager.default.createDirectory(atPath: directory + "/sub", withIntermediateDirectories: true)
            for (path, bytes) in old { try Data(bytes).write(to: URL(fileURLWithPath: directory + "/" + path)) }
            return try record(under: directory, syncFileSystemAvailable: syncFileSystemAvailable) { recorder in
                let batch = AtomicFile.Batch(syscalls: recorder.syscalls)
                for path in new.keys.sorted() { try batch.add(new[path] ?? [], to: directory + "/" + path) }
                let failures = try batch.commit()
                #expect(failures.isEmpty)
                recorder.markReturned("commit")
            }
        }
    }

    private var invariants: [CrashInvariant] {
        new.keys.sorted().map { path in
            CrashInvariant.atomicReplace(of: path, old: old[path], new: new[path] ?? [], returnedLabel: "commit")
        }
    }

    @Test("With syncfs (Linux): one syncfs makes every temporary file durable before the first rename")
    func withSyncfs() throws {
        let recording = try commit(syncFileSystemAvailable: true)
        let syncs = recording.log.filter { $0 == .syncFileSystem }
        #expect(syncs.count == 1)
        #expect(!recording.log.contains { if case .fsync = $0 { true } else { false } })
        try expectNoViolations("AtomicFile.Batch (syncfs)", recording, invariants: invariants,
                               onDisk: { state, disk in sweepProblems(disk, state) })
    }

    @Test("Without syncfs (-ENOSYS, as on macOS): an fsync per temporary file, then the renames")
    func withoutSyncfs() throws {
        let recording = try commit(syncFileSystemAvailable: false)
        let fsyncs = recording.log.filter { if case .fsync = $0 { true } else { false } }
        #expect(fsyncs.count == new.count)
        try expectNoViolations("AtomicFile.Batch (fsync per file)", recording, invariants: invariants,
                               onDisk: { state, disk in sweepProblems(disk, state) })
    }

    @Test("A discarded batch never touches its targets")
    func discarded() throws {
        let recording = try withTemporaryDirectory { directory in
            try FileManager.default.createDirectory(atPath: directory + "/sub", withIntermediateDirectories: true)
            for (path, bytes) in old { try Data(bytes).write(to: URL(fileURLWithPath: directory + "/" + path)) }
            return try record(under: directory) { recorder in
                let batch = AtomicFile.Batch(syscalls: recorder.syscalls)
                for path in new.keys.sorted() { try batch.add(new[path] ?? [], to: directory + "/" + path) }
                batch.discard()
                recorder.markReturned("discard")
            }
        }
        try expectNoViolations("AtomicFile.Batch (discard)", recording,
                               invariants: old.keys.sorted().map { CrashInvariant.oneOf($0, [old[$0]]) },
                               onDisk: { state, disk in sweepProblems(disk, state) })
    }
}
