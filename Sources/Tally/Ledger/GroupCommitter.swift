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

    private let condition = PlatformCondition()
    private var queue: [Request] = []
    private var leaderActive = false
    private var asyncLeaderScheduled = false
    /// Most requests in one transaction, to bound the latency of the first of them.
    private let maximumBatch: Int

    init(maximumBatch: Int = 1024) {
        self.maximumBatch = maximumBatch
    }

    /// Runs `work` in the next batch and returns its result once that batch has committed.
    /// `runBatch` receives the requests of a batch and must set every result.
    func submit(_ work: @escaping Work, runBatch: ([Request]) -> Void) throws(TallyError) -> Output {
        let request = Request(work: work)
        condition.lock()
        queue.append(request)
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
                runBatch: @escaping @Sendable ([Request]) -> Void) async throws(TallyError) -> Output {
        let request = Request(work: work)
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Output, TallyError>, Never>) in
            request.continuation = continuation
            condition.lock()
            queue.append(request)
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
    private func scheduleLeader(on leaderQueue: DispatchQueue, runBatch: @escaping @Sendable ([Request]) -> Void) {
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
    private var asyncRunBatch: (@Sendable ([Request]) -> Void)?

    /// Marks a batch done (the lock held), wakes blocking callers, and returns the `async`
    /// callers to resume once the lock is released. Hands waiting `async` requests to a new
    /// async leader when no blocking caller is there to lead.
    /// Leads one batch: takes up to `maximumBatch` waiting requests, runs them with the lock
    /// released, then marks them done and resumes their async waiters. Called, and returns,
    /// with the lock held and no other leader active.
    private func leadOneBatch(_ runBatch: ([Request]) -> Void) {
        leaderActive = true
        let batch = Array(queue.prefix(maximumBatch))
        queue.removeFirst(batch.count)
        condition.unlock()
        runBatch(batch)
        condition.lock()
        let resumptions = finish(batch)
        condition.unlock()
        resumptions.resume()
        condition.lock()
    }

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
