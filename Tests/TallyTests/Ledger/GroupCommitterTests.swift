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

    final class Recorder: @unchecked Sendable {  // guarded by `lock`
        private let lock = NSLock()
        private var seen: [Seen] = []
        func add(_ batch: Seen) { lock.withLock { seen.append(batch) } }
        var batches: [Seen] { lock.withLock { seen } }
    }

    /// Runs every request it is given (and every one gathered), then "commits" by sleeping.
    private static func runner(commitSeconds: Double, recorder: Recorder) -> (GroupCommitter.Batch) -> Void {
        { batch in
            var next = batch.requests
            while !next.isEmpty {
                for request in next { request.result = .success([]) }
                next = batch.more()
            }
            Thread.sleep(forTimeInterval: commitSeconds)
            recorder.add(Seen(size: batch.requests.count, mayGrow: batch.mayGrow))
        }
    }

    /// `callers` threads, each submitting `submissions` requests one after the other.
    private static func submit(to committer: GroupCommitter, callers: Int, submissions: Int,
                               commitSeconds: Double, recorder: Recorder) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<callers {
                group.addTask {
                    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                        Thread.detachNewThread {
                            do {
                                for _ in 0..<submissions {
                                    _ = try committer.submit({ _, _ throws(TallyError) in [] }, runBatch: runner(commitSeconds: commitSeconds, recorder: recorder))
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

    @Test("four synchronous callers settle into batches of four (without gathering they alternate one and three)")
    func fourCallersBatchTogether() async throws {
        // A generous window (half of a 40 ms commit) so a loaded test machine still wakes
        // the callers in time; the default caps it at 2 ms. Without gathering, about one
        // batch in fifty holds all four.
        let committer = GroupCommitter(maximumGatherNanoseconds: 50_000_000)
        let recorder = Recorder()
        try await Self.submit(to: committer, callers: 4, submissions: 25, commitSeconds: 0.04, recorder: recorder)
        let batches = recorder.batches
        #expect(batches.map(\.size).reduce(0, +) == 100)
        let full = batches.filter { $0.size == 4 }.count
        #expect(full * 2 >= batches.count, "batch sizes: \(batches.map(\.size))")
    }

    @Test("a lone caller's batches never wait for company")
    func loneCallerNeverGathers() async throws {
        let committer = GroupCommitter(maximumGatherNanoseconds: 50_000_000)
        let recorder = Recorder()
        try await Self.submit(to: committer, callers: 1, submissions: 10, commitSeconds: 0.001, recorder: recorder)
        let batches = recorder.batches
        #expect(batches.count == 10)
        #expect(batches.allSatisfy { $0.size == 1 && !$0.mayGrow }, "\(batches)")
    }

    @Test("when callers go away, the one left waits for them once, then commits alone at once")
    func departedCallersCostOneWindow() async throws {
        let committer = GroupCommitter(maximumGatherNanoseconds: 50_000_000)
        let recorder = Recorder()
        try await Self.submit(to: committer, callers: 4, submissions: 10, commitSeconds: 0.01, recorder: recorder)
        let together = recorder.batches.count
        try await Self.submit(to: committer, callers: 1, submissions: 5, commitSeconds: 0.01, recorder: recorder)
        let alone = Array(recorder.batches.dropFirst(together))
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
