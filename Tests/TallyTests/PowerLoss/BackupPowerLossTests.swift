import Foundation
import Testing

@testable import Tally

@Suite("Power loss during a backup with rotation never leaves a partial file under a backup name, and never loses the newest good backup")
struct BackupPowerLossTests {
    @Test("backup(toDirectory:keep: 2) beside two older backups: every backup name holds a verified backup, the newest one before the call is always there")
    func backupWithRotation() throws {
        let database = try PowerLossDatabase()
        try withTemporaryDirectory { directory in
            var good: [[UInt8]] = []
            var names: [String] = []
            for round in 0..<2 {
                try database.append(2 + round)
                let result = try database.store.backup(toDirectory: directory)
                names.append(FileOperations.split(result.path).name)
                good.append(contents(result.path) ?? [])
                Thread.sleep(forTimeInterval: 0.005)  // distinct millisecond names
            }
            try database.append(3)
            try database.put("invoices/1", "after the last backup")
            var published = ""
            let recording = try record(under: directory, observingExternalChanges: true) { recorder in
                let result = try database.store.backup(toDirectory: directory, keep: 2, progress: nil, syscalls: recorder.syscalls)
                published = FileOperations.split(result.path).name
                #expect(result.removed.map { FileOperations.split($0).name } == [names[0]])
                recorder.markReturned("backup")
            }
            let new = recording.final.contents(of: published) ?? []
            good.append(new)
            #expect(recording.final.files.keys.sorted() == [names[1], published].sorted())
            // SQLite writes the copy into the temporary file outside the seam.
            #expect(recording.externalOperations > 0)

            let goodBackups = good
            let (oldest, newestBefore) = (names[0], names[1])
            let verified = CheckCache<[UInt8]>()
            try expectNoViolations(
                "Store.backup(toDirectory:keep:)", recording, blockSize: 4096,
                invariants: [
                    CrashInvariant("every backup name holds a complete, verified backup") { state in
                        let bad = state.files { BackupName.parse($0) != nil }.filter { !goodBackups.contains($0.value) }
                        return bad.isEmpty ? nil : "\(bad.keys.sorted()) hold something other than a complete backup"
                    },
                    .oneOf(newestBefore, [goodBackups[1]]),
                    .atomicReplace(of: published, old: nil, new: new, returnedLabel: "backup"),
                    .oneOf(oldest, [goodBackups[0], nil]),
                    .durable(oldest, contents: nil, afterReturnOf: "backup"),
                ],
                onDisk: { state, disk in
                    var problems = sweepProblems(disk, state)
                    for (name, bytes) in state.files(matching: { BackupName.parse($0) != nil }) {
                        problems += verified.problems(for: bytes) {
                            do {
                                _ = try Store.verifyBackup(disk.path(of: name))
                                return []
                            } catch {
                                return ["\(name) does not verify: \(error)"]
                            }
                        }
                    }
                    return problems
                })
        }
    }
}
