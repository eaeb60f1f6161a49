import Foundation
import Testing

@testable import Tally

extension CrashInvariant {
    /// `path` holds exactly `old` or exactly `new` (nil: absent), and only `new` once
    /// `returnedLabel` returned: ``atomicReplace(of:old:new:returnedLabel:)`` for a file that
    /// may also be removed.
    static func oldOrNew(_ path: String, old: [UInt8]?, new: [UInt8]?, returnedLabel: String) -> CrashInvariant {
        CrashInvariant("\(path) is old or new") { state in
            let actual = state.contents(of: path)
            if state.hasReturned(returnedLabel) {
                return actual == new ? nil : "after success \(path) holds \(DirectoryState.describe(actual)), not \(DirectoryState.describe(new))"
            }
            return actual == old || actual == new ? nil : "\(path) holds \(DirectoryState.describe(actual)): neither old nor new"
        }
    }
}

@Suite("Power loss during a mirror run or a write-through leaves every file old or new, removed files gone for good once it returned, and a directory Tally can always reconcile and mirror again")
struct MirrorPowerLossTests {
    private static let manifest = "mirror/" + MirrorFile.manifestName

    /// A database with five documents, mirrored; then one changed, three deleted (two in
    /// subdirectories), one unchanged, two added (one in a new directory).
    private func prepare(_ database: PowerLossDatabase, mirror: String) throws -> [String] {
        for key in ["a", "b", "dir/c", "dir/d", "dir/sub/e"] { try database.put(key, "first \(key)") }
        try database.append(2)
        try database.store.mirror(to: mirror)
        try database.put("a", "second a")
        for key in ["b", "dir/d", "dir/sub/e"] { try database.store.state.delete(key) }
        try database.put("f", "first f")
        try database.put("new/g", "first new/g")
        let many = PowerLossBounds.stress ? (0..<8).map { "many/\($0)" } : []
        for key in many { try database.put(key, "document \(key)") }
        return ["a", "b", "dir/d", "dir/sub/e", "f", "new/g"] + many
    }

    /// Every file of the mirror is old or new, except temporary files.
    private func invariants(_ recording: Recording, label: String) -> [CrashInvariant] {
        let paths = Set(recording.initial.files.keys).union(recording.final.files.keys)
            .filter { !TempFileName.matches(FileOperations.split($0).name) }
        return paths.sorted().map { path in
            CrashInvariant.oldOrNew(path, old: recording.initial.contents(of: path), new: recording.final.contents(of: path),
                                    returnedLabel: label)
        }
    }

    /// On a materialized crash state: reconcile works, the sweeper removes the temporary
    /// files, a new mirror run succeeds without findings and leaves exactly the final mirror.
    private func recovers(_ database: PowerLossDatabase, expected final: DirectoryState)
        -> (CrashState, MaterializedDirectory) throws -> [String]
    {
        { state, disk in
            var problems: [String] = []
            let mirror = disk.path(of: "mirror")
            do {
                _ = try database.store.reconcile(against: .directory(mirror))
            } catch {
                problems.append("reconcile failed: \(error)")
            }
            problems += sweepProblems(disk, state)
            do {
                let report = try database.store.mirror(to: mirror)
                if !report.findings.isEmpty { problems.append("mirroring again reports \(report.findings)") }
                let after = try DirectoryState(readingDirectoryAt: disk.path)
                let strip = { (tree: DirectoryState) in tree.files.filter { $0.key != Self.manifest } }
                if strip(after) != strip(final) { problems.append("mirroring again does not converge: \(after)") }
                if case .failure = MirrorManifest.parse(after.contents(of: Self.manifest) ?? []) {
                    problems.append("the manifest written again does not parse")
                }
            } catch {
                problems.append("mirroring again failed: \(error)")
            }
            return problems
        }
    }

    @Test("A full mirror run: files written through the batch, removed files and the manifest")
    func fullMirror() throws {
        let database = try PowerLossDatabase()
        try withTemporaryDirectory { directory in
            let mirror = directory + "/mirror"
            _ = try prepare(database, mirror: mirror)
            let recording = try record(under: directory) { recorder in
                let report = try database.store.mirror(to: mirror, progress: nil, syscalls: recorder.syscalls)
                #expect(report.findings.isEmpty && report.removed == 3)
                recorder.markReturned("mirror")
            }
            #expect(recording.final.contents(of: "mirror/dir/d.json") == nil)
            // Regression: a removal is made durable in its own directory, not only the manifest's.
            let removal = recording.log.firstIndex(of: .unlink(path: "mirror/dir/d.json"))
            #expect(removal.map { recording.log[$0...].contains(.fsyncDirectory(path: "mirror/dir")) } == true)
            try expectNoViolations("Store.mirror(to:)", recording, invariants: invariants(recording, label: "mirror"),
                                   onDisk: recovers(database, expected: recording.final))
        }
    }

    @Test("A write-through of changed, deleted and new documents: each file old or new, and new once the commit returned")
    func writeThrough() throws {
        let database = try PowerLossDatabase()
        try withTemporaryDirectory { directory in
            let mirror = directory + "/mirror"
            let keys = try prepare(database, mirror: mirror)
            let recording = try record(under: directory) { recorder in
                try database.store.readTransaction { (db: Connection) throws(TallyError) -> Void in
                    try MirrorWriteThrough(db: db, root: mirror, syscalls: recorder.syscalls).apply(keys.sorted())
                }
                recorder.markReturned("write-through")
            }
            #expect(recording.final.contents(of: "mirror/dir/d.json") == nil)
            try expectNoViolations("Store write-through", recording, invariants: invariants(recording, label: "write-through"),
                                   onDisk: recovers(database, expected: recording.final))
        }
    }
}
