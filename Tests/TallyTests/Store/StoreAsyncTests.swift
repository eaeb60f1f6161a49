import Foundation
import Testing
@testable import Tally

/// The `async` twins: many tasks at once share the store without blocking the cooperative
/// pool (it has as many threads as cores, two on CI), group-commit together with blocking
/// callers, and see errors as `TallyError`.
@Suite("Store async: a thousand concurrent tasks neither deadlock nor starve the cooperative pool")
struct StoreAsyncTests {
    let directory = TemporaryDirectory("tally-async")

    @Test("1,000 tasks append, put and read at once: every event lands once, in a valid chain", arguments: Backend.available)
    func manyTasks(backend: Backend) async throws {
        let stores = TestStores(backend)
        let store = try stores.store("a")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<1_000 {
                group.addTask {
                    switch index % 4 {
                    case 0, 1:
                        try await store.ledger.append(NewEvent(stream: "s/\(index % 10)", kind: "charge",
                                                               amount: 1, currency: "EUR", eventID: "e-\(index)"))
                    case 2:
                        try await store.state.put("docs/\(index)", body: ["n": .number(Double(index))])
                    default:
                        _ = try await store.read { tx in try tx.ledger.head() }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try store.ledger.head().seq == 500)
        #expect(try store.state.count() == 250)
        #expect(try store.ledger.verifyChain().isIntact)
        withExtendedLifetime(stores) {}
    }

    @Test("async and blocking appenders group-commit together; a bad request fails alone with a typed error", arguments: Backend.available)
    func mixedCallers(backend: Backend) async throws {
        let stores = TestStores(backend)
        let store = try stores.store("b")
        let blocking = Task.detached {
            for index in 0..<200 { try store.ledger.append(stream: "blocking", kind: "k", eventID: "b-\(index)") }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask { try await store.ledger.append(NewEvent(stream: "async", kind: "k", eventID: "a-\(index)")) }
            }
            try await group.waitForAll()
        }
        try await blocking.value
        do {
            try await store.ledger.append(NewEvent(stream: "", kind: "k"))
            Issue.record("an empty stream was accepted")
        } catch {
            #expect(error.problem.contains("stream"))  // `error` is a TallyError: typed throws
        }
        #expect(try store.ledger.head().seq == 400)
        #expect(try store.ledger.streamVersion("async") == 200)
        withExtendedLifetime(stores) {}
    }

    @Test("for try await pages through a cursor; an async write transaction commits ledger and state together")
    func cursorsAndTransactions() async throws {
        let store = try Store(path: directory.file("c.db"))
        try await store.write { tx in
            for index in 1...1_000 {
                let event = try tx.ledger.append(stream: "s", kind: "k", payload: ["i": .number(Double(index))])
                if index % 100 == 0 { try tx.state.put("every/\(index)", body: [:], causedBy: event) }
            }
        }
        var seen: Int64 = 0
        for try await event in store.ledger.events(pageSize: 64) {
            seen += 1
            #expect(event.seq == seen)
        }
        #expect(seen == 1_000)
        var documents = 0
        for try await document in store.state.list(prefix: "every/") { documents += document.ledgerSeq == nil ? 0 : 1 }
        #expect(documents == 10)
    }

    @Test("cancelling waiting tasks leaves the store usable and the chain intact")
    func cancellation() async throws {
        let store = try Store(path: directory.file("d.db"))
        let tasks = (0..<100).map { index in
            Task { try await store.ledger.append(NewEvent(stream: "s", kind: "k", eventID: "c-\(index)")) }
        }
        for task in tasks.prefix(50) { task.cancel() }
        var landed = 0
        for task in tasks { if (try? await task.value) != nil { landed += 1 } }
        // A cancelled append may or may not have been committed; what was committed is whole.
        #expect(try store.ledger.head().seq >= Int64(landed))
        #expect(try store.ledger.verifyChain().isIntact)
        try await store.ledger.append(NewEvent(stream: "s", kind: "after"))
    }

    @Test("export, import, mirror, reconcile, repair and verify have async twins that give the blocking calls' results")
    func wholeDatabaseOperations() async throws {
        let store = try Store(path: directory.file("e.db"))
        for index in 1...20 {
            try await store.ledger.append(stream: "s/\(index % 3)", kind: "charge", amount: Int64(index), currency: "EUR")
        }
        try await store.state.put("invoices/1", body: ["total": .number(12)])
        try await store.state.put("invoices/2", body: ["total": .number(30)])

        let snapshot = directory.file("e.tally")
        let exported = try await store.exportSnapshot(to: snapshot)
        #expect(exported.events == 20 && exported.documents == 2)

        let copy = try Store(path: directory.file("e-copy.db"))
        let imported = try await copy.importSnapshot(from: snapshot)
        #expect(imported.eventsAppended == 20)
        #expect(try copy.ledger.head() == store.ledger.head())

        let mirror = directory.file("e-mirror")
        let mirrored = try await store.mirror(to: mirror)
        #expect(mirrored.written == 2 && mirrored.findings.isEmpty)
        #expect(try await store.reconcile(against: .directory(mirror)).findings.isEmpty)
        #expect(try await copy.reconcile(against: .snapshot(snapshot)).findings.isEmpty)

        try FileManager.default.removeItem(atPath: mirror + "/invoices/2.json")
        #expect(try await store.reconcile(against: .directory(mirror)).findings.map(\.kind) == [.missing])
        _ = try await store.repair(mirror: mirror)
        #expect(try await store.reconcile(against: .directory(mirror)).findings.isEmpty)

        let report = try await store.verify()
        #expect(report.isClean && report.documentsChecked == 2)
        #expect(report == (try Self.verifyBlocking(store)))
    }

    /// The blocking `verify()`: outside an async context, overload resolution picks it.
    private static func verifyBlocking(_ store: Store) throws -> VerifyReport { try store.verify() }

    @Test("async update and delete keep the blocking calls' version rules, with typed errors", arguments: Backend.available)
    func asyncUpdateAndDelete(backend: Backend) async throws {
        let stores = TestStores(backend)
        let store = try stores.store("f")
        let created = try await store.state.put("k", body: ["n": .number(1)])
        let updated = try await store.state.update("k", status: .set("paid"), expectedVersion: created.version)
        #expect(updated.version == 2 && updated.status == "paid" && updated.body == ["n": .number(1)])
        do {
            _ = try await store.state.delete("k", expectedVersion: 1)
            Issue.record("a delete with a stale expected version was accepted")
        } catch {
            guard case .conflict = error else { Issue.record("unexpected error: \(error)"); return }
        }
        _ = try await store.state.delete("k", expectedVersion: 2)
        #expect(try await store.state.get("k") == nil)
        withExtendedLifetime(stores) {}
    }
}
