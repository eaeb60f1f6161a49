import Testing

@testable import Tally

/// The UTF-8 bytes of `text`.
private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// `count` copies of one ASCII character.
private func repeated(_ character: Unicode.Scalar, _ count: Int) -> [UInt8] {
    [UInt8](repeating: UInt8(ascii: character), count: count)
}

/// The distinct contents of `path` (nil: absent) at one crash point.
private func contents(of path: String, in report: CrashStateReport, atCrashPoint point: Int) -> Set<[UInt8]?> {
    Set(report.states(atCrashPoint: point).map { $0.contents(of: path) })
}

@Suite("The crash-state generator shows the states POSIX allows after power loss, within its stated bounds")
struct PowerLossModelTests {
    private let generator = CrashStateGenerator()
    private let reordering = CrashStateGenerator(ordering: .anySubset(maxPendingOperations: 8))

    @Test("An unsynced write across three blocks survives with none, one, two or all of its blocks")
    func tornWrite() throws {
        var log = FileOpLog()
        let fd = log.open("f")
        log.write(fd, repeated("B", 12288))
        let report = try generator.generate(initial: DirectoryState(files: ["f": repeated("A", 12288)]), log: log)
        #expect(report.countsPerCrashPoint == [1, 1, 4])
        #expect(contents(of: "f", in: report, atCrashPoint: 2)
            == Set((0...3).map { repeated("B", 4096 * $0) + repeated("A", 4096 * (3 - $0)) }))
    }

    @Test("Earlier unsynced writes survive as prefixes; only the last one tears")
    func onlyTheLastWriteTears() throws {
        var log = FileOpLog()
        let fd = log.create("f")
        log.fsyncDirectory()
        log.write(fd, repeated("a", 8192))
        log.write(fd, at: 8192, repeated("b", 8192))
        let report = try generator.generate(initial: DirectoryState(), log: log)
        let a = repeated("a", 8192)
        #expect(contents(of: "f", in: report, atCrashPoint: 4) == [[], a, a + repeated("b", 4096), a + repeated("b", 8192)])
    }

    @Test("fsync persists a file's data, not its new name; the directory's fsync does")
    func fsyncPersistsDataNotNames() throws {
        var log = FileOpLog()
        let fd = log.create("f")
        log.write(fd, text: "data")
        log.fsync(fd)
        log.fsyncDirectory()
        let report = try generator.generate(initial: DirectoryState(), log: log)
        #expect(contents(of: "f", in: report, atCrashPoint: 3) == [nil, bytes("data")])
        #expect(contents(of: "f", in: report, atCrashPoint: 4) == [bytes("data")])
    }

    @Test("syncfs persists every file's data and every directory's entries")
    func syncfsPersistsEverything() throws {
        var log = FileOpLog()
        log.mkdir("d")
        let first = log.create("d/x")
        log.write(first, text: "x")
        let second = log.open("y")
        log.write(second, text: "new y")
        log.unlink("z")
        log.syncFileSystem()
        let initial = DirectoryState(files: ["y": bytes("old y"), "z": bytes("z")])
        let report = try reordering.generate(initial: initial, log: log)
        #expect(report.states(atCrashPoint: log.operations.count).map(\.disk)
            == [DirectoryState(files: ["d/x": bytes("x"), "y": bytes("new y")])])
    }

    @Test("A rename over an existing name shows the old or the new file, never nothing, in any order")
    func renameIsAtomic() throws {
        var log = FileOpLog()
        log.rename("new", to: "target")
        let report = try reordering.generate(initial: DirectoryState(files: ["new": bytes("N"), "target": bytes("O")]), log: log)
        #expect(contents(of: "target", in: report, atCrashPoint: 1) == [bytes("O"), bytes("N")])
    }

    @Test("In-order directories keep a prefix of their changes; reordered ones any subset")
    func prefixVersusSubset() throws {
        var log = FileOpLog()
        log.close(log.create("x"))
        log.close(log.create("y"))
        let prefix = try generator.generate(initial: DirectoryState(), log: log)
        #expect(!prefix.states.contains { $0.disk.exists("y") && !$0.disk.exists("x") })
        let subset = try reordering.generate(initial: DirectoryState(), log: log)
        #expect(subset.states.contains { $0.disk.exists("y") && !$0.disk.exists("x") })
    }

    @Test("Content written outside the seam and synced there is durable, its new name is not")
    func externalSyncedContent() throws {
        var log = FileOpLog()
        log.append(.externalSyncedContent(path: "db-wal", bytes: repeated("W", 9000)))
        let report = try generator.generate(initial: DirectoryState(), log: log)
        #expect(contents(of: "db-wal", in: report, atCrashPoint: 1) == [nil, repeated("W", 9000)])
    }

    @Test("A missing file fsync or directory fsync is caught: the model is not blind to the bugs it looks for")
    func missingSyncsAreCaught() throws {
        let (old, new) = (bytes("old"), repeated("N", 8000))
        let invariant = CrashInvariant.atomicReplace(of: "data.json", old: old, new: new, returnedLabel: "save")
        for (fsyncFile, fsyncDirectory) in [(false, true), (true, false)] {
            var log = FileOpLog()
            log.atomicReplace("data.json", with: new, fsyncFile: fsyncFile, fsyncDirectory: fsyncDirectory)
            log.protocolReturned("save")
            let report = try generator.generate(initial: DirectoryState(files: ["data.json": old]), log: log)
            #expect(!report.violations(of: invariant).isEmpty)
        }
    }
}

@Suite("Regressions: the durability bugs power-loss exploration found stay fixed")
struct PowerLossRegressionTests {
    private let old = Array("old database".utf8)
    private let oldWAL = Array("old wal frames".utf8)
    private let new = Array("restored database".utf8)

    /// `Staged.publish(removingFirst:)` as `Store.restore` ran it after SQLite had deleted the
    /// old `-wal` itself (switching the live database to journal_mode=OFF, without a directory
    /// fsync): nothing left to remove, so the directory fsync before the rename was skipped.
    private func restoreSwap(syncBeforeRename: Bool) -> FileOpLog {
        var log = FileOpLog()
        let fd = log.create(".db.tmp-AAAAAA")
        log.write(fd, new)
        log.fsync(fd)
        log.close(fd)
        log.unlink("db-wal")  // by SQLite, outside the seam
        if syncBeforeRename { log.fsyncDirectory() }
        log.rename(".db.tmp-AAAAAA", to: "db")
        log.fsyncDirectory()
        log.protocolReturned("restore")
        return log
    }

    @Test("Restore: the crash state {db = restored database, db-wal = the old database's WAL} is unreachable once the directory is synced before the rename")
    func restoredDatabaseBesideOldWAL() throws {
        let (oldWAL, new) = (oldWAL, new)
        let mixed = CrashInvariant.never("restored database beside the old WAL") {
            $0.contents(of: "db") == new && $0.contents(of: "db-wal") == oldWAL
        }
        let initial = DirectoryState(files: ["db": old, "db-wal": oldWAL])
        let reordering = CrashStateGenerator(ordering: .anySubset(maxPendingOperations: 8))
        let before = try reordering.generate(initial: initial, log: restoreSwap(syncBeforeRename: false))
        let violations = before.violations(of: mixed)
        #expect(!violations.isEmpty)
        #expect(violations.allSatisfy { !$0.state.protocolReturned })
        #expect(violations.map(\.state.disk).contains(DirectoryState(files: ["db": new, "db-wal": oldWAL])))
        let after = try reordering.generate(initial: initial, log: restoreSwap(syncBeforeRename: true))
        #expect(after.violations(of: mixed).isEmpty)
    }

    @Test("Mirror: a file removed from a subdirectory stays removed after power loss once mirror returned")
    func removedFileComesBack() throws {
        let document = Array("{\"key\":\"dir/d\"}".utf8)
        let initial = DirectoryState(files: ["MANIFEST.json": Array("old manifest".utf8), "dir/d.json": document])
        func run(syncRemovalDirectory: Bool) throws -> [InvariantViolation] {
            var log = FileOpLog()
            log.unlink("dir/d.json")
            if syncRemovalDirectory { log.fsyncDirectory("dir") }
            log.atomicReplace("MANIFEST.json", with: Array("new manifest".utf8), temporaryPath: ".MANIFEST.json.tmp-AAAAAA")
            log.protocolReturned("mirror")
            return try CrashStateGenerator().generate(initial: initial, log: log)
                .violations(of: .durable("dir/d.json", contents: nil, afterReturnOf: "mirror"))
        }
        let before = try run(syncRemovalDirectory: false)
        #expect(before.contains { $0.state.disk == DirectoryState(files: ["MANIFEST.json": Array("new manifest".utf8), "dir/d.json": document]) })
        #expect(try run(syncRemovalDirectory: true).isEmpty)
    }
}
