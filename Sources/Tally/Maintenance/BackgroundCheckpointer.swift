import Dispatch
import Logging

/// Copies the WAL back into the database file on a thread of its own, so that no commit
/// waits for the bulk of it (``Store/Configuration/WALCheckpointing/background(pages:)``).
///
/// SQLite's automatic checkpoint runs inside the commit that crosses its threshold: that
/// commit copies about a thousand pages into the database file (and with
/// `synchronous=FULL` or `NORMAL` syncs both files) before it returns, on the writer's
/// thread, while every other writer waits. In the W1 bulk-append benchmark that was a fifth
/// of the writer's time, in W3 a tenth. Here the writer's connection only reports the WAL's
/// size after each commit (``SQLiteConnection/observeWALCommits(_:)``), and
/// ``CheckpointSchedule`` decides: past `pages` frames this thread checkpoints through a
/// connection of its own (`PASSIVE`: it copies what no reader still needs, waits for no
/// one, and writers go on appending meanwhile). Durability is unchanged: a commit is as
/// durable as its WAL frames, and the thread's connection syncs with the store's
/// `synchronous` level as the writer would.
///
/// The writer still checkpoints itself in three cases: to copy the short tail the thread
/// left behind (see ``CheckpointSchedule``: without it the WAL would never start over), when
/// the WAL reaches ``CheckpointSchedule/writerPages`` (the thread cannot keep up, or a long
/// read holds the WAL back), and whenever the thread cannot run: no thread could be started,
/// or its connection could not be opened (logged at `info`). The thread starts with the first
/// checkpoint it is asked for, so a store that never fills the WAL (a command-line call)
/// never starts it, and ``stop()`` (the store's deinit) waits for a checkpoint in flight and
/// closes the connection.
final class BackgroundCheckpointer: Sendable {
    private let path: String
    private let schedule: Locked<CheckpointSchedule>
    /// One signal per request (requests coalesce while one is pending) and one to stop.
    private let wake = DispatchSemaphore(value: 0)
    /// Signalled once when the thread has closed its connection and ended.
    private let finished = DispatchSemaphore(value: 0)
    /// Held through each of the thread's checkpoints, so that ``takingTurns(_:)`` waits for
    /// one in flight instead of failing with `SQLITE_BUSY`.
    private let turn = PlatformLock()
    private let openConnection: @Sendable () throws(TallyError) -> SQLiteConnection
    private let startThread: PlatformThread.Starter
    private let logger: Logger

    /// - Parameters:
    ///   - pages: The WAL size, in pages, that wakes the thread (at least 1).
    ///   - path: The database, for log messages.
    ///   - openConnection: Opens the connection the thread checkpoints through (on the
    ///     thread, at its first checkpoint).
    ///   - startThread: Starts the thread (tests pass one that refuses).
    init(pages: Int, path: String, logger: Logger,
         startThread: @escaping PlatformThread.Starter = PlatformThread.detach(named:_:),
         openConnection: @escaping @Sendable () throws(TallyError) -> SQLiteConnection) {
        self.schedule = Locked(CheckpointSchedule(pages: pages))
        self.path = path
        self.logger = logger
        self.startThread = startThread
        self.openConnection = openConnection
    }

    /// The observer for the writer connection's commits.
    var observer: WALCommitObserver {
        WALCommitObserver { [self] frames in committed(walFrames: frames) }
    }

    /// Called on the writer's thread after each commit with the WAL's size in frames;
    /// returns true when the writer must checkpoint itself now.
    func committed(walFrames frames: Int) -> Bool {
        switch schedule.withLock({ $0.committed(walFrames: frames) }) {
        case .nothing:
            return false
        case .checkpointHere:
            return true
        case .wakeThread:
            wake.signal()
            return false
        case .startThread:
            if startThread("tally checkpointer", { [self] in run() }) {
                wake.signal()
                return false
            }
            schedule.withLock { $0.threadUnavailable(threadRan: false) }
            logger.info("no thread for background WAL checkpoints; the writer checkpoints on commit",
                        metadata: ["db": "\(path)"])
            return true
        }
    }

    /// The thread: one checkpoint per wake-up until ``stop()``.
    private func run() {
        var connection: SQLiteConnection?
        while true {
            wake.wait()
            guard schedule.withLock({ $0.threadTakesRequest() }) else { break }
            do throws(TallyError) {
                let open: SQLiteConnection  // (not `??`: its autoclosure throws untyped errors)
                if let connection { open = connection } else { open = try openConnection(); connection = open }
                let result = try turn.withLock { () throws(TallyError) in try open.checkpoint(.passive) }
                schedule.withLock { $0.threadCheckpointed(result) }
            } catch {
                let opened = connection != nil
                schedule.withLock { schedule in
                    schedule.threadFailed()
                    if !opened { schedule.threadUnavailable(threadRan: true) }
                }
                if !opened {
                    logger.info("background WAL checkpoints cannot open the database; the writer checkpoints on commit",
                                metadata: ["db": "\(path)", "error": "\(error)"])
                    break
                }
                logger.info("background WAL checkpoint failed; the next commit past the threshold tries again",
                            metadata: ["db": "\(path)", "error": "\(error)"])
            }
        }
        connection = nil
        finished.signal()
    }

    /// Runs `body` (a checkpoint of the caller's) once no background checkpoint is in flight,
    /// and keeps the thread from starting one until it returns.
    func takingTurns<T>(_ body: () throws(TallyError) -> T) throws(TallyError) -> T {
        try turn.withLock { () throws(TallyError) in try body() }
    }

    /// Ends the thread, after the checkpoint in flight, and closes its connection. Commits
    /// after it (there are none once the store is gone) checkpoint on the writer.
    func stop() {
        guard schedule.withLock({ $0.stop() }) else { return }
        wake.signal()
        finished.wait()
    }

    /// How many checkpoints ran where so far.
    var counts: CheckpointSchedule.Counts {
        schedule.withLock { $0.counts }
    }
}

/// Who checkpoints the WAL after a commit: the decisions of ``BackgroundCheckpointer``,
/// apart from its thread, so that tests can state them with any WAL sizes.
///
/// The thread copies the bulk; the writer copies the tail. SQLite starts the WAL over (writes
/// from its first frame again) only when a write transaction begins with every frame copied.
/// A checkpoint running beside the writer is always behind by the commits made while it ran,
/// so if the thread alone copied, the WAL would never start over: it would grow, and every
/// commit would find it past the threshold and ask for another checkpoint (with
/// `synchronous=FULL`, two more fsyncs each: that halved the durable-append rate when it was
/// tried). So once a round of the thread has copied and the frames still behind are few
/// (``tail``: an eighth of the threshold), the writer copies them itself, a short
/// checkpoint, and the next transaction starts the WAL over. Many frames behind: the thread
/// runs another round.
struct CheckpointSchedule {
    /// How many checkpoints ran where.
    struct Counts: Sendable, Equatable {
        /// Rounds the thread completed (whatever they found to copy).
        var background = 0
        /// Tails the writer copied after a round of the thread.
        var tails = 0
        /// Times the writer was told to checkpoint the whole WAL as SQLite would: at
        /// ``CheckpointSchedule/writerPages`` or without a thread (beside a round in flight
        /// its attempt finds the checkpoint lock taken and copies nothing).
        var onCommit = 0
        /// Rounds of the thread that failed (each logged).
        var failed = 0
    }

    /// What to do after a commit.
    enum Decision: Equatable {
        case nothing
        /// The writer checkpoints now, on the committing thread.
        case checkpointHere
        case wakeThread
        /// Start the thread (its first request), then wake it.
        case startThread
    }

    /// WAL frames that start a round of the thread.
    let pages: Int
    /// Frames behind after a round that the writer copies itself rather than waiting for
    /// another round.
    let tail: Int
    /// WAL frames at which the writer checkpoints whatever the thread does.
    let writerPages: Int
    /// How much larger than `pages` the WAL grows before the writer checkpoints itself.
    static let writerFactor = 8

    private var requested = false
    private var running = false
    private var started = false
    private var stopped = false
    private var unavailable = false
    /// Frames of the current WAL a round of the thread copied (0: none since it started over).
    private var backfilled = 0
    private(set) var counts = Counts()

    init(pages: Int) {
        self.pages = max(1, pages)
        self.tail = max(1, self.pages / Self.writerFactor)
        let (product, overflow) = self.pages.multipliedReportingOverflow(by: Self.writerFactor)
        self.writerPages = overflow ? Int.max : product
    }

    /// After a commit that left `frames` frames in the WAL.
    mutating func committed(walFrames frames: Int) -> Decision {
        // Fewer frames than a round copied: the WAL started over since.
        if frames < backfilled { backfilled = 0 }
        guard frames >= pages || backfilled > 0 else { return .nothing }
        if frames >= writerPages || unavailable || stopped {
            counts.onCommit += 1
            return .checkpointHere
        }
        if requested || running { return .nothing }
        let behind = frames - backfilled
        if backfilled == 0 || behind > tail {
            requested = true
            if started { return .wakeThread }
            started = true
            return .startThread
        }
        guard behind > 0 else { return .nothing }  // all copied: the next transaction starts over
        counts.tails += 1
        return .checkpointHere
    }

    /// The thread picks up the pending request; false when it is to end instead.
    mutating func threadTakesRequest() -> Bool {
        requested = false
        running = !stopped
        return running
    }

    /// A round of the thread ended with `result`.
    mutating func threadCheckpointed(_ result: WALCheckpoint) {
        running = false
        counts.background += 1
        // Busy: another connection held the checkpoint lock (the writer's own, or another
        // process's), and the counts SQLite reports are not this round's.
        if !result.wasBusy { backfilled = result.checkpointedFrames }
    }

    /// A round of the thread failed.
    mutating func threadFailed() {
        running = false
        counts.failed += 1
    }

    /// The thread cannot run: it could not be started (`threadRan` false; the commit that
    /// asked checkpoints itself), or its connection would not open (the thread ends): from
    /// now on the writer checkpoints as SQLite would.
    mutating func threadUnavailable(threadRan: Bool) {
        unavailable = true
        requested = false
        running = false
        if !threadRan {
            started = false  // nothing to join
            counts.onCommit += 1
        }
    }

    /// Marks the schedule stopped; true when the thread was started and must be joined.
    mutating func stop() -> Bool {
        stopped = true
        return started
    }
}
