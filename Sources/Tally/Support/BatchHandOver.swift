import Dispatch

/// A two-stage pipeline for the bulk operations (import, export, the mirror): the calling
/// thread hands batches to `work`, which runs on a serial queue of its own one batch ahead,
/// and gets each batch back, its work done, when it hands over the next.
///
/// The calling thread keeps everything that must stay on it (the database connection, the
/// caller's closures) and the queue gets what depends on the batch alone, so the two use two
/// cores. Ownership passes by hand-over, never shared: a batch belongs to `work` from
/// ``submit(_:)`` until it is returned, and `work` touches nothing else the caller uses.
/// Nothing outlives the pipeline: releasing it waits for the batch still in flight, so an
/// operation that throws half-way has stopped its second stage before it returns.
final class BatchHandOver<Batch: Sendable> {
    private let queue: DispatchQueue
    private let work: @Sendable (Batch) -> Void
    private var inFlight: (batch: Batch, done: DispatchSemaphore)?

    /// - Parameters:
    ///   - label: The queue's label (shown in debuggers and profiles).
    ///   - work: What the second stage does with each batch, in submission order.
    init(label: String, work: @escaping @Sendable (Batch) -> Void) {
        queue = DispatchQueue(label: label, qos: .userInitiated)
        self.work = work
    }

    /// Hands `batch` to the second stage and returns the batch handed over before it once
    /// its work is done (nil for the first).
    func submit(_ batch: Batch) -> Batch? {
        let done = DispatchSemaphore(value: 0)
        let work = self.work
        queue.async {
            work(batch)
            done.signal()
        }
        let previous = inFlight
        inFlight = (batch, done)
        previous?.done.wait()
        return previous?.batch
    }

    /// Waits for the batch in flight and returns it (nil when there is none).
    func finish() -> Batch? {
        guard let last = inFlight else { return nil }
        inFlight = nil
        last.done.wait()
        return last.batch
    }

    deinit {
        inFlight?.done.wait()
    }
}
