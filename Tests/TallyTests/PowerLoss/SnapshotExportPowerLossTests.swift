import Foundation
import Testing

@testable import Tally

@Suite("Power loss during a snapshot export leaves the previous snapshot or the new one, whole, and keeps the previous one as its backup")
struct SnapshotExportPowerLossTests {
    @Test("Exporting over an existing snapshot with keepPrevious 1: the target always imports, and is the new snapshot once export returned")
    func exportOverPrevious() throws {
        let database = try PowerLossDatabase()
        try database.append(3)
        try database.put("invoices/1", "first")
        try withTemporaryDirectory { directory in
            let path = directory + "/ledger.tally"
            var options = Store.ExportOptions()
            options.keepPrevious = 1
            try database.store.exportSnapshot(to: path, options: options)
            let old = contents(path) ?? []
            try database.append(PowerLossBounds.stress ? 40 : 4)
            try database.put("invoices/2", "second")

            let recording = try record(under: directory) { recorder in
                try database.store.exportSnapshot(to: path, options: options, progress: nil, syscalls: recorder.syscalls)
                recorder.markReturned("export")
            }
            let new = recording.final.contents(of: "ledger.tally") ?? []
            #expect(new != old && new.count > PowerLossBounds.sector)

            // What the target can hold is the old or the new snapshot: both must import.
            let importable = CheckCache<[UInt8]>()
            try expectNoViolations(
                "Store.exportSnapshot(to:)", recording,
                invariants: [
                    .atomicReplace(of: "ledger.tally", old: old, new: new, returnedLabel: "export"),
                    .backupsKept(of: "ledger.tally", generations: [old, nil], new: new, count: 1),
                    .durable("ledger.tally.bak.1", contents: old, afterReturnOf: "export"),
                ],
                onDisk: { state, disk in
                    var problems = sweepProblems(disk, state)
                    for name in ["ledger.tally", "ledger.tally.bak.1"] {
                        guard let bytes = state.contents(of: name) else { continue }
                        problems += try importable.problems(for: bytes) {
                            let fresh = try PowerLossDatabase()
                            do {
                                _ = try fresh.store.importSnapshot(from: disk.path(of: name), dryRun: true)
                                return []
                            } catch {
                                return ["\(name) does not import: \(error)"]
                            }
                        }
                    }
                    return problems
                })
        }
    }
}
