import Foundation
import Testing
@testable import Tally

/// A consumer process that keeps a projection in state documents, killed with SIGKILL at
/// random moments while writers go on: the projection never counts an event twice and
/// never skips one, because each batch's writes and the position commit together.
@Suite("Reliability: a consumer killed at random moments applies every event exactly once", .serialized)
struct ConsumerKillTests {
    let directory = TemporaryDirectory("tally-consumer-kill")

    @Test("kill -9 the consumer again and again while events are appended; the projection matches the ledger")
    func killLoop() throws {
        let kills = CrashRecoveryTests.stress ? 1_000 : 50
        var (generator, _) = SeededGenerator.announced("consumer kill loop", "\(kills) kills")
        let path = directory.file("consume.db")
        let store = try Store(path: path)

        // The writer stops after 20 events per planned kill, so the consumer (killed every
        // ~60 ms) can catch up with the head at any scale instead of falling further behind.
        let maximumEvents = kills * 20
        let writing = Locked(true)
        let writer = Thread {
            var index = 0
            while writing.withLock({ $0 }) && index < maximumEvents {
                _ = try? store.ledger.append(stream: "w", kind: "charge", amount: Int64(index % 97 + 1), currency: "EUR")
                index += 1
                usleep(500)
            }
        }
        writer.start()
        defer { writing.withLock { $0 = false } }

        var positions: [Int64] = []
        for _ in 0..<kills {
            let child = try ChildProcess.start(["consume-loop", path])
            usleep(UInt32.random(in: 5_000...120_000, using: &generator))
            kill(child.process.processIdentifier, SIGKILL)
            child.process.waitUntilExit()
            positions.append(try check(store))
        }
        writing.withLock { $0 = false }
        while writer.isExecuting { usleep(1_000) }
        // A last run to the head, then the projection covers the whole ledger.
        let finisher = try ChildProcess.start(["consume-loop", path])
        let head = try store.ledger.head().seq
        while try store.consumers().first?.position ?? 0 < head { usleep(10_000) }
        kill(finisher.process.processIdentifier, SIGKILL)
        finisher.process.waitUntilExit()
        #expect(try check(store) == head)
        #expect(positions.last ?? 0 > 0, "the consumer never got anywhere: \(positions)")
        print("consumer kill loop: \(kills) kills, positions \(positions.first ?? 0)…\(positions.last ?? 0), head \(head)")
    }

    /// The projection equals the ledger up to the consumer's position: count, sum, last seq,
    /// and no out-of-order event recorded. Returns the position.
    private func check(_ store: Store) throws -> Int64 {
        let position = try store.consumers().first { $0.name == "projection" }?.position ?? 0
        let totals = try store.state.get("proj/totals")?.body ?? ["count": 0, "sum": 0, "last": 0]
        var events = store.ledger.events(through: position)
        var sum = 0
        while let event = try events.next() { sum += Int(event.amount ?? 0) }
        #expect(totals["count"]?.intValue == Int(position), "count \(totals) vs position \(position)")
        #expect(totals["last"]?.intValue == Int(position))
        #expect(totals["sum"]?.intValue == sum, "sum \(totals) vs ledger \(sum) through \(position)")
        #expect(try store.state.count() == 1 || position == 0, "violations recorded")
        return position
    }
}
