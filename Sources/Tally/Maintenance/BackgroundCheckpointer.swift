import Dispatch
import Logging

/// Copies the WAL back into the database file on a thread of its own, so that no commit
/// waits for it (``Store/Configuration/WALCheckpointing/background(pages:)``).
///
/// SQLite's automatic checkpoint runs inside the commit that crosses its threshold: that
/// commit copies about a thousand pages into the database file (and with
/// `synchronous=FULL` or `NORMAL` syncs both files) before it returns, on the writer's
/// thread, while every other writer waits. In the W1 bulk-append benchmark that was a fifth
/// of the writer's time, in W3 a tenth. Here the writer's connection only reports the WAL's
/// size after each commit (``SQLiteConnection/observeWALCommits(_:)``), and past `pages`
/// wakes this thread, which checkpoints through a connection of its own (`PASSIVE`: it
/// copies what no reader still needs, waits for no one, and writers go on appending
/// meanwhile). Durability is unchanged: a commit is as durable as its WAL frames, and the
/// checkpoint connection syncs with the store's `synchronous` level as the writer would.
///
/// The writer still checkpoints itself, as SQLite would, when the WAL reaches
/// ``onCommitPages`` (this thread cannot keep up, or a long read holds the WAL back), and
/// whenever this thread cannot run: no thread could be started, or its connection could not
/// be opened (logged once, at `info`). The thread starts with the first checkpoint it is
/// asked for, so a store that never fills the WAL (a command-line call) never starts it, and
/// ``stop()`` (the store's deinit) waits for a checkpoint in flight and closes the
/// connection.
final class BackgroundCheckpointer: Sendable {
    /// How many checkpoints ran where, for the statistics tests read.
    struct Counts: Sendable, Equatable {
        /// Checkpoints this thread completed (whatever they found to copy).
        var background = 0
        /// Commits after which the writer was told to checkpoint itself.
        var onCommit = 0
        /// Checkpoints this thread attempted that failed (each logged).
        var failed = 0
    }

    private struct State {
        /// A checkpoint was asked for and the thread has not picked the request up yet.
        var requested = false
        var started = false
        var stopped = false
        /// The thread cannot run (not started, or its connection would not open): every
        /// checkpoint falls to the writer.
        var unavailable = false
        var counts = Counts()
    }

    /// WAL pages at which a commit wakes the thread.
    let pages: Int
    /// WAL pages at which the committing writer checkpoints itself too.
    let onCommitPages: Int
    private let path: String
    private let state = Locked(State())
    /// One signal per request (requests coalesce while one is pending) and one to stop.
    private let wake = DispatchSemaphore(value: 0)
    /// Signalled once when the thread has closed its connection and ended.
    private let finished = DispatchSemaphore(value: 0)
    /// Held through each of the thread's checkpoints, so that ``takingTurns(_:)`` waits for
    /// one in flight instead of failing with `SQLITE_BUSY`.
    private let turn = Locked(())
    private let openConnection: @Sendable () throws(TallyError) -> SQLiteConnection
    private let startThread: @Sendable (String, @escaping @Sendable () -> Void) -> Bool
    private let logger: Logger

    /// How much larger than `pages` the WAL grows before the writer checkpoints itself.
    static let onCommitFactor = 8

    /// - Parameters:
    ///   - pages: The WAL size, in pages, that wakes the thread (at least 1).
    ///   - path: The database, for log messages.
    ///   - openConnection: Opens the connection the thread checkpoints through (on the
    ///     thread, at its first checkpoint).
    ///   - startThread: Starts the thread (tests pass one that refuses).
    init(pages: Int, path: String, logger: Logger,
         startThread: @escaping @Sendable (String, @escaping @Sendable () -> Void) -> Bool = PlatformThread.detach(named:_:),
         openConnection: @escaping @Sendable () throws(TallyError) -> SQLiteConnection) {
        self.pages = max(1, pages)
        self.onCommitPages = self.pages.multipliedReportingOverflow(by: Self.onCommitFactor).overflow
            ? Int.max : self.pages * Self.onCommitFactor
        self.path = path
        self.logger = logger
        self.startThread = startThread
        self.openConnection = openConnection
    }

    /// The observer for the writer connection's commits.
    var observer: WALCommitObserver {
        WALCommitObserver { [self] frames in committed(walFrames: frames) }
    }

    private enum Decision {
        case nothing, checkpointOnCommit, wake, start
    }

    /// Called on the writer's thread after each commit with the WAL's size in frames;
    /// returns true when the writer must checkpoint itself now.
    func committed(walFrames frames: Int) -> Bool {
        guard frames >= pages else { return false }
        let decision: Decision = state.withLock { state in
            if frames >= onCommitPages || state.unavailable || state.stopped {
                state.counts.onCommit += 1
                return .checkpointOnCommit
            }
            if state.requested { return .nothing }
            state.requested = true
            if state.started { return .wake }
            state.started = true
            return .start
        }
        switch decision {
        case .nothing:
            return false
        case .checkpointOnCommit:
            return true
        case .wake:
            wake.signal()
            return false
        case .start:
            if startThread("tally checkpointer", { [self] in run() }) {
                wake.signal()
                return false
            }
            state.withLock { state in
                state.started = false
                state.requested = false
                state.unavailable = true
                state.counts.onCommit += 1
            }
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
            let stopping = state.withLock { state in
                state.requested = false
                return state.stopped
            }
            if stopping { break }
            do throws(TallyError) {
                if connection == nil { connection = try openConnection() }
                guard let connection else { break }
                _ = try turn.withLock { (_: inout Void) throws(TallyError) in try connection.checkpoint(.passive) }
                state.withLock { $0.counts.background += 1 }
            } catch {
                let opened = connection != nil
                state.withLock { state in
                    state.counts.failed += 1
                    if !opened { state.unavailable = true }
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
        try turn.withLock { (_: inout Void) throws(TallyError) in try body() }
    }

    /// Ends the thread, after the checkpoint in flight, and closes its connection. Commits
    /// after it (there are none once the store is gone) checkpoint on the writer.
    func stop() {
        let started = state.withLock { state in
            state.stopped = true
            return state.started
        }
        guard started else { return }
        wake.signal()
        finished.wait()
    }

    /// How many checkpoints ran where so far.
    var counts: Counts {
        state.withLock { $0.counts }
    }
}
