import Foundation
import Testing
@testable import Tally

@Suite("Ledger: chain verification, group commit, several processes")
struct ChainAndConcurrencyTests {
    let directory = TemporaryDirectory()

    private func seeded(_ count: Int) throws -> (Store, String) {
        let path = directory.file("chain.db")
        let store = try Store(path: path)
        for index in 1...count {
            try store.ledger.append(stream: "s\(index % 3)", kind: "charge", amount: Int64(index), currency: "EUR", payload: ["i": .number(Double(index))])
        }
        return (store, path)
    }

    /// Runs SQL with the ledger's protective triggers dropped, then puts them back, as an
    /// attacker with the sqlite3 CLI could.
    private func tamper(_ path: String, _ sql: String) throws {
        let db = try SQLiteConnection(path: path)
        let triggers = try db.rows("SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'ledger'")
        try db.transaction(.immediate) {
            for name in ["ledger_no_update", "ledger_no_delete", "ledger_chain_extends"] {
                try db.execute("DROP TRIGGER \(name)")
            }
            try db.execute(sql)
            for case let .text(create) in triggers.map({ $0[0] }) { try db.execute(create) }
        }
    }

    @Test("verifyChain reports an edited amount as a hash mismatch at its seq")
    func editedRow() throws {
        let (store, path) = try seeded(10)
        #expect(try store.ledger.verifyChain().isIntact)
        try tamper(path, "UPDATE ledger SET amount = 999 WHERE seq = 4")
        let report = try store.ledger.verifyChain()
        let broken = try #require(report.firstBreak)
        #expect(broken.seq == 4)
        guard case .hashMismatch = broken.reason else {
            Issue.record("expected a hash mismatch, got \(broken)")
            return
        }
        #expect(broken.description.contains("seq 4"))
    }

    @Test("verifyChain reports a rewritten prev_hash and a missing seq")
    func relinkedAndGap() throws {
        let (store, path) = try seeded(10)
        try tamper(path, "UPDATE ledger SET prev_hash = '\(String(repeating: "f", count: 64))' WHERE seq = 6")
        #expect(try store.ledger.verifyChain().firstBreak?.reason == .prevHashMismatch(
            expected: try #require(try store.ledger.event(seq: 5)).hash, found: String(repeating: "f", count: 64)))
        let other = directory.file("gap.db")
        let gapStore = try Store(path: other)
        for index in 1...5 { try gapStore.ledger.append(stream: "s", kind: "k\(index)") }
        try tamper(other, "DELETE FROM ledger WHERE seq = 3")
        let report = try gapStore.ledger.verifyChain()
        #expect(report.firstBreak == ChainReport.Break(seq: 4, reason: .gap(expected: 3)))
    }

    @Test("the schema itself refuses an insert that does not extend the chain")
    func triggersGuardChain() throws {
        let (_, path) = try seeded(2)
        let db = try SQLiteConnection(path: path)
        let insert = "INSERT INTO ledger (seq, event_id, stream, stream_version, kind, recorded_at, prev_hash, hash) VALUES (?, ?, 'x', 1, 'k', 't', ?, ?)"
        let fake = String(repeating: "a", count: 64)
        let wrongSeq = try #require(throws: TallyError.self) { try db.execute(insert, [Int64(9), "e9", fake, fake]) }
        #expect(wrongSeq.sqliteError?.message.contains("seq") == true)
        let wrongLink = try #require(throws: TallyError.self) { try db.execute(insert, [Int64(3), "e3", fake, fake]) }
        #expect(wrongLink.sqliteError?.message.contains("prev_hash") == true)
    }

    @Test("group commit: 8 tasks × 200 appends → 1,600 contiguous events, a valid chain, and a bad request fails alone")
    func groupCommit() async throws {
        let store = try Store(path: directory.file("group.db"))
        let results = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for task in 0..<8 {
                group.addTask {
                    // Real threads, so the appends truly overlap (the cooperative pool may be 2 wide).
                    try await withCheckedThrowingContinuation { continuation in
                        Thread.detachNewThread {
                            var failures = 0
                            for index in 0..<200 {
                                do {
                                    try store.ledger.append(stream: "task-\(task)", kind: "charge", amount: Int64(index), currency: "EUR")
                                } catch {
                                    failures += 1
                                }
                                if task == 3 && index == 100 {
                                    // Passes validation, fails inside the batch: a stale stream version.
                                    do {
                                        try store.ledger.append(stream: "task-3", kind: "bad", expectedStreamVersion: 0)
                                        failures += 100
                                    } catch TallyError.conflict {
                                    } catch {
                                        failures += 100
                                    }
                                }
                            }
                            continuation.resume(returning: (task, failures))
                        }
                    }
                }
            }
            var all: [(Int, Int)] = []
            for try await result in group { all.append(result) }
            return all
        }
        #expect(results.allSatisfy { $0.1 == 0 }, "unexpected failures: \(results)")
        let report = try store.ledger.verifyChain()
        #expect(report.isIntact)
        #expect(report.eventsChecked == 1600)
        #expect(report.headSeq == 1600)
        for task in 0..<8 {
            #expect(try store.ledger.streamVersion("task-\(task)") == 200)
        }
    }

    @Test("two processes × 200 appends interleave into 400 events with a valid chain", arguments: Backend.available)
    func twoProcesses(backend: Backend) throws {
        let stores = TestStores(backend)
        _ = try stores.store()
        let location = try stores.location()
        let children = try (0..<2).map { try ChildProcess.start(["ledger-append", location, "proc-\($0)", "200"]) }
        var acknowledged: [[Int64]] = []
        for child in children {
            let output = child.output.fileHandleForReading.readDataToEndOfFile()
            child.process.waitUntilExit()
            #expect(child.process.terminationStatus == 0)
            acknowledged.append(String(decoding: output, as: UTF8.self).split(separator: "\n").compactMap { Int64($0) })
        }
        #expect(acknowledged.map(\.count) == [200, 200])
        #expect(Set(acknowledged.flatMap { $0 }) == Set(1...400))
        let report = try stores.store().ledger.verifyChain()
        #expect(report.isIntact)
        #expect(report.eventsChecked == 400)
    }

    /// Regression (PostgreSQL): the stream's version was read before the head row's lock was
    /// taken, so a process appending to a stream another process had just extended failed
    /// the schema's stream-version check instead of waiting its turn.
    @Test("three processes appending to one stream take turns: versions 1…300 with no gap and no failure", arguments: Backend.available)
    func processesShareAStream(backend: Backend) throws {
        let stores = TestStores(backend)
        _ = try stores.store()
        let location = try stores.location()
        let children = try (0..<3).map { _ in try ChildProcess.start(["ledger-append", location, "shared", "100"]) }
        for child in children {
            _ = child.output.fileHandleForReading.readDataToEndOfFile()
            child.process.waitUntilExit()
            #expect(child.process.terminationStatus == 0, "a writer failed (its error is on stderr)")
        }
        let store = try stores.store()
        #expect(try store.ledger.streamVersion("shared") == 300)
        var cursor = store.ledger.events(inStream: "shared")
        let versions = try cursor.collect().map(\.streamVersion)
        #expect(versions == Array(1...300))
        #expect(try store.ledger.verifyChain().isIntact)
    }
}
