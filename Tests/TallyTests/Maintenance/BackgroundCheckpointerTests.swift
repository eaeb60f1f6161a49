import Foundation
import Logging
import Testing
@testable import Tally

@Suite("WAL checkpoints: a thread of the store's own copies the WAL, commits never wait for it")
struct BackgroundCheckpointerTests {
    let directory = TemporaryDirectory()

    private func open(_ name: String, _ checkpointing: Store.Configuration.WALCheckpointing) throws -> Store {
        var configuration = Store.Configuration()
        configuration.walCheckpointing = checkpointing
        var logger = Logger(label: "tally.tests")
        logger.logLevel = .error
        configuration.logger = logger
        return try Store(path: directory.file(name), configuration: configuration)
    }

    /// One transaction of `count` events with ~300-byte payloads: about a page per 10 events.
    private func appendBatch(_ store: Store, _ count: Int = 50, round: Int = 0) throws {
        try store.ledger.append(contentsOf: (0..<count).map { index in
            NewEvent(stream: "s\(index % 7)", kind: "charge", amount: Int64(index), currency: "EUR",
                     payload: ["round": .number(Double(round)), "pad": .string(String(repeating: "x", count: 300))])
        })
    }

    private func size(_ path: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
    }

    /// Polls `condition` for up to 10 s.
    private func eventually(_ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            if ContinuousClock.now > deadline { return false }
            usleep(1_000)
        }
        return true
    }

    @Test("the default copies on the store's own thread at SQLite's threshold of 1,000 pages")
    func defaults() {
        #expect(Store.Configuration().walCheckpointing == .background(pages: 1_000))
    }

    @Test("past the threshold the thread copies the WAL into the database file; the writer's commits do not")
    func copiesInTheBackground() throws {
        let store = try open("background.db", .background(pages: 16))
        let path = directory.file("background.db")
        let checkpointer = try #require(store.checkpointer)
        let before = size(path)
        // About 15 pages a transaction: the second or third crosses 16, far below 8 × 16.
        for round in 0..<3 { try appendBatch(store, round: round) }
        #expect(eventually { checkpointer.counts.background >= 1 })
        #expect(checkpointer.counts.onCommit == 0, "the writer checkpointed: \(checkpointer.counts)")
        #expect(checkpointer.counts.failed == 0)
        // Only a checkpoint writes pages into the main file of a WAL database.
        #expect(size(path) > before + 16 * 4096, "main file \(before) → \(size(path)) bytes")
        #expect(try store.ledger.verifyChain().isIntact)
    }

    @Test("with .onCommit the committing writer copies the WAL before its commit returns, and no thread starts")
    func copiesOnCommit() throws {
        let store = try open("on-commit.db", .onCommit(pages: 16))
        let path = directory.file("on-commit.db")
        #expect(store.checkpointer == nil)
        let before = size(path)
        for round in 0..<3 { try appendBatch(store, round: round) }
        // No waiting: the commit that crossed the threshold copied before it returned.
        #expect(size(path) > before + 16 * 4096, "main file \(before) → \(size(path)) bytes")
    }

    @Test("a threshold below one page is refused before any file is created", arguments: [
        Store.Configuration.WALCheckpointing.background(pages: 0), .onCommit(pages: -5),
    ])
    func refusesBadThreshold(_ checkpointing: Store.Configuration.WALCheckpointing) {
        let path = directory.file("refused.db")
        #expect {
            _ = try open("refused.db", checkpointing)
        } throws: { error in
            guard case let TallyError.invalidInput(field, reason) = error else { return false }
            return field == "Store.Configuration.walCheckpointing" && reason.contains("at least 1")
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("checkpointWAL(truncate:) waits for the background checkpoint in flight instead of failing busy")
    func explicitCheckpointTakesTurns() throws {
        let store = try open("turns.db", .background(pages: 4))
        let wal = directory.file("turns.db") + "-wal"
        for round in 0..<20 {
            // Every batch wakes the thread; the truncating checkpoint follows at once.
            try appendBatch(store, 20, round: round)
            let result = try store.checkpointWAL(truncate: true)
            #expect(!result.wasBusy, "round \(round): \(result)")
            #expect(size(wal) == 0, "round \(round): the WAL was not emptied")
        }
        #expect(try store.ledger.head().seq == 400)
    }

    @Test("releasing the store ends the thread and closes its connection: the WAL is folded in and removed")
    func releaseClosesEverything() throws {
        let path = directory.file("release.db")
        var store: Store? = try open("release.db", .background(pages: 8))
        let checkpointer = try #require(store?.checkpointer)
        for round in 0..<5 { try appendBatch(store!, round: round) }
        #expect(eventually { checkpointer.counts.background >= 1 })
        store = nil
        // SQLite removes the WAL when the last connection closes: the thread's had closed
        // (joined, not left running) by the time the writer's did.
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        let reopened = try open("release.db", .background(pages: 8))
        #expect(try reopened.ledger.head().seq == 250)
        #expect(try reopened.ledger.verifyChain().isIntact)
    }
}

@Suite("WAL checkpoints: when the background thread cannot help, the writer checkpoints as SQLite would")
struct BackgroundCheckpointerFallbackTests {
    let directory = TemporaryDirectory()

    private static let quiet: Logger = {
        var logger = Logger(label: "tally.tests")
        logger.logLevel = .error
        return logger
    }()

    /// A WAL-mode database the checkpointer can open.
    private func database(_ name: String) throws -> String {
        let path = directory.file(name)
        let connection = try SQLiteConnection(path: path)
        try connection.configure(SQLiteConnection.Configuration())
        try connection.execute("CREATE TABLE t (x); INSERT INTO t VALUES (1)")
        return path
    }

    @Test("no thread can be started: every commit past the threshold checkpoints on the writer, and no second start is tried")
    func noThread() {
        let attempts = Locked(0)
        let checkpointer = BackgroundCheckpointer(pages: 10, path: "unused.db", logger: Self.quiet,
                                                  startThread: { _, _ in attempts.withLock { $0 += 1 }; return false },
                                                  openConnection: { () throws(TallyError) in throw TallyError.internal("not called") })
        #expect(checkpointer.committed(walFrames: 9) == false)
        #expect(checkpointer.committed(walFrames: 10) == true)
        #expect(checkpointer.committed(walFrames: 11) == true)
        #expect(attempts.withLock { $0 } == 1)
        #expect(checkpointer.counts == BackgroundCheckpointer.Counts(background: 0, onCommit: 2, failed: 0))
        checkpointer.stop()
    }

    @Test("its connection cannot be opened: the failure is counted, the thread ends, the writer takes over")
    func connectionFails() {
        let checkpointer = BackgroundCheckpointer(pages: 10, path: "missing.db", logger: Self.quiet) { () throws(TallyError) in
            throw TallyError.io(step: "open", path: "missing.db", errno: 2)
        }
        #expect(checkpointer.committed(walFrames: 10) == false)  // wakes the thread
        let deadline = ContinuousClock.now + .seconds(10)
        while checkpointer.counts.failed == 0 && ContinuousClock.now < deadline { usleep(1_000) }
        #expect(checkpointer.counts.failed == 1)
        #expect(checkpointer.committed(walFrames: 10) == true)
        checkpointer.stop()  // returns: the thread has ended
    }

    @Test("requests coalesce while one is pending; at 8 × the threshold the writer checkpoints too")
    func coalesceAndOverflow() throws {
        let path = try database("overflow.db")
        let parked = Locked<(@Sendable () -> Void)?>(nil)
        // A thread that is "started" but does not run until the test lets it.
        let checkpointer = BackgroundCheckpointer(pages: 10, path: path, logger: Self.quiet,
                                                  startThread: { _, body in parked.withLock { $0 = body }; return true },
                                                  openConnection: { () throws(TallyError) in
                                                      let connection = try SQLiteConnection(path: path, mode: .readWrite)
                                                      try connection.configure(SQLiteConnection.Configuration())
                                                      return connection
                                                  })
        #expect(checkpointer.committed(walFrames: 10) == false)  // starts the thread
        #expect(checkpointer.committed(walFrames: 40) == false)  // pending: nothing more
        #expect(checkpointer.committed(walFrames: 79) == false)
        #expect(checkpointer.committed(walFrames: 80) == true)   // 8 × 10: the writer too
        let body = try #require(parked.withLock { $0 })
        #expect(PlatformThread.detach(named: "test checkpointer", body))
        let deadline = ContinuousClock.now + .seconds(10)
        while checkpointer.counts.background == 0 && ContinuousClock.now < deadline { usleep(1_000) }
        // One checkpoint for the three requests: they coalesced into the pending one.
        #expect(checkpointer.counts == BackgroundCheckpointer.Counts(background: 1, onCommit: 1, failed: 0))
        checkpointer.stop()
        #expect(checkpointer.counts.background == 1)
    }
}
