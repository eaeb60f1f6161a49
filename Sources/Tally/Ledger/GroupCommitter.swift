import Foundation

/// Batches concurrent write requests into one transaction: one fsync for many callers.
///
/// The first caller to arrive while no batch is running becomes the leader: it takes every
/// queued request, runs them in one `BEGIN IMMEDIATE` transaction with a savepoint per
/// request (so a bad request fails alone and the others commit), commits, and only then
/// wakes the callers with their results. Requests that arrive during that commit queue up
/// and form the next batch. A caller therefore returns only after the commit holding its
/// work is durable.
final class GroupCommitter: @unchecked Sendable {
    /// One caller's unit of work, run on the writer connection inside the batch transaction.
    final class Request {
        let work: (Connection) throws -> [LedgerEvent]
        var result: Result<[LedgerEvent], any Error>?
        var isDone = false

        init(work: @escaping (Connection) throws -> [LedgerEvent]) {
            self.work = work
        }
    }

    private let condition = NSCondition()
    private var queue: [Request] = []
    private var leaderActive = false
    /// Most requests in one transaction, to bound the latency of the first of them.
    private let maximumBatch: Int

    init(maximumBatch: Int = 1024) {
        self.maximumBatch = maximumBatch
    }

    /// Runs `work` in the next batch and returns its result once that batch has committed.
    /// `runBatch` receives the requests of a batch and must commit or fail them all.
    func submit(_ work: @escaping (Connection) throws -> [LedgerEvent],
                runBatch: ([Request]) -> Void) throws -> [LedgerEvent] {
        let request = Request(work: work)
        condition.lock()
        queue.append(request)
        while !request.isDone {
            if leaderActive {
                condition.wait()
                continue
            }
            leaderActive = true
            let batch = Array(queue.prefix(maximumBatch))
            queue.removeFirst(batch.count)
            condition.unlock()
            runBatch(batch)
            condition.lock()
            leaderActive = false
            for member in batch { member.isDone = true }
            condition.broadcast()
        }
        condition.unlock()
        guard let result = request.result else {
            throw TallyError.invalidInput(field: "append", reason: "the batch ended without a result; please report this bug")
        }
        return try result.get()
    }
}
