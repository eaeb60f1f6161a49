import Foundation
import Testing

@testable import Tally

@Suite("Power loss during AtomicFile.Staged publication leaves the target old or new, and never beside a sidecar of the file it replaced")
struct StagedPublishPowerLossTests {
    @Test("publish(): the staged file replaces the target whole")
    func publishReplacing() throws {
        try withTemporaryDirectory { directory in
            let (old, new) = (fixture("old", 900), fixture("new", 1500))
            try Data(old).write(to: URL(fileURLWithPath: directory + "/data.bin"))
            let recording = try record(under: directory) { recorder in
                let staged = try AtomicFile.Staged(replacing: directory + "/data.bin", syscalls: recorder.syscalls)
                try staged.fill(with: new)
                try staged.publish()
                recorder.markReturned("publish")
            }
            try expectNoViolations(
                "AtomicFile.Staged.publish", recording,
                invariants: [.atomicReplace(of: "data.bin", old: old, new: new, returnedLabel: "publish")],
                onDisk: { state, disk in sweepProblems(disk, state) })
        }
    }

    @Test("Staged.copy(of:) then publish(): the copy replaces the target whole")
    func copyAndPublish() throws {
        try withTemporaryDirectory { directory in
            let (old, new) = (fixture("old", 900), fixture("source", 2100))
            try FileManager.default.createDirectory(atPath: directory + "/target", withIntermediateDirectories: true)
            try Data(old).write(to: URL(fileURLWithPath: directory + "/target/data.bin"))
            try Data(new).write(to: URL(fileURLWithPath: directory + "/source.bin"))
            let recording = try record(under: directory + "/target") { recorder in
                let staged = try AtomicFile.Staged.copy(of: directory + "/source.bin", replacing: directory + "/target/data.bin",
                                                        syscalls: recorder.syscalls)
                try staged.publish()
                recorder.markReturned("publish")
            }
            try expectNoViolations(
                "AtomicFile.Staged.copy + publish", recording,
                invariants: [.atomicReplace(of: "data.bin", old: old, new: new, returnedLabel: "publish")],
                onDisk: { state, disk in sweepProblems(disk, state) })
        }
    }

    private static let sidecars = ["db-wal", "db-journal", "db-shm"]

    private func sidecarInvariants(old: [UInt8], oldSidecars: [String: [UInt8]], new: [UInt8]) -> [CrashInvariant] {
        var invariants: [CrashInvariant] = [.atomicReplace(of: "db", old: old, new: new, returnedLabel: "publish")]
        for (name, bytes) in oldSidecars.sorted(by: { $0.key < $1.key }) {
            invariants.append(.never("the new db beside the old \(name)") {
                $0.contents(of: "db") == new && $0.contents(of: name) == bytes
            })
        }
        return invariants
    }

    @Test("publish(removingFirst:): the sidecars it removes are gone for good before the new file takes the name")
    func publishRemovingSidecars() throws {
        try withTemporaryDirectory { directory in
            let (old, new) = (fixture("old db", 1024), fixture("new db", 2048))
            let oldSidecars = ["db-wal": fixture("old wal", 800), "db-shm": fixture("old shm", 300)]
            try Data(old).write(to: URL(fileURLWithPath: directory + "/db"))
            for (name, bytes) in oldSidecars { try Data(bytes).write(to: URL(fileURLWithPath: directory + "/" + name)) }
            let recording = try record(under: directory) { recorder in
                let staged = try AtomicFile.Staged(replacing: directory + "/db", syscalls: recorder.syscalls)
                try staged.fill(with: new)
                try staged.publish(removingFirst: Self.sidecars.map { directory + "/" + $0 })
                recorder.markReturned("publish")
            }
            try expectNoViolations(
                "AtomicFile.Staged.publish(removingFirst:)", recording,
                invariants: sidecarInvariants(old: old, oldSidecars: oldSidecars, new: new),
                onDisk: { state, disk in sweepProblems(disk, state) })
        }
    }

    /// Regression: SQLite deletes a database's `-wal` itself (when the journal mode changes
    /// or the last connection closes) without fsyncing the directory. publish(removingFirst:)
    /// then found nothing to remove and skipped its directory fsync, so on a file system that
    /// reorders directory changes the rename could reach the disk while the deletion did not:
    /// the new database beside the old one's WAL, whose frames SQLite would replay into it.
    @Test("publish(removingFirst:) when another program already deleted the sidecars without syncing: never the new db beside the old WAL")
    func sidecarsDeletedByAnotherProgram() throws {
        try withTemporaryDirectory { directory in
            let (old, new) = (fixture("old db", 1024), fixture("new db", 2048))
            let oldSidecars = ["db-wal": fixture("old wal", 800)]
            try Data(old).write(to: URL(fileURLWithPath: directory + "/db"))
            for (name, bytes) in oldSidecars { try Data(bytes).write(to: URL(fileURLWithPath: directory + "/" + name)) }
            let recording = try record(under: directory, observingExternalChanges: true) { recorder in
                let staged = try AtomicFile.Staged(replacing: directory + "/db", syscalls: recorder.syscalls)
                try staged.fill(with: new)
                try FileManager.default.removeItem(atPath: directory + "/db-wal")  // as SQLite does: no directory fsync
                try staged.publish(removingFirst: Self.sidecars.map { directory + "/" + $0 })
                recorder.markReturned("publish")
            }
            #expect(recording.log.contains(.unlink(path: "db-wal")))
            #expect(recording.externalOperations == 1)
            try expectNoViolations(
                "AtomicFile.Staged.publish(removingFirst:) after an unsynced external delete", recording,
                invariants: sidecarInvariants(old: old, oldSidecars: oldSidecars, new: new),
                onDisk: { state, disk in sweepProblems(disk, state) })
        }
    }

    @Test("publishUnderNewName: the new name appears only complete, and no existing name is touched")
    func publishUnderNewName() throws {
        try withTemporaryDirectory { directory in
            let (existing, new) = (fixture("first backup", 700), fixture("second backup", 1300))
            try Data(existing).write(to: URL(fileURLWithPath: directory + "/backup-1"))
            var published = ""
            let recording = try record(under: directory) { recorder in
                let staged = try AtomicFile.Staged(replacing: directory + "/backup", syscalls: recorder.syscalls)
                try staged.fill(with: new)
                published = try staged.publishUnderNewName { directory + "/backup-\($0)" }
                recorder.markReturned("publish")
            }
            #expect(published == directory + "/backup-2")
            try expectNoViolations(
                "AtomicFile.Staged.publishUnderNewName", recording,
                invariants: [
                    .oneOf("backup-1", [existing]),
                    .atomicReplace(of: "backup-2", old: nil, new: new, returnedLabel: "publish"),
                ],
                onDisk: { state, disk in sweepProblems(disk, state) })
        }
    }

    @Test("publishAsNew and createNew: the file is absent or complete, and durable once returned")
    func publishAsNew() throws {
        try withTemporaryDirectory { directory in
            let (key, other) = (fixture("private key", 1200), fixture("public key", 600))
            let recording = try record(under: directory) { recorder in
                let staged = try AtomicFile.Staged(replacing: directory + "/keys/signing.key", syscalls: recorder.syscalls)
                try staged.fill(with: key)
                try staged.publishAsNew()
                recorder.markReturned("publishAsNew")
                try AtomicFile.createNew(other, at: directory + "/keys/signing.pub", syscalls: recorder.syscalls)
                recorder.markReturned("createNew")
            }
            try expectNoViolations(
                "AtomicFile.Staged.publishAsNew, createNew", recording,
                invariants: [
                    .atomicReplace(of: "keys/signing.key", old: nil, new: key, returnedLabel: "publishAsNew"),
                    .atomicReplace(of: "keys/signing.pub", old: nil, new: other, returnedLabel: "createNew"),
                ],
                onDisk: { state, disk in sweepProblems(disk, state) })
        }
    }
}
