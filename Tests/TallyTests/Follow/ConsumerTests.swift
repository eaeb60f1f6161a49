import Foundation
import Testing
@testable import Tally

/// Durable consumers: a stored position, exactly-once projections through `process`,
/// at-least-once `deliver`, one run at a time, and positions that travel with snapshots.
@Suite("Consumers: positions are durable, projections exactly once, one run at a time")
struct ConsumerTests {
    let directory = TemporaryDirectory("tally-consumer")

    private func store(_ stores: TestStores, _ name: String = "c", events: Int = 0) throws -> Store {
        let store = try stores.store(name)
        try append(events, to: store)
        return store
    }

    private func append(_ count: Int, to store: Store, from start: Int = 0) throws {
        guard count > 0 else { return }
        try store.ledger.append(contentsOf: (start..<(start + count)).map {
            NewEvent(stream: "customer/\($0 % 4)", kind: $0 % 5 == 0 ? "refund" : "charge", amount: Int64($0 + 1), currency: "EUR")
        })
    }

    /// The README's projection: per-customer totals as state documents.
    private func project(_ event: LedgerEvent, _ tx: Transaction) throws {
        let key = "totals/\(event.stream)"
        let current = try tx.state.get(key)?.body["total"]?.intValue ?? 0
        try tx.state.put(key, body: ["total": .number(Double(current + Int(event.amount ?? 0)))])
    }

    private func totals(_ store: Store) throws -> [String: Int] {
        var cursor = store.state.list(prefix: "totals/")
        var result: [String: Int] = [:]
        while let document = try cursor.next() { result[document.key] = document.body["total"]?.intValue }
        return result
    }

    private func expectedTotals(_ store: Store, through seq: Int64) throws -> [String: Int] {
        var cursor = store.ledger.events(through: seq)
        var result: [String: Int] = [:]
        while let event = try cursor.next() { result["totals/\(event.stream)", default: 0] += Int(event.amount ?? 0) }
        return result
    }

    @Test("process: a projection over every event, resumed after more commits, equals a recomputation", arguments: Backend.available)
    func projection(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try store(stores, events: 300)
        let consumer = try store.consumer("customer-totals")
        #expect(try consumer.position() == 0)
        #expect(try consumer.process(batchSize: 50, project) == 300)
        #expect(try consumer.position() == 300)
        try append(120, to: store, from: 300)
        #expect(try consumer.process(project) == 120)
        #expect(try totals(store) == expectedTotals(store, through: 420))
        #expect(try consumer.process(project) == 0)
    }

    @Test("a handler that throws rolls its batch back: position and projection stay before it", arguments: Backend.available)
    func throwingHandler(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try store(stores, events: 20)
        let consumer = try store.consumer("fails-at-13")
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try consumer.process(batchSize: 5) { event, tx in
                if event.seq == 13 { throw Boom() }
                try project(event, tx)
            }
        }
        #expect(try consumer.position() == 10)
        #expect(try totals(store) == expectedTotals(store, through: 10))
    }

    @Test("kinds and stream filters: handed only matching events, the position still reaches the head", arguments: Backend.available)
    func filtered(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try store(stores, events: 40)
        let refunds = try store.consumer("refunds", stream: "customer/0", kinds: ["refund"])
        var seen: [LedgerEvent] = []
        try refunds.process { event, _ in seen.append(event) }
        #expect(!seen.isEmpty && seen.allSatisfy { $0.kind == "refund" && $0.stream == "customer/0" })
        #expect(try refunds.position() == 40)
    }

    @Test("one run at a time: a second Consumer of the name is busy until the first is closed", arguments: Backend.available)
    func lease(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try store(stores, events: 1)
        let first = try store.consumer("single")
        let busy = try #require(throws: TallyError.self) { try store.consumer("single") }
        guard case let .consumerBusy(name, lockPath) = busy else { Issue.record("\(busy)"); return }
        #expect(name == "single" && (lockPath.hasSuffix("c.db-consumer-single.lock") || lockPath.contains("'tally consumer single'")))
        #expect(throws: TallyError.self) { try store.resetConsumer("single", to: 0) }
        #expect(throws: TallyError.self) { try store.removeConsumer("single") }
        #expect(try store.consumers().first?.isRunning == true)
        first.close()
        #expect(throws: TallyError.self) { try first.process { _, _ in } }
        let second = try store.consumer("single")
        #expect(try second.process { _, _ in } == 1)
    }

    @Test("deliver is at-least-once: the position moves after each batch; acknowledge moves it by hand", arguments: Backend.available)
    func deliver(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try store(stores, events: 10)
        let mailer = try store.consumer("mailer")
        var sent: [Int64] = []
        struct Crash: Error {}
        // A crash in the middle of a batch: the batch's position was not stored…
        #expect(throws: Crash.self) {
            try mailer.deliver(batchSize: 4) { event in
                sent.append(event.seq)
                if event.seq == 6 { throw Crash() }
            }
        }
        #expect(try mailer.position() == 4)
        // …so its events come again (5 and 6 twice: at least once).
        try mailer.deliver { event in sent.append(event.seq) }
        #expect(sent == [1, 2, 3, 4, 5, 6, 5, 6, 7, 8, 9, 10])
        #expect(try mailer.position() == 10)
        try append(5, to: store, from: 10)
        try mailer.acknowledge(through: 12)
        #expect(try mailer.position() == 12)
        #expect(throws: TallyError.self) { try mailer.acknowledge(through: 11) }
        #expect(throws: TallyError.self) { try mailer.acknowledge(through: 99) }
    }

    @Test("reset and remove: back to reprocess, never beyond the head; unknown names and bad names are refused", arguments: Backend.available)
    func resetAndRemove(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try store(stores, events: 8)
        try store.consumer("r").process { _, _ in }
        try store.resetConsumer("r", to: 3)
        #expect(try store.consumers().map(\.position) == [3])
        #expect(try store.consumers().first?.behind == 5)
        let beyond = try #require(throws: TallyError.self) { try store.resetConsumer("r", to: 9) }
        #expect(beyond.problem.contains("0…8"))
        try store.removeConsumer("r")
        #expect(try store.consumers().isEmpty)
        #expect(throws: TallyError.self) { try store.removeConsumer("r") }
        for bad in ["", ".hidden", "-flag", "a/b", "sp ace", String(repeating: "x", count: 65)] {
            #expect(throws: TallyError.self) { try store.consumer(bad) }
        }
        // The schema refuses a position beyond the head from any client.
        #expect(throws: TallyError.self) {
            try store.sql { db in try db.execute("UPDATE consumers SET position = 100") }
        }
    }

    @Test("snapshots carry positions: replace takes them, merge never moves a consumer back", arguments: Backend.available)
    func snapshots(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try store(stores, events: 10)
        try store.consumer("a").process { _, _ in }
        try store.resetConsumer("a", to: 7)
        #expect(throws: CancellationError.self) {
            try store.consumer("b").process(batchSize: 2) { event, _ in if event.seq == 4 { throw CancellationError() } }
        }
        let summary = try store.exportSnapshot(to: directory.file("s.jsonl"))
        #expect(summary.consumers == 2)

        let copy = try self.store(stores, "copy")
        let report = try copy.importSnapshot(from: directory.file("s.jsonl"))
        #expect(report.consumers == 2)
        #expect(try copy.consumers().map { "\($0.name)@\($0.position)" } == ["a@7", "b@2"])
        // The copy's consumer resumes where the original stopped.
        var resumed: [Int64] = []
        try copy.consumer("b").process { event, _ in resumed.append(event.seq) }
        #expect(resumed == Array(3...10))
        // Merging the older snapshot back does not move b back to 2.
        _ = try copy.importSnapshot(from: directory.file("s.jsonl"), mode: .merge)
        #expect(try copy.consumers().map(\.position) == [7, 10])
    }

    @Test("verify reports a consumer left ahead of a ledger whose tail was cut off")
    func verifyAhead() throws {
        let stores = TestStores(.sqlite)
        let store = try store(stores, events: 6)
        try store.consumer("ahead").process { _, _ in }
        try ReconcileFixture.tamper(store.path, "DELETE FROM ledger WHERE seq > 4", dropping: ["ledger_no_delete"])
        let report = try store.verify()
        #expect(report.findings.contains { $0.kind == .missing && $0.detail.contains("consumer 'ahead' is at seq 6") }, "\(report.findings)")
    }

    @Test("async process runs until cancelled, following new commits", arguments: Backend.available)
    func asyncProcess(backend: Backend) async throws {
        let stores = TestStores(backend)
        let store = try store(stores, events: 50)
        let consumer = try store.consumer("async")
        let runner = Task { try await consumer.process(batchSize: 8) { event, tx in try self.project(event, tx) } }
        try append(50, to: store, from: 50)
        for _ in 0..<200 where try consumer.position() < 100 { try await Task.sleep(for: .milliseconds(20)) }
        runner.cancel()
        try await runner.value
        #expect(try consumer.position() == 100)
        #expect(try totals(store) == expectedTotals(store, through: 100))
    }
}
