import Foundation
import Testing

@testable import Tally

@Suite("Power loss during AtomicFile.write and its streaming Writer leaves the complete old or new file, and only the new one once the write returned")
struct AtomicWritePowerLossTests {
    @Test("Replacing a file: every crash state holds the complete old or new content, never a torn or empty file")
    func replaceExistingFile() throws {
        try withTemporaryDirectory { directory in
            let (old, new) = (fixture("old", 700), fixture("new", 1300))
            try Data(old).write(to: URL(fileURLWithPath: directory + "/config.json"))
            let recording = try record(under: directory) { recorder in
                try AtomicFile.write(new, to: directory + "/config.json", syscalls: recorder.syscalls)
                recorder.markReturned("write")
            }
            try expectNoViolations(
                "AtomicFile.write (replace)", recording,
                invariants: [.atomicReplace(of: "config.json", old: old, new: new, returnedLabel: "write")],
                onDisk: { state, disk in sweepProblems(disk, state) })
        }
    }

    @Test("Creating a file in missing directories: it is absent or complete, and durable with its directories once returned")
    func createInMissingDirectories() throws {
        try withTemporaryDirectory { directory in
            let new = fixture("new", 1100)
            let recording = try record(under: directory) { recorder in
                try AtomicFile.write(new, to: directory + "/a/b/config.json", syscalls: recorder.syscalls)
                recorder.markReturned("write")
            }
            #expect(recording.log.contains(.mkdir(path: "a")) && recording.log.contains(.fsyncDirectory(path: "")))
            try expectNoViolations(
                "AtomicFile.write (create, mkdir -p)", recording,
                invariants: [.atomicReplace(of: "a/b/config.json", old: nil, new: new, returnedLabel: "write")],
                onDisk: { state, disk in sweepProblems(disk, state) })
        }
    }

    @Test("Rotating two backups: NAME is always complete, NAME.bak.1 holds what NAME held once NAME is new, at most one generation is lost")
    func backupRotation() throws {
        try withTemporaryDirectory { directory in
            let generations = [fixture("current", 600), fixture("backup one", 650), fixture("backup two", 700)]
            let new = fixture("new", 900)
            let path = directory + "/settings.json"
            for (index, bytes) in generations.enumerated() {
                let name = index == 0 ? path : AtomicFile.backupPath(of: path, index: index)
                try Data(bytes).write(to: URL(fileURLWithPath: name))
            }
            let recording = try record(under: directory) { recorder in
                try AtomicFile.write(new, to: path, backups: 2, syscalls: recorder.syscalls)
                recorder.markReturned("write")
            }
            #expect(recording.final.contents(of: "settings.json.bak.1") == generations[0])
            #expect(recording.final.contents(of: "settings.json.bak.2") == generations[1])
            try expectNoViolations(
                "AtomicFile.write (backups: 2)", recording,
                invariants: [
                    .atomicReplace(of: "settings.json", old: generations[0], new: new, returnedLabel: "write"),
                    .backupsKept(of: "settings.json", generations: generations, new: new, count: 2),
                    .durable("settings.json.bak.1", contents: generations[0], afterReturnOf: "write"),
                ],
                onDisk: { state, disk in sweepProblems(disk, state) })
        }
    }

    @Test("The first backup: NAME.bak.1 appears only complete, and is durable before NAME is replaced")
    func firstBackup() throws {
        try withTemporaryDirectory { directory in
            let (old, new) = (fixture("old", 800), fixture("new", 500))
            let path = directory + "/settings.json"
            try Data(old).write(to: URL(fileURLWithPath: path))
            let recording = try record(under: directory) { recorder in
                try AtomicFile.write(new, to: path, backups: 3, syscalls: recorder.syscalls)
                recorder.markReturned("write")
            }
            try expectNoViolations(
                "AtomicFile.write (first backup)", recording,
                invariants: [
                    .atomicReplace(of: "settings.json", old: old, new: new, returnedLabel: "write"),
                    .backupsKept(of: "settings.json", generations: [old, nil, nil, nil], new: new, count: 3),
                    .oneOf("settings.json.bak.1", [nil, old]),
                ],
                onDisk: { state, disk in sweepProblems(disk, state) })
        }
    }

    @Test("Streaming 150 KiB in chunks (three 64 KiB writes, torn at 4 KiB pages): the target is never partial")
    func streamingWriter() throws {
        try withTemporaryDirectory { directory in
            let old = fixture("old snapshot", 5000)
            let new = fixture("new snapshot", PowerLossBounds.stress ? 400_000 : 150_000)
            let path = directory + "/export.tally"
            try Data(old).write(to: URL(fileURLWithPath: path))
            let recording = try record(under: directory) { recorder in
                let writer = try AtomicFile.Writer(path: path, syscalls: recorder.syscalls)
                var offset = 0
                while offset < new.count {
                    try writer.write(new[offset..<min(offset + 10_000, new.count)])
                    offset += 10_000
                }
                try writer.commit()
                recorder.markReturned("commit")
            }
            let writes = recording.log.filter { if case .write = $0 { true } else { false } }
            #expect(writes.count == (new.count + AtomicFile.Writer.bufferSize - 1) / AtomicFile.Writer.bufferSize)
            try expectNoViolations(
                "AtomicFile.Writer (stream, commit)", recording, blockSize: 4096,
                invariants: [.atomicReplace(of: "export.tally", old: old, new: new, returnedLabel: "commit")],
                onDisk: { state, disk in sweepProblems(disk, state) })
        }
    }

    @Test("A discarded Writer never touches the target: every crash state holds the old file")
    func discardedWriter() throws {
        try withTemporaryDirectory { directory in
            let old = fixture("old", 900)
            let path = directory + "/export.tally"
            try Data(old).write(to: URL(fileURLWithPath: path))
            let recording = try record(under: directory) { recorder in
                let writer = try AtomicFile.Writer(path: path, syscalls: recorder.syscalls)
                try writer.write(fixture("abandoned", 70_000))
                writer.discard()
                recorder.markReturned("discard")
            }
            try expectNoViolations(
                "AtomicFile.Writer (discard)", recording, blockSize: 4096,
                invariants: [.oneOf("export.tally", [old])],
                onDisk: { state, disk in sweepProblems(disk, state) })
        }
    }

    @Test("Each sync of the protocol is needed: without the file fsync or the final directory fsync, a crash state breaks the promise")
    func everySyncIsNeeded() throws {
        try withTemporaryDirectory { directory in
            let (old, new) = (fixture("old", 700), fixture("new", 1300))
            try Data(old).write(to: URL(fileURLWithPath: directory + "/config.json"))
            let recording = try record(under: directory) { recorder in
                try AtomicFile.write(new, to: directory + "/config.json", syscalls: recorder.syscalls)
                recorder.markReturned("write")
            }
            let invariant = CrashInvariant.atomicReplace(of: "config.json", old: old, new: new, returnedLabel: "write")
            let syncs = recording.log.indices.filter {
                switch recording.log[$0] {
                case .fsync, .fsyncDirectory: true
                default: false
                }
            }
            #expect(syncs.count == 2)
            for index in syncs {
                var log = recording.log
                log.remove(at: index)
                let weakened = Recording(initial: recording.initial, log: log, final: recording.final, problems: [],
                                         externalOperations: 0)
                let exploration = try explore("AtomicFile.write without \(recording.log[index])", weakened, invariants: [invariant])
                #expect(!exploration.violations.isEmpty, "dropping \(recording.log[index]) went unnoticed")
            }
        }
    }
}
