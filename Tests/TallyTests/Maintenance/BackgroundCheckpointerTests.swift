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

    @Test("durable appends one by one: the thread runs about once per threshold, not after every commit, and the WAL starts over")
    func roundsPerThreshold() throws {
        let store = try open("durable.db", .background(pages: 64))
        let checkpointer = try #require(store.checkpointer)
        let commits = 400
        for index in 0..<commits {
            try store.ledger.append(stream: "s\(index % 5)", kind: "charge", amount: 1, currency: "EUR",
                                    payload: ["n": .number(Double(index))])
        }
        let counts = checkpointer.counts
        // About 3 frames a commit, 1,200 in all: some 19 thresholds' worth. A thread that
        // could never let the WAL start over would be asked again after every commit.
        #expect(counts.background >= 1)
        #expect(counts.background + counts.tails <= commits / 4, "\(counts)")
        #expect(counts.failed == 0)
        // The WAL file is reused from its start once everything is copied: it stays near
        // the threshold instead of holding every commit (1,200 frames, ~5 MB).
        let wal = size(directory.file("durable.db") + "-wal")
        #expect(wal < 8 * 64 * 4_120, "WAL is \(wal) bytes; \(counts)")
    }

    @Test("a long read holds the WAL back: the writer takes over at 8 × the threshold, and the WAL starts over once the read ends")
    func longReadHoldsTheWAL() throws {
        let path = directory.file("long-read.db")
        let store = try open("long-read.db", .background(pages: 8))
        let checkpointer = try #require(store.checkpointer)
        try appendBatch(store, round: 0)
        // Another connection's read transaction pins its snapshot: no checkpoint may copy
        // the frames committed after it began.
        let reader = try SQLiteConnection(path: path, mode: .readOnly)
        try reader.execute("BEGIN")
        #expect(try reader.scalarInt("SELECT count(*) FROM ledger") == 50)
        for round in 1...10 { try appendBatch(store, round: round) }
        let held = try store.checkpointWAL()
        #expect(held.walFrames > 8 * 8, "\(held)")
        #expect(held.checkpointedFrames < held.walFrames, "the read's snapshot did not hold the WAL back: \(held)")
        #expect(checkpointer.counts.onCommit >= 1, "\(checkpointer.counts)")
        try reader.execute("COMMIT")
        // The next commit's checkpoint can copy everything; the one after starts the WAL over.
        for round in 11...13 { try appendBatch(store, round: round) }
        let after = try store.checkpointWAL()
        #expect(after.walFrames < held.walFrames / 2, "the WAL did not start over: \(held) → \(after)")
        #expect(try store.ledger.head().seq == 700)
        #expect(try store.ledger.verifyChain().isIntact)
    }

    @Test("a store opened by a relative path reads and checkpoints its own file after the process changes directory, never the file of that name there")
    func relativePathAfterChdir() throws {
        let home = directory.file("home")
        let elsewhere = directory.file("elsewhere")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        // Someone else's SQLite file, in rollback-journal mode, under the same name.
        let foreign = elsewhere + "/checkpoint.db"
        do {
            let connection = try SQLiteConnection(path: foreign)
            try connection.execute("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('not Tally')")
        }
        let before = try #require(fileBytes(foreign))
        // A child process: changing directory would disturb every other test in this one.
        let (status, output) = try ChildProcess.run(["relative-checkpoint", home, elsewhere])
        #expect(status == 0, "\(output)")
        #expect(output.contains("head 400"), "\(output)")
        #expect(fileBytes(foreign) == before, "the checkpoint thread wrote to the other directory's file")
        #expect(!FileManager.default.fileExists(atPath: foreign + "-wal"))
        let store = try open("home/checkpoint.db", .background(pages: 4))
        #expect(try store.ledger.verifyChain().isIntact)
        #expect(try store.ledger.head().seq == 400)
        // The store keeps the path made absolute, and every later open uses it.
        #expect(Store.resolved("checkpoint.db") == FileManager.default.currentDirectoryPath + "/checkpoint.db")
        #expect(Store.resolved(foreign) == foreign)
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
        #expect(checkpointer.counts == CheckpointSchedule.Counts(background: 0, tails: 0, onCommit: 2, failed: 0))
        checkpointer.stop()  // returns: there is no thread to wait for
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

    /// The connection the checkpointer's thread opened, for the test to act on while the
    /// thread is parked between rounds (SQLite serializes calls on one connection).
    final class OpenedConnection: @unchecked Sendable {
        private let lock = NSLock()
        private var value: SQLiteConnection?
        var connection: SQLiteConnection? {
            get { lock.withLock { value } }
            set { lock.withLock { value = newValue } }
        }
    }

    @Test("a round that fails is counted and logged; the thread lives on, and the next request runs another round")
    func failedRound() throws {
        let path = try database("failed-round.db")
        let writer = try SQLiteConnection(path: path, mode: .readWrite)
        try writer.configure(SQLiteConnection.Configuration())
        writer.setAutomaticCheckpoint(pages: 0)
        try writer.execute("INSERT INTO t VALUES (2); INSERT INTO t VALUES (3)")  // frames to copy
        let opened = OpenedConnection()
        let log = LogRecorder()
        let checkpointer = BackgroundCheckpointer(pages: 1, path: path, logger: log.logger) { () throws(TallyError) in
            let connection = try SQLiteConnection(path: path, mode: .readWrite)
            try connection.configure(SQLiteConnection.Configuration())
            // A read transaction left open: SQLite refuses to checkpoint through a connection
            // inside a transaction (SQLITE_LOCKED), a real failure of the round.
            try connection.execute("BEGIN; SELECT count(*) FROM t")
            opened.connection = connection
            return connection
        }
        let deadline = ContinuousClock.now + .seconds(10)
        #expect(checkpointer.committed(walFrames: 1) == false)  // starts the thread
        while checkpointer.counts.failed == 0 && ContinuousClock.now < deadline { usleep(1_000) }
        #expect(checkpointer.counts == CheckpointSchedule.Counts(background: 0, tails: 0, onCommit: 0, failed: 1))
        while log.messages(at: .info).isEmpty && ContinuousClock.now < deadline { usleep(1_000) }
        #expect(log.messages(at: .info) == ["background WAL checkpoint failed; the next commit past the threshold tries again"])

        // Unlike a connection that would not open, a failed round leaves the thread and its
        // connection in place: the writer is not told to take over below 8 × the threshold.
        try #require(opened.connection).execute("COMMIT")
        #expect(checkpointer.committed(walFrames: 2) == false)  // wakes the thread again
        while checkpointer.counts.background == 0 && ContinuousClock.now < deadline { usleep(1_000) }
        #expect(checkpointer.counts == CheckpointSchedule.Counts(background: 1, tails: 0, onCommit: 0, failed: 1))
        checkpointer.stop()  // joins the thread
    }

    @Test("a parked thread: requests coalesce while one is pending, and one round answers them")
    func coalesce() throws {
        let path = try database("coalesce.db")
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
        #expect(checkpointer.counts == CheckpointSchedule.Counts(background: 1, tails: 0, onCommit: 1, failed: 0))
        checkpointer.stop()
        #expect(checkpointer.counts.background == 1)
    }
}

@Suite("WAL checkpoints: the thread copies the bulk, the writer the short tail, so the WAL can start over")
struct CheckpointScheduleTests {
    /// A schedule under test; a class, so that `#expect` can call its mutating methods.
    final class Subject {
        var schedule: CheckpointSchedule
        init(pages: Int) { schedule = CheckpointSchedule(pages: pages) }

        func committed(_ frames: Int) -> CheckpointSchedule.Decision { schedule.committed(walFrames: frames) }
        func takesRequest() -> Bool { schedule.threadTakesRequest() }
        func stop() -> Bool { schedule.stop() }
        var counts: CheckpointSchedule.Counts { schedule.counts }

        /// The thread picks up the request and its round copies up to `frames`.
        func round(copied frames: Int, busy: Bool = false) {
            #expect(takesRequest())
            schedule.threadCheckpointed(WALCheckpoint(walFrames: frames, checkpointedFrames: frames, wasBusy: busy))
        }
    }

    @Test("below the threshold nothing happens; at it the thread starts, later rounds only wake it")
    func threshold() {
        let schedule = Subject(pages: 1_000)
        #expect(schedule.committed(999) == .nothing)
        #expect(schedule.committed(1_000) == .startThread)
        schedule.round(copied: 1_000)
        #expect(schedule.committed(1_004) == .checkpointHere)  // the tail
        #expect(schedule.committed(3) == .nothing)              // the WAL started over
        #expect(schedule.committed(1_001) == .wakeThread)
    }

    @Test("while a round is pending or running, commits ask for nothing")
    func pendingOrRunning() {
        let schedule = Subject(pages: 100)
        #expect(schedule.committed(100) == .startThread)
        #expect(schedule.committed(150) == .nothing)
        #expect(schedule.takesRequest())
        #expect(schedule.committed(300) == .nothing)
    }

    @Test("after a round, a tail of up to an eighth of the threshold is the writer's; more is another round")
    func tailOrRound() {
        let schedule = Subject(pages: 800)
        #expect(schedule.schedule.tail == 100)
        #expect(schedule.committed(800) == .startThread)
        schedule.round(copied: 800)
        #expect(schedule.committed(950) == .wakeThread)  // 150 behind
        schedule.round(copied: 950)
        #expect(schedule.committed(1_050) == .checkpointHere)  // 100 behind
        #expect(schedule.counts == CheckpointSchedule.Counts(background: 2, tails: 1, onCommit: 0, failed: 0))
    }

    @Test("everything copied: nothing to do, the next transaction starts the WAL over")
    func allCopied() {
        let schedule = Subject(pages: 10)
        #expect(schedule.committed(12) == .startThread)
        schedule.round(copied: 12)
        #expect(schedule.committed(12) == .nothing)
    }

    @Test("a busy round (another connection was checkpointing) copied nothing the schedule can count on")
    func busyRound() {
        let schedule = Subject(pages: 10)
        #expect(schedule.committed(10) == .startThread)
        schedule.round(copied: 10, busy: true)
        #expect(schedule.committed(11) == .wakeThread)
    }

    @Test("at 8 × the threshold the writer checkpoints the whole WAL, round or no round")
    func writerLimit() {
        let schedule = Subject(pages: 10)
        #expect(schedule.schedule.writerPages == 80)
        #expect(schedule.committed(10) == .startThread)
        #expect(schedule.takesRequest())
        #expect(schedule.committed(80) == .checkpointHere)
        #expect(schedule.counts.onCommit == 1)
    }

    @Test("a huge threshold does not overflow the writer's limit")
    func hugeThreshold() {
        let schedule = CheckpointSchedule(pages: Int.max / 2)
        #expect(schedule.writerPages == Int.max)
    }

    @Test("stopped: the writer checkpoints as SQLite would, and only a started thread is joined")
    func stopped() {
        let never = Subject(pages: 10)
        #expect(never.stop() == false)
        #expect(never.committed(10) == .checkpointHere)
        let started = Subject(pages: 10)
        #expect(started.committed(10) == .startThread)
        #expect(started.stop() == true)
        #expect(started.takesRequest() == false)
    }

    @Test("a thread that could not start leaves nothing to join; the writer checkpoints from then on")
    func unavailable() {
        let schedule = Subject(pages: 10)
        #expect(schedule.committed(10) == .startThread)
        schedule.schedule.threadUnavailable(threadRan: false)
        #expect(schedule.committed(11) == .checkpointHere)
        #expect(schedule.stop() == false)
        #expect(schedule.counts.onCommit == 2)
    }
}
