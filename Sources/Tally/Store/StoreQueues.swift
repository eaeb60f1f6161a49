import Dispatch

/// The threads `async` calls run their blocking work on, so that no task ever blocks a
/// thread of Swift's cooperative pool on a lock, an fsync or a busy database.
///
/// - Writes run on one serial queue: the writer connection serializes them anyway, so one
///   thread is enough and many waiting tasks cost no threads at all.
/// - Reads run on a concurrent queue, admitted by an ``AsyncGate`` with as many places as
///   the store has reader connections: a task waiting for a reader is suspended, not
///   parked on a thread, so thousands of concurrent reads never exhaust the pool.
final class StoreQueues: Sendable {
    let writer = DispatchQueue(label: "tally.writer", qos: .userInitiated)
    let reader = DispatchQueue(label: "tally.reader", qos: .userInitiated, attributes: .concurrent)
    let readerGate: AsyncGate

    init(readers: Int) {
        readerGate = AsyncGate(places: max(1, readers))
    }

    /// Runs blocking write work on the writer queue and returns its result, suspending the
    /// task meanwhile. Once started, the work runs to the end: a durable write cannot be
    /// half-cancelled.
    func write<T>(_ work: @escaping @Sendable () throws(TallyError) -> T) async throws(TallyError) -> T {
        try await Self.run(on: writer, work)
    }

    /// ``write(_:)`` for work whose errors are not only Tally's (a caller's closure runs in it).
    func writeRethrowing<T>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        let box = await withCheckedContinuation { (continuation: CheckedContinuation<AnyResultBox<T>, Never>) in
            writer.async { continuation.resume(returning: AnyResultBox(Result { try work() })) }
        }
        return try box.result.get()
    }

    /// Runs blocking read work on a reader thread, at most as many at once as the store has
    /// reader connections.
    func read<T>(_ work: @escaping @Sendable () throws(TallyError) -> T) async throws(TallyError) -> T {
        await readerGate.enter()
        defer { readerGate.leave() }
        return try await Self.run(on: reader, work)
    }

    private static func run<T>(on queue: DispatchQueue, _ work: @escaping @Sendable () throws(TallyError) -> T) async throws(TallyError) -> T {
        let box = await withCheckedContinuation { (continuation: CheckedContinuation<ResultBox<T>, Never>) in
            queue.async {
                continuation.resume(returning: ResultBox(Result { () throws(TallyError) -> T in try work() }))
            }
        }
        return try box.result.get()
    }
}

/// Carries a result that need not be `Sendable` across the continuation (the value was made
/// on one thread and is handed to exactly one other, never shared).
struct ResultBox<T>: @unchecked Sendable {
    let result: Result<T, TallyError>
    init(_ result: Result<T, TallyError>) { self.result = result }
}

/// An asynchronous semaphore: at most `places` holders at once; others wait suspended, in
/// arrival order.
final class AsyncGate: @unchecked Sendable {
    private let lock = PlatformLock()
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(places: Int) {
        free = places
    }

    /// Waits for a place.
    func enter() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted: Bool = lock.withLock {
                if free > 0 {
                    free -= 1
                    return true
                }
                waiting.append(continuation)
                return false
            }
            if admitted { continuation.resume() }
        }
    }

    /// Gives the place back (to the longest waiter, if any).
    func leave() {
        let next: CheckedContinuation<Void, Never>? = lock.withLock {
            if waiting.isEmpty {
                free += 1
                return nil
            }
            return waiting.removeFirst()
        }
        next?.resume()
    }
}
