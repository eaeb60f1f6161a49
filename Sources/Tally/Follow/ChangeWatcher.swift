import Dispatch
import Logging

/// Notices commits made by *other* connections — other processes, the sqlite3 prompt — and
/// announces them through the store's ``CommitNotifier``, so followers wake for them as they
/// do for the store's own commits.
///
/// How, without polling the ledger table:
///
/// 1. A dedicated read-only connection asks `PRAGMA data_version`, which changes exactly
///    when another connection has committed since the last time this one asked. SQLite
///    answers from the shared-memory WAL index: no table is read, no page is touched.
///    Only after a change does it read the ledger's head (one index lookup), and it wakes
///    followers only when that head is not the one this process last announced: the store's
///    own writer is "another connection" too, and its commits were announced already.
/// 2. It asks when the kernel says a write happened to the database or its `-wal` file
///    (``FileChangeMonitor``: inotify on Linux). A writer writes the WAL, then fsyncs it,
///    then publishes the commit in the WAL index, so a wake-up can come a few milliseconds
///    before the commit is visible: after one, the watcher asks again with a short backoff
///    (0.5 ms doubling to 64 ms) until it sees the change.
/// 3. It also asks every ``fallbackInterval`` seconds, in case a notification was missed
///    or the platform has none (then this is the latency bound).
/// 4. While the store's own writer commits (commits less than 2 ms apart), it takes the
///    watch off and asks every 2 ms instead: the writer's own WAL writes would otherwise
///    each cost it an inotify event and wake this thread for nothing (perf of four durable
///    writers with a follower in the process: 5.6 % of the samples, in their `pwrite`s).
///
/// It starts with the first follower that waits and stops with the store.
final class ChangeWatcher: @unchecked Sendable {
    // @unchecked: the mutable state is guarded by `lock`; the watching loop runs on its
    // own queue and touches only its locals and `isStopped`.
    private let lock = PlatformLock()
    private var started = false
    private var stopped = false
    /// True while the file watch is off because the store's own commits flow (see
    /// ``ownCommitGapNanoseconds``).
    private var watchOff = false
    /// Where commits happen: a database file, or a PostgreSQL server (whose NOTIFY
    /// tally_ledger, sent by a trigger at commit, is the wake-up).
    private enum Source {
        case sqlite(path: String)
        case postgres(conninfo: String)
    }

    private let path: String
    private let source: Source
    private let notifier: CommitNotifier
    private let logger: Logger
    /// Starts the watching thread; returns false when the system refuses one.
    private let startThread: PlatformThread.Starter

    /// Seconds between checks when no notification arrives.
    let fallbackInterval: Double

    /// A watcher for a database file.
    /// - Parameter startThread: Starts the watching thread (tests pass one that refuses:
    ///   the watch then runs on a Dispatch queue).
    init(path: String, notifier: CommitNotifier, logger: Logger,
         startThread: @escaping PlatformThread.Starter = PlatformThread.detach(named:_:)) {
        self.path = path
        self.source = .sqlite(path: path)
        self.notifier = notifier
        self.logger = logger
        self.startThread = startThread
        self.fallbackInterval = FileChangeMonitor.isAvailable ? 0.25 : 0.02
    }

    /// A watcher for a PostgreSQL database: LISTEN tally_ledger on a connection of its own.
    init(postgres conninfo: String, display: String, notifier: CommitNotifier, logger: Logger) {
        self.path = display
        self.source = .postgres(conninfo: conninfo)
        self.notifier = notifier
        self.logger = logger
        self.startThread = PlatformThread.detach(named:_:)
        self.fallbackInterval = 0.25
    }

    /// Starts watching, once.
    func start() {
        let shouldStart: Bool = lock.withLock {
            guard !started, !stopped else { return false }
            started = true
            return true
        }
        guard shouldStart else { return }
        // A thread of its own: the watch blocks for as long as the store lives, which would
        // hold one of Dispatch's pool workers for good (but is better than no watch at all).
        if !startThread("tally.change-watcher", { [self] in run() }) {
            DispatchQueue(label: "tally.change-watcher").async { [self] in run() }
        }
    }

    /// Stops watching (within ``fallbackInterval``).
    func stop() {
        lock.withLock { stopped = true }
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    /// Whether the file watch is off just now because the store's own commits flow.
    var isWatchOff: Bool { lock.withLock { watchOff } }

    private func run() {
        switch source {
        case .sqlite: watchFile()
        case let .postgres(conninfo): listen(conninfo)
        }
    }

    /// PostgreSQL: a LISTEN session; reconnects (and wakes followers once, in case a
    /// notification was lost meanwhile) when the connection drops.
    private func listen(_ conninfo: String) {
        var session: PGConnection?
        while !isStopped {
            do {
                if session == nil {
                    let connection = try PGConnection(conninfo: conninfo)
                    try connection.listen("tally_ledger")
                    session = connection
                    notifier.notify()
                }
                if let session, try session.waitForNotifications(seconds: fallbackInterval) > 0 { announce(on: session) }
            } catch {
                logger.debug("change watcher lost its PostgreSQL session", metadata: ["db": "\(path)", "error": "\(error)"])
                session = nil
                System.sleep(seconds: fallbackInterval)
            }
        }
    }

    /// Announces the commits a notification reported. The store's own commits notify too
    /// (every session LISTENing gets every commit's NOTIFY), and were announced when they
    /// committed: as on SQLite, followers wake only for a head this process has not
    /// announced. When the head cannot be read, followers are woken anyway.
    private func announce(on session: PGConnection) {
        let result = try? session.query(Self.postgresHeadSQL)
        announce(head: result.flatMap { try? $0.rows.first?.int64(0) })
    }

    /// Wakes followers for a commit noticed from outside whose ledger head is `head`,
    /// unless this process announced that head already; always when the head could not be
    /// read (nil): followers then read for themselves.
    private func announce(head: Int64?) {
        guard let head else { return notifier.notify() }
        notifier.notifyUnlessAnnounced(headSeq: head)
    }

    private static let postgresHeadSQL = "SELECT coalesce(max(seq), 0) FROM ledger"

    /// The store's own commits closer together than this (2 ms) pause the file watch: each
    /// of their WAL writes would cost the writer an inotify event and wake this thread, for
    /// commits its followers were told of already. Meanwhile the watcher asks
    /// `PRAGMA data_version` every 2 ms, which bounds how late another process's commit is
    /// noticed, and sets the watch again once the store has been quiet that long.
    static let ownCommitGapNanoseconds: UInt64 = 2_000_000

    private func watchFile() {
        let split = FileOperations.split(path)
        let monitor = FileChangeMonitor(directory: split.directory, names: [split.name, split.name + "-wal"])
        var connection: Connection?
        var lastVersion: Int64?

        /// True when another connection committed since the last check.
        func changed() -> Bool {
            do throws(TallyError) {
                if connection == nil { connection = try SQLiteConnection(path: path, mode: .readOnly) }
                guard let version = try connection?.scalarInt("PRAGMA data_version") else { return false }
                defer { lastVersion = version }
                return lastVersion.map { $0 != version } ?? false
            } catch {
                // The file may be mid-restore or gone; try again on the next round.
                logger.debug("change watcher could not read data_version", metadata: ["db": "\(path)", "error": "\(error)"])
                connection = nil
                lastVersion = nil
                return false
            }
        }

        /// Announces what another connection committed. This process's own commits change
        /// data_version too (its writer is another connection); their heads were announced
        /// already, and announcing them again would only make every follower read again.
        /// When the head cannot be read, followers are woken anyway: they read for themselves.
        func announce() {
            self.announce(head: connection.flatMap { try? LedgerTable.head(on: $0).seq })
        }

        /// True while the store's own commits come less than `ownCommitGapNanoseconds` apart.
        func ownCommitsFlow() -> Bool {
            notifier.nanosecondsSinceOwnCommit < Self.ownCommitGapNanoseconds
        }

        /// Whether setting the watch again failed last time (logged once, then retried
        /// quietly every 2 ms: polling goes on meanwhile).
        var resumeFailed = false

        /// Pauses the watch while the store's own commits flow and sets it again once they
        /// stop; true when it was just set again.
        func followOwnCommits(_ monitor: FileChangeMonitor) -> Bool {
            if ownCommitsFlow() {
                if !monitor.isPaused {
                    monitor.pause()
                    lock.withLock { watchOff = true }
                }
                return false
            }
            guard monitor.isPaused else { return false }
            if monitor.resume() {
                resumeFailed = false
                lock.withLock { watchOff = false }
                return true
            }
            if !resumeFailed {
                logger.debug("change watcher could not watch the database's directory again; polling every 2 ms", metadata: ["db": "\(path)"])
                resumeFailed = true
            }
            return false
        }

        _ = changed()
        while !isStopped {
            let woke: Bool
            if let monitor, followOwnCommits(monitor) {
                // A commit of another process may be in flight, its WAL written while the
                // watch was off: check with the backoff below as after a notification.
                woke = true
            } else if let monitor {
                woke = monitor.wait(seconds: monitor.isPaused ? Double(Self.ownCommitGapNanoseconds) / 1e9 : fallbackInterval)
            } else {
                System.sleep(seconds: fallbackInterval)
                woke = false
            }
            if changed() {
                announce()
                continue
            }
            guard woke else { continue }
            var pause = 0.000_5
            while pause <= 0.064, !isStopped, !ownCommitsFlow() {
                System.sleep(seconds: pause)
                if changed() {
                    announce()
                    break
                }
                pause *= 2
            }
        }
    }
}
