import Dispatch

/// Tells in-process followers that the ledger moved: ``notify()`` is called after every
/// durable commit that appended events (never before the commit), and waiters wake at
/// once, blocking ones and `async` ones alike.
///
/// It carries no data, only a generation number, so a follower that wakes always re-reads
/// the ledger from its own position: a missed or merged notification can delay it, never
/// make it skip or repeat an event.
///
/// It also remembers the highest seq announced, so that the ``ChangeWatcher`` can tell a
/// commit it noticed on the files from one this process already announced: seqs are
/// gap-free and in commit order, so a follower woken for seq N reads every event up to N,
/// whoever wrote them.
final class CommitNotifier: @unchecked Sendable {
    private let condition = PlatformCondition()
    private var generation: UInt64 = 0
    /// The highest ledger seq a notification has announced (0: none known).
    private var announcedSeq: Int64 = 0
    /// The highest head ever announced: unlike `announcedSeq`, never lowered (a head the
    /// watcher read before the store's latest commit lowers that mark). Kept events are
    /// complete only when they reach it.
    private var highestAnnouncedSeq: Int64 = 0
    /// When the store last announced a commit of its own (`DispatchTime` uptime
    /// nanoseconds; 0: never).
    private var ownCommitUptime: UInt64 = 0
    private var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiter: UInt64 = 0
    /// The events of the store's latest own commits, in seq order and without a gap, for
    /// in-process followers to take instead of reading them back (see
    /// ``recentEvents(after:limit:)``). Kept only once a follower has waited.
    private var recent: [LedgerEvent] = []
    private var keepsRecent = false
    /// Events kept at least (up to twice as many before the oldest are dropped).
    static let recentLimit = 1_024

    /// Starts keeping the events of the store's own commits; called by the first follower
    /// that waits.
    func keepRecentEvents() {
        condition.lock()
        keepsRecent = true
        condition.unlock()
    }

    /// Whether commits should hand their events to ``notify(headSeq:committed:)``.
    var keepsRecentEvents: Bool {
        condition.lock()
        defer { condition.unlock() }
        return keepsRecent
    }

    /// The kept events after `position`, at most `limit`, when they continue from it
    /// without a gap (nil otherwise: the follower reads the database), with whether they
    /// reach every head announced so far (then, at `generation`, nothing announced is
    /// missing after them) and the generation they were taken at.
    func recentEvents(after position: Int64, limit: Int) -> (events: [LedgerEvent], complete: Bool, generation: UInt64)? {
        condition.lock()
        defer { condition.unlock() }
        guard let first = recent.first, let last = recent.last, first.seq <= position + 1, position <= last.seq else {
            return nil
        }
        let start = Int(position + 1 - first.seq)
        let end = Swift.min(recent.count, start + Swift.max(1, limit))
        return (Array(recent[start..<end]), end == recent.count && last.seq >= highestAnnouncedSeq, generation)
    }

    /// Adds a commit's events to the kept ones, or forgets them all when the commit's
    /// events are not known or do not continue them. Called with the lock held.
    private func remember(_ events: [LedgerEvent]?, headSeq: Int64?) {
        guard keepsRecent else { return }
        guard let events, let first = events.first, events.last?.seq == headSeq else {
            recent.removeAll()
            return
        }
        // Only the last `recentLimit` of a larger commit are kept, which do not continue
        // the kept ones either.
        if events.count > Self.recentLimit || recent.last.map({ $0.seq + 1 != first.seq }) == true { recent.removeAll() }
        recent.append(contentsOf: events.suffix(Self.recentLimit))
        if recent.count > 2 * Self.recentLimit { recent.removeFirst(recent.count - Self.recentLimit) }
    }

    /// Nanoseconds since the store's own last commit (`UInt64.max` when it has made none):
    /// the ``ChangeWatcher`` pauses its file watch while they come close together.
    var nanosecondsSinceOwnCommit: UInt64 {
        condition.lock()
        let last = ownCommitUptime
        condition.unlock()
        guard last > 0 else { return .max }
        let now = DispatchTime.now().uptimeNanoseconds
        return now > last ? now - last : 0
    }

    /// The current generation; pass it to a wait to wake only for later commits.
    var current: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return generation
    }

    /// Announces a commit; `headSeq` is the ledger's last seq after it, when known, and
    /// `events` what it appended, in seq order, when known (kept for followers; unknown
    /// events make the kept ones be forgotten). When that head was announced already (the
    /// ``ChangeWatcher`` saw the commit before its writer got here: on PostgreSQL the
    /// NOTIFY can outrun the writer's return), the followers woken then read up to it, and
    /// nobody is woken again.
    func notify(headSeq: Int64? = nil, committed events: [LedgerEvent]? = nil) {
        let now = headSeq == nil ? 0 : DispatchTime.now().uptimeNanoseconds
        condition.lock()
        remember(events, headSeq: headSeq)
        if let headSeq {
            ownCommitUptime = now
            guard headSeq != announcedSeq else {
                condition.unlock()
                return
            }
            announcedSeq = Swift.max(announcedSeq, headSeq)
            highestAnnouncedSeq = Swift.max(highestAnnouncedSeq, headSeq)
        }
        wakeAll()
    }

    /// Announces a commit noticed from outside (another connection or process) whose ledger
    /// head is `headSeq`, unless a notification already announced exactly that head: then
    /// every follower has been, or is being, woken to read up to it. A head below the one
    /// announced (the database was restored to an earlier state) is announced and becomes
    /// the new mark. Returns whether it announced.
    @discardableResult
    func notifyUnlessAnnounced(headSeq: Int64) -> Bool {
        condition.lock()
        guard headSeq != announcedSeq else {
            condition.unlock()
            return false
        }
        // A head below kept events: the database may have been restored to an earlier
        // state (or the head was read before the store's latest commit): what is kept
        // beyond it is no longer vouched for.
        while let last = recent.last, last.seq > headSeq { recent.removeLast() }
        announcedSeq = headSeq
        highestAnnouncedSeq = Swift.max(highestAnnouncedSeq, headSeq)
        wakeAll()
        return true
    }

    /// Moves to the next generation and wakes every waiter. Called with the lock held;
    /// returns with it released.
    private func wakeAll() {
        generation &+= 1
        let woken = waiters
        waiters.removeAll()
        condition.broadcast()
        condition.unlock()
        for continuation in woken.values { continuation.resume() }
    }

    /// Blocks until a commit after `generation`, or until `seconds` pass. Returns the
    /// generation it woke at.
    @discardableResult
    func wait(after generation: UInt64, seconds: Double) -> UInt64 {
        condition.lock()
        defer { condition.unlock() }
        if self.generation == generation { _ = condition.wait(seconds: seconds) }
        return self.generation
    }

    /// Suspends until a commit after `generation` (returns at once if one happened
    /// already), or until the task is cancelled.
    func waitAsync(after generation: UInt64) async {
        let id: UInt64 = {
            condition.lock()
            defer { condition.unlock() }
            nextWaiter &+= 1
            return nextWaiter
        }()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                condition.lock()
                if self.generation != generation || Task.isCancelled {
                    condition.unlock()
                    continuation.resume()
                    return
                }
                waiters[id] = continuation
                condition.unlock()
            }
        } onCancel: {
            condition.lock()
            let continuation = waiters.removeValue(forKey: id)
            condition.unlock()
            continuation?.resume()
        }
    }
}
