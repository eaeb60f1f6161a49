import Foundation
import Testing
@testable import Tally

/// The two-stage pipeline behind import, export and the mirror.
@Suite("Batch hand-over: each batch comes back in order with its work done, and nothing outlives the pipeline")
struct BatchHandOverTests {
    /// A batch whose work records that it ran, and on which thread.
    final class Batch: @unchecked Sendable {
        let number: Int
        var worked = false
        var thread: ObjectIdentifier?
        init(_ number: Int) { self.number = number }
    }

    @Test("submit returns the batch before, its work done on another thread; finish returns the last")
    func inOrder() {
        let order = Locked<[Int]>([])
        let handOver = BatchHandOver<Batch>(label: "test.handover") { batch in
            batch.thread = ObjectIdentifier(Thread.current)
            batch.worked = true
            order.withLock { $0.append(batch.number) }
        }
        var returned: [Batch] = []
        for number in 1...5 {
            if let previous = handOver.submit(Batch(number)) { returned.append(previous) }
        }
        #expect(returned.map(\.number) == [1, 2, 3, 4])
        if let last = handOver.finish() { returned.append(last) }
        #expect(returned.map(\.number) == [1, 2, 3, 4, 5])
        let caller = ObjectIdentifier(Thread.current)
        #expect(returned.filter { !$0.worked || $0.thread == caller }.isEmpty)
        #expect(order.withLock { $0 } == [1, 2, 3, 4, 5])
        #expect(handOver.finish() == nil)
    }

    @Test("releasing the pipeline with a batch in flight waits for its work")
    func releaseWaits() {
        let batch = Batch(1)
        do {
            let handOver = BatchHandOver<Batch>(label: "test.handover") { batch in
                Thread.sleep(forTimeInterval: 0.2)
                batch.worked = true
            }
            #expect(handOver.submit(batch) == nil)
        }
        #expect(batch.worked)
    }

    @Test("when no thread can be started, each batch's work runs on the calling thread and it comes back once, in order")
    func noThread() {
        let handOver = BatchHandOver<Batch>(label: "test.handover", startThread: { _, _ in false }) { batch in
            batch.thread = ObjectIdentifier(Thread.current)
            batch.worked = true
        }
        var returned: [Batch] = []
        for number in 1...3 {
            if let done = handOver.submit(Batch(number)) { returned.append(done) }
        }
        if let last = handOver.finish() { returned.append(last) }
        #expect(returned.map(\.number) == [1, 2, 3])
        let caller = ObjectIdentifier(Thread.current)
        #expect(returned.allSatisfy { $0.worked && $0.thread == caller })
    }
}
