import Foundation
import Logging
import Tally

/// Tally through its public API only, as an application would call it.
public enum TallyPeer {
    /// Opens (creating and migrating) a store at the given `PRAGMA synchronous` level, its
    /// info logs quieted. The public API does not hand out the writer connection, so the
    /// level is the configuration's (Tally applies it to every connection it opens); the
    /// other peers' levels are read back with `PRAGMA synchronous`.
    public static func open(_ path: String, synchronous: Store.Configuration.Synchronous, readOnly: Bool = false) throws -> Store {
        var configuration = Store.Configuration()
        configuration.synchronous = synchronous
        configuration.readOnly = readOnly
        var logger = Logger(label: "tally-bench")
        logger.logLevel = .warning
        configuration.logger = logger
        if Synchronous.keepMemoryStatistics { Store.keepsSQLiteMemoryStatistics = true }
        if Synchronous.checkpointOnCommit { configuration.walCheckpointing = .onCommit(pages: 1_000) }
        if Synchronous.experimentalCacheKiB != nil {
            try? FileHandle.standardError.write(contentsOf: Data("note: TALLY_BENCH_CACHE_KIB is not applied to Tally (its connections are not public)\n".utf8))
        }
        return try Store(path: path, configuration: configuration)
    }

    /// W1: `ledger.append(contentsOf:)` per batch (one transaction each).
    public static func appendBatches(_ store: Store, _ batches: [[NewEvent]]) throws {
        for batch in batches { try store.ledger.append(contentsOf: batch) }
    }

    /// W2: one `ledger.append` (one durable transaction) per event.
    public static func appendEach(_ store: Store, _ events: [NewEvent]) throws {
        for event in events { try store.ledger.append(event) }
    }

    /// W3: `store.write { tx.state.put … }` per batch.
    public static func putBatches(_ store: Store, _ documents: [Document], batch: Int) throws {
        var start = 0
        while start < documents.count {
            let end = min(start + batch, documents.count)
            try store.write { tx in
                for document in documents[start..<end] {
                    try tx.state.put(document.key, body: document.body, status: .set(DocumentData.status))
                }
            }
            start = end
        }
    }

    /// W5: `writers` threads, each calling `ledger.append` for its own events; the store's
    /// group commit batches what arrives together.
    public static func concurrentAppends(_ store: Store, _ perWriter: [[NewEvent]]) throws {
        try Threads.run(perWriter.count) { index in
            for event in perWriter[index] { try store.ledger.append(event) }
        }
    }
}

extension TallyPeer {
    /// W5 async: `tasks` tasks on the cooperative pool, each appending a contiguous share of
    /// every writer's events with `await store.ledger.append` (each stream's events stay in
    /// order within a task). The calling thread waits for all of them.
    public static func asyncAppends(_ store: Store, tasks: Int, _ perWriter: [[NewEvent]]) throws {
        let shares: [[NewEvent]] = perWriter.flatMap { events -> [[NewEvent]] in
            let perTask = Swift.max(1, (events.count + tasks / perWriter.count - 1) / Swift.max(1, tasks / perWriter.count))
            return stride(from: 0, to: events.count, by: perTask).map { Array(events[$0..<Swift.min($0 + perTask, events.count)]) }
        }
        let failure = AsyncFailure()
        let done = DispatchSemaphore(value: 0)
        Task {
            await withTaskGroup(of: Void.self) { group in
                for share in shares {
                    group.addTask {
                        do { for event in share { try await store.ledger.append(event) } } catch { failure.set(error) }
                    }
                }
            }
            done.signal()
        }
        done.wait()
        if let error = failure.error { throw error }
    }

    private final class AsyncFailure: @unchecked Sendable {
        private let lock = NSLock()
        private var first: (any Error)?
        var error: (any Error)? { lock.lock(); defer { lock.unlock() }; return first }
        func set(_ error: any Error) { lock.lock(); if first == nil { first = error }; lock.unlock() }
    }
}

/// Runs `count` OS threads (not a pool sized to the 2 cores) and rethrows the first error.
public enum Threads {
    private final class Failures: @unchecked Sendable {
        let lock = NSLock()
        var errors: [any Error] = []
        func add(_ error: any Error) { lock.lock(); errors.append(error); lock.unlock() }
    }

    public static func run(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws {
        let failures = Failures()
        let group = DispatchGroup()
        for index in 0..<count {
            group.enter()
            let thread = Thread {
                do { try body(index) } catch { failures.add(error) }
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
        if let first = failures.errors.first { throw first }
    }
}

/// Every peer's writer is checked to run at the `PRAGMA synchronous` level its workload names
/// (Tally's cannot be read back through its public API; see `TallyPeer.open`).
enum Synchronous {
    /// `TALLY_BENCH_CACHE_KIB`: a `PRAGMA cache_size` for every peer's writer, for
    /// experiments only; unset in the published runs (SQLite's default, 2 MiB).
    static let experimentalCacheKiB: Int? = ProcessInfo.processInfo.environment["TALLY_BENCH_CACHE_KIB"].flatMap { Int($0) }

    /// `TALLY_BENCH_CHECKPOINT=commit`: Tally checkpoints on the committing writer as the
    /// other peers do (SQLite's automatic checkpoint) instead of on its own thread, for the
    /// comparison in Profiles/README.md; unset in the published runs.
    static let checkpointOnCommit = ProcessInfo.processInfo.environment["TALLY_BENCH_CHECKPOINT"] == "commit"

    /// `TALLY_BENCH_MEMSTATUS=keep`: Tally leaves SQLite's memory statistics on, as the
    /// other peers do (SQLite's default), to measure what turning them off gives; unset in
    /// the published runs.
    static let keepMemoryStatistics = ProcessInfo.processInfo.environment["TALLY_BENCH_MEMSTATUS"] == "keep"

    static func check(_ level: Int64, expected: String, peer: String) throws {
        let names: [Int64: String] = [0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"]
        guard names[level] == expected.uppercased() else {
            throw PeerError("\(peer): synchronous is \(names[level] ?? String(level)), expected \(expected)")
        }
    }
}
