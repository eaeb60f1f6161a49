import Dispatch

/// A two-stage pipeline for the bulk operations (import, export, the mirror, reconcile):
/// the calling thread hands batches to `work`, which runs on a thread of its own one batch
/// ahead, and gets each batch back, its work done, when it hands over the next.
///
/// The calling thread keeps everything that must stay on it (the database connection, the
/// caller's closures) and the second thread gets what depends on the batch alone, so the
/// two use two cores. Ownership passes by hand-over, never shared: a batch belongs to `work`
/// from ``submit(_:)`` until it is returned, and `work` touches nothing else the caller uses.
/// Nothing outlives the pipeline: releasing it waits for the batch still in flight, so an
/// operation that throws half-way has stopped its second stage before it returns.
///
/// Why a thread and not a Dispatch queue: a queue's work item waits for a worker of the
/// process's Dispatch pool, which the application may keep busy. With the benchmark
/// harness's memory sampler (a work item that sleeps between samples, on a global queue)
/// every batch of an export waited for one: W4 took 95–107 ms an iteration instead of
/// 70–73 ms. If the system refuses a thread, the work runs on the calling thread instead.
final class BatchHandOver<Batch: Sendable> {
    /// What the two threads share: the batches handed over and not yet taken, and a count
    /// of the batches done.
    private final class Channel: @unchecked Sendable {  // every field under `lock`
        private let lock = PlatformLock()
        private var waiting: [Batch] = []
        private var closed = false
        /// One signal per batch handed over, and one when the channel closes.
        let handedOver = DispatchSemaphore(value: 0)
        /// One signal per batch whose work is done.
        let done = DispatchSemaphore(value: 0)

        func put(_ batch: Batch) {
            lock.withLock { waiting.append(batch) }
            handedOver.signal()
        }

        func close() {
            lock.withLock { closed = true }
            handedOver.signal()
        }

        /// The next batch, in order; nil once the channel is closed and empty.
        func take() -> Batch? {
            handedOver.wait()
            return lock.withLock { waiting.isEmpty ? nil : waiting.removeFirst() }
        }
    }

    private let channel = Channel()
    /// The work, when it runs on the calling thread (no second thread could be started).
    private let inline: (@Sendable (Batch) -> Void)?
    private var inFlight: Batch?

    /// - Parameters:
    ///   - label: The second thread's name (shown in debuggers on Darwin).
    ///   - startThread: Starts the second thread (tests pass one that refuses).
    ///   - work: What the second stage does with each batch, in submission order.
    init(label: String, startThread: (String, @escaping @Sendable () -> Void) -> Bool = PlatformThread.detach(named:_:),
         work: @escaping @Sendable (Batch) -> Void) {
        let channel = self.channel
        let started = startThread(label) {
            while let batch = channel.take() {
                work(batch)
                channel.done.signal()
            }
        }
        inline = started ? nil : work
    }

    /// Hands `batch` to the second stage and returns the batch handed over before it once
    /// its work is done (nil for the first).
    func submit(_ batch: Batch) -> Batch? {
        if let inline {
            inline(batch)
            return batch
        }
        channel.put(batch)
        let previous = inFlight
        inFlight = batch
        if previous != nil { channel.done.wait() }
        return previous
    }

    /// Waits for the batch in flight and returns it (nil when there is none).
    func finish() -> Batch? {
        guard let last = inFlight else { return nil }
        inFlight = nil
        channel.done.wait()
        return last
    }

    deinit {
        if inFlight != nil { channel.done.wait() }
        channel.close()
    }
}
