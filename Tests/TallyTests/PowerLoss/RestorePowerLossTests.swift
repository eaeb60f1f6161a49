import Foundation
import Testing

@testable import Tally

@Suite("Power loss during a restore leaves the old database or the restored one, never one's main file beside the other's WAL")
struct RestorePowerLossTests {
    /// The database being replaced as a killed process leaves it (its main file plus a `-wal`
    /// holding commits the main file lacks, and a `-shm` when `sharedMemory`), in `directory`;
    /// and a backup of the same ledger, further on, elsewhere.
    private struct Fixture {
        let source: PowerLossDatabase
        let backup: String
        let oldHead: Ledger.Head
        let newHead: Ledger.Head
        let oldWAL: [UInt8]
    }

    private func prepare(in directory: String, sharedMemory: Bool) throws -> Fixture {
        let source = try PowerLossDatabase()
        try source.append(2)
        try source.put("invoices/1", "before the backup")
        let oldHead = try source.store.ledger.head()
        // Copied while the store is open and idle: its WAL is not checkpointed yet.
        for suffix in ["", "-wal"] + (sharedMemory ? ["-shm"] : []) {
            try FileManager.default.copyItem(atPath: source.path + suffix, toPath: directory + "/tally.db" + suffix)
        }
        let oldWAL = contents(directory + "/tally.db-wal") ?? []
        try source.append(3)
        let backup = try source.store.backup(toDirectory: source.directory.file("backups")).path
        return Fixture(source: source, backup: backup, oldHead: oldHead, newHead: try source.store.ledger.head(),
                       oldWAL: oldWAL)
    }

    private func restore(sharedMemory: Bool, keepReplaced: Bool) throws {
        try withTemporaryDirectory { directory in
            let fixture = try prepare(in: directory, sharedMemory: sharedMemory)
            try #require(!fixture.oldWAL.isEmpty, "the old database's WAL holds its last commits")
            var options = Store.RestoreOptions()
            options.keepReplaced = keepReplaced
            let recording = try record(under: directory, observingExternalChanges: true) { recorder in
                let result = try Store.restore(from: fixture.backup, to: directory + "/tally.db", options: options,
                                               syscalls: recorder.syscalls)
                #expect(result.ledgerHeadSeq == fixture.newHead.seq)
                recorder.markReturned("restore")
            }
            let new = recording.final.contents(of: "tally.db") ?? []
            // The main file of the old database as it was and as SQLite checkpointed it.
            var oldVersions: [[UInt8]?] = [recording.initial.contents(of: "tally.db")]
            for case let .externalSyncedContent("tally.db", bytes) in recording.log { oldVersions.append(bytes) }
            let (oldWAL, allowed) = (fixture.oldWAL, oldVersions + [new])

            let heads = CheckCache<[[UInt8]?]>()
            let name = "Store.restore (\(sharedMemory ? "-wal and -shm" : "-wal only"), keepReplaced: \(keepReplaced))"
            // Database files tear at SQLite's 4 KiB pages.
            try expectNoViolations(
                name, recording, blockSize: 4096,
                invariants: [
                    .oneOf("tally.db", allowed),
                    .durable("tally.db", contents: new, afterReturnOf: "restore"),
                    .never("the restored database beside the old database's WAL") {
                        $0.contents(of: "tally.db") == new && $0.contents(of: "tally.db-wal") == oldWAL
                    },
                ],
                onDisk: { state, disk in
                    // What SQLite and Tally make of the files: the old ledger or the new one, intact.
                    let files = ["tally.db", "tally.db-wal", "tally.db-journal"].map { state.contents(of: $0) }
                    let expected = state.hasReturned("restore") ? [fixture.newHead] : [fixture.oldHead, fixture.newHead]
                    return sweepProblems(disk, state) + heads.problems(for: files + [state.hasReturned() ? [1] : []]) {
                        do {
                            let store = try Store(path: disk.path(of: "tally.db"))
                            let head = try store.ledger.head()
                            let chain = try store.ledger.verifyChain()
                            var problems: [String] = []
                            if !expected.contains(head) { problems.append("the database opens at head \(head.seq), neither old nor new") }
                            if let broken = chain.firstBreak { problems.append("its chain is broken: \(broken)") }
                            return problems
                        } catch {
                            return ["the database does not open: \(error)"]
                        }
                    }
                })
        }
    }

    @Test("Replacing a database that has a -wal and a -shm, keeping the replaced copy (the defaults)")
    func withSidecarsKeepingReplaced() throws {
        try restore(sharedMemory: true, keepReplaced: true)
    }

    @Test("Replacing a database that has only a -wal, not keeping the replaced copy: SQLite deletes the -wal itself, unsynced")
    func walOnlyWithoutKeepingReplaced() throws {
        try restore(sharedMemory: false, keepReplaced: false)
    }

    @Test("Replacing a database that has a -wal and a -shm, not keeping the replaced copy")
    func withSidecarsWithoutKeepingReplaced() throws {
        try restore(sharedMemory: true, keepReplaced: false)
    }
}
