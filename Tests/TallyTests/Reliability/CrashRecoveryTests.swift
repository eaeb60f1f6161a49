import Foundation
import Testing
@testable import Tally

/// What a killed writer had acknowledged before it died: only lines it finished printing.
struct Acknowledgements {
    var events: [Int64] = []
    var states: [(seq: Int64, key: String, version: Int64)] = []

    mutating func add(_ output: Data) {
        let text = String(decoding: output, as: UTF8.self)
        // A line cut by the kill (no newline) was not acknowledged.
        let complete = text.hasSuffix("\n") ? text : String(text[..<(text.lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex)])
        for line in complete.split(separator: "\n") {
            let parts = line.split(separator: " ").map(String.init)
            if parts.count == 2, parts[0] == "event", let seq = Int64(parts[1]) {
                events.append(seq)
            } else if parts.count == 4, parts[0] == "state", let seq = Int64(parts[1]), let version = Int64(parts[3]) {
                states.append((seq, parts[2], version))
                events.append(seq)
            }
        }
    }
}

extension Acknowledgements {
    /// Starts `processes` harness children with `arguments`, kills them all with SIGKILL
    /// after a random number of microseconds in `delay`, and adds what they acknowledged.
    mutating func addKilled(_ arguments: [String], processes: Int = 1, after delay: ClosedRange<UInt32>,
                            using generator: inout SeededGenerator) throws {
        let children = try (0..<processes).map { _ in try ChildProcess.start(arguments) }
        usleep(UInt32.random(in: delay, using: &generator))
        for child in children { kill(child.process.processIdentifier, SIGKILL) }
        for child in children {
            add(child.output.fileHandleForReading.readDataToEndOfFile())
            child.process.waitUntilExit()
        }
    }
}

/// The checks after every crash: nothing acknowledged lost, chain and file intact, every
/// document consistent with the event that last changed it.
func checkRecovered(_ path: String, _ acknowledged: Acknowledgements, verifyChain: Bool = true) throws -> Int64 {
    let store = try Store(path: path)
    let head = try store.ledger.head()
    let lost = acknowledged.events.filter { $0 > head.seq }
    #expect(lost.isEmpty, "acknowledged events lost: \(lost.prefix(10))")
    if verifyChain {
        let report = try store.ledger.verifyChain()
        #expect(report.isIntact, "\(report.firstBreak.map(String.init(describing:)) ?? "")")
        #expect(report.headSeq == head.seq)
    }
    try store.sql { db in
        #expect(try db.scalarText("PRAGMA integrity_check") == "ok")
        for state in acknowledged.states.suffix(20) {
            let seq = try db.scalarInt("SELECT ledger_seq FROM state_history WHERE key = ? AND version = ?", [state.key, state.version])
            #expect(seq == state.seq, "acknowledged state \(state.key) v\(state.version) missing or wrong")
        }
        // Every document was written with its event: the event exists, belongs to the
        // document's stream, is the stream's last event, and the body names it.
        let rows = try db.rows("""
            SELECT s.key, s.ledger_seq, json_extract(s.body, '$.seq'),
                   (SELECT max(seq) FROM ledger WHERE stream = s.key), (SELECT stream FROM ledger WHERE seq = s.ledger_seq)
              FROM state s WHERE s.key LIKE 'loop/%'
            """)
        for row in rows {
            #expect(row[1] == row[2] && row[1] == row[3] && row[4] == row[0], "inconsistent document: \(row)")
        }
    }
    return head.seq
}

@Suite("Reliability: SIGKILL at random moments loses nothing acknowledged", .serialized)
struct CrashRecoveryTests {
    let directory = TemporaryDirectory()

    static var stress: Bool { ProcessInfo.processInfo.environment["TALLY_STRESS"] == "1" }

    @Test("kill -9 a writer of durable appends and combined writes, again and again")
    func killLoop() throws {
        let kills = Self.stress ? 1000 : 50
        var (generator, seed) = SeededGenerator.announced("crash loop", "\(kills) kills")
        let path = directory.file("crash.db")
        _ = try Store(path: path)
        var acknowledged = Acknowledgements()
        var head: Int64 = 0
        for round in 0..<kills {
            try acknowledged.addKilled(["combined-loop", path, "5"], after: 2_000...60_000, using: &generator)
            // The full chain check is O(ledger); in the long run do it every 25th kill.
            head = try checkRecovered(path, acknowledged, verifyChain: !Self.stress || round % 25 == 24)
        }
        head = try checkRecovered(path, acknowledged)
        let swept = try TempFileSweeper(minimumAge: 0).sweep(directory.path)
        #expect(swept.isEmpty)
        print("RELIABILITY kills=\(kills) acknowledged_events=\(acknowledged.events.count) acknowledged_states=\(acknowledged.states.count) ledger_head=\(head) lost=0 seed=\(seed)")
    }

    /// Kills `processes` harness children running the combined loop with a 2-page checkpoint
    /// threshold on `file`, `rounds` times, checking after each round that nothing
    /// acknowledged was lost.
    private func checkpointCrashLoop(_ name: String, file: String, rounds: Int, processes: Int,
                                     after delay: ClosedRange<UInt32>) throws {
        var (generator, _) = SeededGenerator.announced(name, "\(rounds) rounds")
        let path = directory.file(file)
        _ = try Store(path: path)
        var acknowledged = Acknowledgements()
        for _ in 0..<rounds {
            try acknowledged.addKilled(["combined-loop", path, "5", "2"], processes: processes, after: delay, using: &generator)
            _ = try checkRecovered(path, acknowledged, verifyChain: false)
        }
        _ = try checkRecovered(path, acknowledged)
        #expect(acknowledged.events.count >= rounds, "the children acknowledged too little to test anything")
    }

    @Test("kill -9 while the background checkpointer copies the WAL after nearly every commit")
    func killDuringBackgroundCheckpoints() throws {
        // A threshold of 2 pages: every commit (2 to 4 pages) wakes the checkpointer, so
        // the kill often lands while it copies the WAL or syncs the database file.
        try checkpointCrashLoop("background checkpoint crash loop", file: "checkpointing.db", rounds: Self.stress ? 300 : 30,
                                processes: 1, after: 2_000...60_000)
    }

    @Test("three processes, each with its own checkpointer at 2 pages, killed together again and again")
    func killCheckpointingProcesses() throws {
        // Each process's checkpointer finds the others' rounds holding the checkpoint
        // lock (busy) and the others' transactions starting the WAL over.
        try checkpointCrashLoop("multi-process checkpoint crash loop", file: "checkpointing-processes.db",
                                rounds: Self.stress ? 100 : 10, processes: 3, after: 20_000...80_000)
    }

    @Test("kill -9 during mirror: every file in the mirror is complete, before and after")
    func killDuringMirror() throws {
        let path = directory.file("mirror.db")
        let mirror = directory.file("mirror")
        _ = try Store(path: path)
        var generator = SeededGenerator(seed: 11)
        for _ in 0..<(Self.stress ? 200 : 10) {
            let child = try ChildProcess.start(["mirror-loop", path, mirror])
            usleep(UInt32.random(in: 5_000...80_000, using: &generator))
            kill(child.process.processIdentifier, SIGKILL)
            child.process.waitUntilExit()
            for relative in DirectoryWalker(root: mirror) {
                guard let key = MirrorFile.key(forRelativePath: relative) else { continue }
                let bytes = try Data(contentsOf: URL(fileURLWithPath: mirror + "/" + relative))
                if case let .failure(problem) = MirrorFile.parse(bytes, expectedKey: key) {
                    Issue.record("partial or damaged mirror file \(relative): \(problem)")
                }
            }
        }
        // Killed writers may leave temp files (never a partial target); the sweeper removes them.
        if FileManager.default.fileExists(atPath: mirror) {
            _ = try TempFileSweeper(minimumAge: 0, recursive: true).sweep(mirror)
        }
        let leftovers = DirectoryWalker(root: mirror).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    @Test("kill -9 during backup: every published backup is a complete, verified database")
    func killDuringBackup() throws {
        let path = directory.file("backup.db")
        let backups = directory.file("backups")
        let store = try Store(path: path)
        try store.write { tx in
            for index in 0..<2000 { try tx.state.put("docs/\(index)", body: ["pad": .string(String(repeating: "b", count: 200))]) }
        }
        var generator = SeededGenerator(seed: 23)
        var checked = 0
        for _ in 0..<(Self.stress ? 200 : 10) {
            let child = try ChildProcess.start(["backup-loop", path, backups])
            usleep(UInt32.random(in: 20_000...200_000, using: &generator))
            kill(child.process.processIdentifier, SIGKILL)
            child.process.waitUntilExit()
            let names = (try? FileManager.default.contentsOfDirectory(atPath: backups)) ?? []
            for name in names where name.hasPrefix("tally-") && name.hasSuffix(".db") {
                // A published backup opens read-only, passes integrity_check and its chain.
                var configuration = Store.Configuration()
                configuration.readOnly = true
                let backup = try Store(path: backups + "/" + name, configuration: configuration)
                #expect(try backup.sql { try $0.scalarText("PRAGMA integrity_check") } == "ok", "\(name)")
                #expect(try backup.ledger.verifyChain().isIntact, "\(name)")
                #expect(try backup.state.count() == 2000, "\(name)")
                checked += 1
            }
        }
        #expect(checked > 0, "no backup was ever published; the kills came too early")
    }

    @Test("4 processes × 250 appends while 2 others export and verify: 1,000 events, no busy error")
    func concurrentProcesses() throws {
        let path = directory.file("busy.db")
        let store = try Store(path: path)
        try seedCollections(store, invoices: 1...3)
        let base = try store.ledger.head().seq
        let readers = [
            try ChildProcess.start(["export-loop", path, directory.file("busy.jsonl")]),
            try ChildProcess.start(["verify-loop", path]),
        ]
        let writers = try (0..<4).map { try ChildProcess.start(["ledger-append", path, "writer-\($0)", "250"]) }
        var acknowledged = Acknowledgements()
        for writer in writers {
            let output = writer.output.fileHandleForReading.readDataToEndOfFile()
            writer.process.waitUntilExit()
            #expect(writer.process.terminationStatus == 0, "a writer failed (busy error reaching the caller?)")
            acknowledged.events += String(decoding: output, as: UTF8.self).split(separator: "\n").compactMap { Int64($0) }
        }
        for reader in readers {
            #expect(reader.process.isRunning, "a reader died early (status \(reader.process.terminationStatus))")
            kill(reader.process.processIdentifier, SIGKILL)
            _ = reader.output.fileHandleForReading.readDataToEndOfFile()
            reader.process.waitUntilExit()
        }
        #expect(acknowledged.events.count == 1000)
        #expect(Set(acknowledged.events).count == 1000)
        let report = try store.ledger.verifyChain()
        #expect(report.isIntact)
        #expect(report.headSeq == base + 1000)
        for writer in 0..<4 {
            #expect(try store.ledger.streamVersion("writer-\(writer)") == 250)
        }
    }
}
