import Dispatch

/// Batches concurrent appends into one transaction: one fsync for many callers.
///
/// The first caller to arrive while no batch is running becomes the leader: it takes every
/// queued request, runs them in one `BEGIN IMMEDIATE` transaction with a savepoint per
/// request (so a bad request fails alone and the others commit), commits, and only then
/// wakes the callers with their results. Requests that arrive during that commit queue up
/// and form the next batch. A caller therefore returns only after the commit holding its
/// work is durable.
///
/// A batch also gathers. The callers one commit wakes usually come straight back with their
/// next request, but the first of them to return would otherwise lead a batch of one and
/// leave the rest to the batch after (four synchronous writers then alternate batches of
/// one and three, half the batching they could have). So while a batch holds fewer requests
/// than there were writers at the last commit, the leader, having run what it has, waits
/// for more and runs them in the same transaction, for at most half as long as the previous
/// batch took (and never over `maximumGatherNanoseconds`). The wait overlaps the returning
/// callers' wake-up with the leader's own work; a writer that went away costs one window,
/// after which the expected size is what came.
///
/// The first part of that wait spins instead of sleeping: for up to
/// ``spinNanoseconds`` the leader yields its core (`sched_yield`) and looks at the queue
/// again, and only then sleeps until a caller signals. The callers it waits for are usually
/// back within a few tens of microseconds, about what a sleeping leader takes to be woken and
/// scheduled again; yielding also hands its core to those callers when they are short of
/// one. With four durable writers on two cores that made the group commit about 5 % faster
/// (medians of interleaved runs) and use less CPU (fewer sleeps and wake-ups).
///
/// "Writers at the last commit" counts the requests that were already queued for the next
/// batch when the last one committed, not only those in it. Counting only the batch lets a
/// writer that once missed a batch stay one behind for good: its request leads the next
/// batch, which gathers towards the size of the last (one short) and closes before that
/// writer's next request arrives, which therefore waits for the batch after, every time
/// (four writers locked into batches of three).
///
/// Blocking callers lead on their own thread. `async` callers never block: their requests
/// join the same queue, and when no blocking caller is leading, a leader runs on the
/// store's writer queue. Either kind of leader serves both kinds of request.
final class GroupCommitter: @unchecked Sendable {
    /// What one request produced: each event as stored, and whether it was an idempotent
    /// replay of an event already in the ledger.
    typealias Output = [(event: LedgerEvent, replayed: Bool)]
    /// One caller's work, run on the writer connection inside the batch transaction.
    typealias Work = (Connection, inout LedgerTable.AppendCursor) throws(TallyError) -> Output

    /// One caller's unit of work and, once its batch has committed, its result.
    final class Request {
        let work: Work
        var result: Result<Output, TallyError>?
        var isDone = false
        var continuation: CheckedContinuation<Result<Output, TallyError>, Never>?

        init(work: @escaping Work) {
            self.work = work
        }
    }

    /// The requests of one batch, as its leader receives them: those queued when it began
    /// (``requests``), then, through ``more()``, those that arrive while it runs them.
    final class Batch {
        /// Every request taken so far; the batch's result covers exactly these.
        private(set) var requests: [Request]
        /// False when the batch will never grow: it may run without a savepoint per request.
        let mayGrow: Bool
        /// Run by the leader once the batch's callers have been woken: announcements of the
        /// commit (followers reading it) then wait for the callers, who form the next batch,
        /// instead of competing with them for a core.
        var afterCallersWoken: (() -> Void)?
        private let gather: (Int) -> [Request]

        fileprivate init(_ requests: [Request], mayGrow: Bool, gather: @escaping (Int) -> [Request]) {
            self.requests = requests
            self.mayGrow = mayGrow
            self.gather = gather
        }

        /// The requests that arrived since the last call (waiting for them while the batch
        /// is smaller than expected and its window is open); empty when it is time to commit.
        func more() -> [Request] {
            guard mayGrow else { return [] }
            let arrived = gather(requests.count)
            requests += arrived
            return arrived
        }
    }

    /// Guards everything below; callers wait on it for their batch to finish.
    private let condition = PlatformCondition()
    /// Wakes a gathering leader alone, on `condition`'s lock.
    private let arrival: PlatformCondition
    private var queue: [Request] = []
    private var leaderActive = false
    private var asyncLeaderScheduled = false
    /// True while a leader waits in ``Batch/more()``: an arrival then signals `arrival`.
    private var leaderGathering = false
    /// Requests in the previous batch plus those queued when it committed (they were
    /// waiting for the next one): the size a leader gathers towards.
    private var writersAtLastCommit = 0
    /// How long the previous batch took, from its first request taken to its commit.
    private var previousBatchNanoseconds: UInt64 = 0
    /// Most requests in one transaction, to bound the latency of the first of them.
    private let maximumBatch: Int
    /// Longest a leader waits for requests in one batch, whatever the previous batch took.
    private let maximumGatherNanoseconds: UInt64
    /// How long a gathering leader yields and looks again before it sleeps: a little more
    /// than returning callers took to come back with their next request in the W5 benchmark
    /// (four writers, two cores: 40–50 µs).
    static let spinNanoseconds: UInt64 = 50_000

    init(maximumBatch: Int = 1024, maximumGatherNanoseconds: UInt64 = 2_000_000) {
        self.maximumBatch = maximumBatch
        self.maximumGatherNanoseconds = maximumGatherNanoseconds
        arrival = PlatformCondition(sharingLockOf: condition)
    }

    /// Runs `work` in the next batch and returns its result once that batch has committed.
    /// `runBatch` receives the batch (its requests, and through ``Batch/more()`` those that
    /// arrive while it runs) and must set the result of every request in `batch.requests`.
    func submit(_ work: @escaping Work, runBatch: (Batch) -> Void) throws(TallyError) -> Output {
        let request = Request(work: work)
        condition.lock()
        enqueue(request)
        while !request.isDone {
            if leaderActive {
                condition.wait()
                continue
            }
            leadOneBatch(runBatch)
        }
        condition.unlock()
        guard let result = request.result else {
            throw TallyError.internal("a group-commit batch ended without a result for one of its requests")
        }
        return try result.get()
    }

    /// ``submit(_:runBatch:)`` for `async` callers: suspends instead of blocking.
    func submit(_ work: @escaping Work, leaderQueue: DispatchQueue,
                runBatch: @escaping @Sendable (Batch) -> Void) async throws(TallyError) -> Output {
        let request = Request(work: work)
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Output, TallyError>, Never>) in
            request.continuation = continuation
            condition.lock()
            enqueue(request)
            self.leaderQueue = leaderQueue
            self.asyncRunBatch = runBatch
            let schedule = !leaderActive && !asyncLeaderScheduled
            if schedule { asyncLeaderScheduled = true }
            condition.unlock()
            if schedule { scheduleLeader(on: leaderQueue, runBatch: runBatch) }
        }
        return try result.get()
    }

    /// Runs batches on `leaderQueue` while requests wait and no other leader is active.
    private func scheduleLeader(on leaderQueue: DispatchQueue, runBatch: @escaping @Sendable (Batch) -> Void) {
        leaderQueue.async { [self] in
            condition.lock()
            asyncLeaderScheduled = false
            while !leaderActive, !queue.isEmpty { leadOneBatch(runBatch) }
            condition.unlock()
        }
    }

    // Remembered (under the lock) so that a blocking leader can hand leftover async
    // requests to a new async leader when it finishes; dropped once no async request waits,
    // so the closure (which holds the store) does not keep the store alive.
    private var leaderQueue: DispatchQueue?
    private var asyncRunBatch: (@Sendable (Batch) -> Void)?

    /// Queues a request (the lock held), waking a gathering leader.
    private func enqueue(_ request: Request) {
        queue.append(request)
        if leaderGathering { arrival.signal() }
    }

    /// Leads one batch: takes up to `maximumBatch` waiting requests, runs them (and those
    /// it gathers) with the lock released, then marks them done and resumes their async
    /// waiters. Called, and returns, with the lock held and no other leader active.
    private func leadOneBatch(_ runBatch: (Batch) -> Void) {
        leaderActive = true
        let started = DispatchTime.now().uptimeNanoseconds
        let first = take(upTo: maximumBatch)
        let expected = min(writersAtLastCommit, maximumBatch)
        let deadline = started &+ min(previousBatchNanoseconds / 2, maximumGatherNanoseconds)
        condition.unlock()
        let batch = Batch(first, mayGrow: expected > 1) { [self] taken in gather(taken: taken, expected: expected, deadline: deadline) }
        runBatch(batch)
        let finished = DispatchTime.now().uptimeNanoseconds
        condition.lock()
        writersAtLastCommit = batch.requests.count + queue.count
        previousBatchNanoseconds = finished &- started
        let resumptions = finish(batch.requests)
        condition.unlock()
        resumptions.resume()
        batch.afterCallersWoken?()
        condition.lock()
    }

    /// The requests a batch of `taken` takes now (called by its leader, the lock released):
    /// what is queued, after waiting until something is or `deadline` passes while the batch
    /// is below `expected`. Empty once the batch is complete: the leader then commits.
    private func gather(taken: Int, expected: Int, deadline: UInt64) -> [Request] {
        condition.lock()
        defer { condition.unlock() }
        guard taken < expected else { return [] }
        leaderGathering = true
        defer { leaderGathering = false }
        let spinUntil = DispatchTime.now().uptimeNanoseconds &+ Self.spinNanoseconds
        while queue.isEmpty {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { return [] }
            if now < spinUntil {
                condition.unlock()
                PlatformThread.yield()
                condition.lock()
            } else {
                _ = arrival.wait(seconds: Double(deadline - now) / 1e9)
            }
        }
        return take(upTo: maximumBatch - taken)
    }

    /// Removes and returns up to `limit` requests from the head of the queue (the lock held).
    private func take(upTo limit: Int) -> [Request] {
        let taken = Array(queue.prefix(limit))
        queue.removeFirst(taken.count)
        return taken
    }

    /// Marks a batch done (the lock held), wakes blocking callers, and returns the `async`
    /// callers to resume once the lock is released. Hands waiting `async` requests to a new
    /// async leader when no blocking caller is there to lead.
    private func finish(_ batch: [Request]) -> Resumptions {
        leaderActive = false
        var resumptions = Resumptions()
        for member in batch {
            member.isDone = true
            if let continuation = member.continuation {
                member.continuation = nil
                resumptions.items.append((continuation,
                                          member.result ?? .failure(.internal("a group-commit batch ended without a result"))))
            }
        }
        condition.broadcast()
        if queue.contains(where: { $0.continuation != nil }) {
            if !asyncLeaderScheduled, let leaderQueue, let asyncRunBatch {
                asyncLeaderScheduled = true
                resumptions.reschedule = { [self] in scheduleLeader(on: leaderQueue, runBatch: asyncRunBatch) }
            }
        } else if !asyncLeaderScheduled {
            asyncRunBatch = nil
        }
        return resumptions
    }

    /// Continuations to resume, and a leader to schedule, outside the lock.
    struct Resumptions {
        var items: [(CheckedContinuation<Result<Output, TallyError>, Never>, Result<Output, TallyError>)] = []
        var reschedule: (() -> Void)?

        func resume() {
            for (continuation, result) in items { continuation.resume(returning: result) }
            reschedule?()
        }
    }
}
