import Foundation
import Testing
@testable import Tally

/// The group committer on its own: callers on real threads, a fake batch runner that takes
/// a fixed time to "commit", and a record of every batch it was given.
@Suite("Group commit: batches gather the callers the last commit woke, and never wait for a lone one")
struct GroupCommitterTests {
    /// What a batch runner saw: how many requests the batch ended with, and whether it could grow.
    struct Seen: Sendable {
        let size: Int
        let mayGrow: Bool
    }

    /// A committer with a generous gathering window (the default caps it at 2 ms; a loaded
    /// test machine must still wake the callers in time: up to 500 ms here) and a fake batch
    /// runner that records every batch it is given.
    final class Harness: @unchecked Sendable {  // `seen` is guarded by `lock`
        let committer = GroupCommitter(maximumGatherNanoseconds: 500_000_000)
        private let lock = NSLock()
        private var seen: [Seen] = []

        /// Every batch so far, in the order they committed.
        var batches: [Seen] { lock.withLock { seen } }

        /// `callers` threads, each submitting `submissions` requests one after the other
        /// (caller `n` starting after `startSeconds(n)` and pausing `pauseSeconds(n)` after
        /// each of its requests returns), each batch run (every request and every one
        /// gathered) and then "committed" by sleeping `commitSeconds`.
        func submit(callers: Int, submissions: Int, commitSeconds: Double,
                    startSeconds: @escaping @Sendable (Int) -> Double = { _ in 0 },
                    pauseSeconds: @escaping @Sendable (Int) -> Double = { _ in 0 }) async throws {
            let runBatch: @Sendable (GroupCommitter.Batch) -> Void = { [self] batch in
                var next = batch.requests
                while !next.isEmpty {
                    for request in next { request.result = .success([]) }
                    next = batch.more()
                }
                Thread.sleep(forTimeInterval: commitSeconds)
                lock.withLock { seen.append(Seen(size: batch.requests.count, mayGrow: batch.mayGrow)) }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for caller in 0..<callers {
                    group.addTask { [committer] in
                        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                            Thread.detachNewThread {
                                do {
                                    let pause = pauseSeconds(caller)
                                    let start = startSeconds(caller)
                                    if start > 0 { Thread.sleep(forTimeInterval: start) }
                                    for _ in 0..<submissions {
                                        _ = try committer.submit({ _, _ throws(TallyError) in [] }, runBatch: runBatch)
                                        if pause > 0 { Thread.sleep(forTimeInterval: pause) }
                                    }
                                    continuation.resume()
                                } catch {
                                    continuation.resume(throwing: error)
                                }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test("four synchronous callers settle into batches of four (without gathering they alternate one and three)")
    func fourCallersBatchTogether() async throws {
        // Without gathering, about one batch in fifty holds all four. The 200 ms "commit"
        // gives a 100 ms window: callers must come back within it even while the rest of
        // the test suite keeps both cores busy (a 20 ms window failed that way once).
        let harness = Harness()
        try await harness.submit(callers: 4, submissions: 10, commitSeconds: 0.2)
        let batches = harness.batches
        #expect(batches.map(\.size).reduce(0, +) == 40)
        let full = batches.filter { $0.size == 4 }.count
        #expect(full * 2 >= batches.count, "batch sizes: \(batches.map(\.size))")
    }

    @Test("a caller that once missed a batch is not left one behind for good (four callers do not lock into threes)")
    func missedCallerCatchesUp() async throws {
        // Caller 0 commits alone first; callers 1-3 queue during that commit and form the
        // second batch, and caller 0's next request (10 ms after its return) queues during
        // theirs. From then on the callers come back 10, 20, 30 and 40 ms after each commit,
        // well inside the 100 ms window. Gathering only towards the last batch's size, every
        // batch takes the queued request and the next two to return, closes on three and
        // leaves the last caller to queue again: batch sizes 1, 3, 3, 3, ... to the end.
        let harness = Harness()
        try await harness.submit(callers: 4, submissions: 8, commitSeconds: 0.2,
                                 startSeconds: { caller in caller == 0 ? 0 : 0.02 + 0.01 * Double(caller) },
                                 pauseSeconds: { caller in 0.01 * Double(caller + 1) })
        let sizes = harness.batches.map(\.size)
        #expect(sizes.reduce(0, +) == 32)
        // Counting the requests queued at each commit, the second batch expects all four
        // and waits for caller 0; from there on every batch is full.
        #expect(sizes.filter { $0 == 4 }.count >= 6, "batch sizes: \(sizes)")
    }

    @Test("a lone caller's batches never wait for company")
    func loneCallerNeverGathers() async throws {
        let harness = Harness()
        try await harness.submit(callers: 1, submissions: 10, commitSeconds: 0.001)
        let batches = harness.batches
        #expect(batches.count == 10)
        #expect(batches.allSatisfy { $0.size == 1 && !$0.mayGrow }, "\(batches)")
    }

    @Test("when callers go away, the one left waits for them once, then commits alone at once")
    func departedCallersCostOneWindow() async throws {
        let harness = Harness()
        try await harness.submit(callers: 4, submissions: 10, commitSeconds: 0.01)
        let together = harness.batches.count
        try await harness.submit(callers: 1, submissions: 5, commitSeconds: 0.01)
        let alone = Array(harness.batches.dropFirst(together))
        #expect(alone.count == 5)
        #expect(alone.allSatisfy { $0.size == 1 })
        // Only the first may wait (it expects the four of the last batch); after it, none.
        #expect(alone.dropFirst().allSatisfy { !$0.mayGrow }, "\(alone)")
    }

    @Test("a request that fails inside a gathered batch fails alone; the others commit", arguments: Backend.available)
    func gatheredFailureFailsAlone(backend: Backend) async throws {
        let stores = TestStores(backend)
        let store = try stores.store("gathered")
        let outcomes = try await withThrowingTaskGroup(of: [String].self) { group in
            for caller in 0..<4 {
                group.addTask {
                    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[String], Error>) in
                        Thread.detachNewThread {
                            var outcomes: [String] = []
                            for index in 0..<40 {
                                do {
                                    if caller == 0 && index % 4 == 3 {
                                        // Valid on its own; refused inside the batch (stale stream version).
                                        try store.ledger.append(stream: "s0", kind: "bad", expectedStreamVersion: 0)
                                        outcomes.append("stale append accepted")
                                    } else {
                                        try store.ledger.append(stream: "s\(caller)", kind: "charge", amount: Int64(index), currency: "EUR")
                                    }
                                } catch TallyError.conflict where caller == 0 && index % 4 == 3 {
                                } catch {
                                    outcomes.append("\(error)")
                                }
                            }
                            continuation.resume(returning: outcomes)
                        }
                    }
                }
            }
            var all: [String] = []
            for try await outcome in group { all += outcome }
            return all
        }
        #expect(outcomes.isEmpty, "\(outcomes)")
        let report = try store.ledger.verifyChain()
        #expect(report.isIntact)
        #expect(report.eventsChecked == 150)
        for caller in 0..<4 {
            #expect(try store.ledger.streamVersion("s\(caller)") == (caller == 0 ? 30 : 40))
        }
    }
}
