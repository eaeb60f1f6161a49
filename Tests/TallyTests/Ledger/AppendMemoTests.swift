import Foundation
import Testing
@testable import Tally

/// The writer remembers the chain tip, stream versions and Merkle frontier of its last
/// commit, so a run of single-event transactions does not read and re-hash the tip each
/// time. Each test below writes behind that memory in one way and checks the next append
/// extends what is really in the database (a memory trusted wrongly would reuse a seq, which
/// the schema's triggers refuse, and the append would fail).
@Suite("Ledger: what the writer remembers between transactions is trusted only while nothing else wrote")
struct AppendMemoTests {
    let directory = TemporaryDirectory()

    @Test("back-to-back appends reuse the memory of the last commit")
    func memoryIsKept() throws {
        let store = try Store(path: directory.file("kept.db"))
        try store.ledger.append(stream: "s", kind: "charge", amount: 1, currency: "EUR")
        #expect(store.appendMemo.withLock { $0?.anchor } != nil)
        #expect(store.appendMemo.withLock { $0?.tip?.seq } == 1)
        try store.ledger.append(stream: "s", kind: "charge", amount: 2, currency: "EUR")
        #expect(store.appendMemo.withLock { $0?.tip?.seq } == 2)
        #expect(store.appendMemo.withLock { $0?.streamVersions["s"] } == 2)
        #expect(try store.verify().isClean)
    }

    @Test("another connection's append to the same stream in between is extended, not overwritten")
    func otherConnectionsCommit() throws {
        let path = directory.file("two.db")
        let first = try Store(path: path)
        let second = try Store(path: path)
        try first.ledger.append(stream: "s", kind: "charge", amount: 1, currency: "EUR")
        let between = try second.ledger.append(stream: "s", kind: "charge", amount: 2, currency: "EUR")
        let next = try first.ledger.append(stream: "s", kind: "charge", amount: 3, currency: "EUR")
        #expect(next.seq == 3)
        #expect(next.streamVersion == 3)
        #expect(next.prevHash == between.hash)
        #expect(try first.verify().isClean)
    }

    @Test("an import on the writer's own connection in between moves the tip the next append extends")
    func ownConnectionsImport() throws {
        let store = try Store(path: directory.file("mine.db"))
        for amount in 1...2 {
            try store.ledger.append(stream: "s", kind: "charge", amount: Int64(amount), currency: "EUR")
        }
        // A copy that goes on by three events, exported and imported back: the writer's own
        // connection inserts them, so `PRAGMA data_version` does not move; the import's
        // commit must leave a memory without a tip.
        let copy = try Store(path: try store.backup(toDirectory: directory.file("backups")).path)
        for amount in 3...5 {
            try copy.ledger.append(stream: "s", kind: "charge", amount: Int64(amount), currency: "EUR")
        }
        let snapshot = directory.file("five.jsonl")
        try copy.exportSnapshot(to: snapshot)
        #expect(try store.importSnapshot(from: snapshot).eventsAppended == 3)

        let next = try store.ledger.append(stream: "s", kind: "charge", amount: 6, currency: "EUR")
        #expect(next.seq == 6)
        #expect(next.streamVersion == 6)
        #expect(next.prevHash == (try copy.ledger.head().hash))
        #expect(try store.verify().isClean)
    }

    @Test("a transaction that rolled back leaves nothing the next append trusts")
    func rolledBackTransaction() throws {
        struct Abandon: Error {}
        let store = try Store(path: directory.file("rollback.db"))
        try store.ledger.append(stream: "s", kind: "charge", amount: 1, currency: "EUR")
        #expect(throws: Abandon.self) {
            try store.write { tx in
                try tx.ledger.append(stream: "s", kind: "charge", amount: 2, currency: "EUR")
                try tx.ledger.append(stream: "s", kind: "charge", amount: 3, currency: "EUR")
                throw Abandon()
            }
        }
        #expect(store.appendMemo.withLock { $0?.tip?.seq } == 1)
        let next = try store.ledger.append(stream: "s", kind: "charge", amount: 4, currency: "EUR")
        #expect(next.seq == 2)
        #expect(next.streamVersion == 2)
        #expect(try store.verify().isClean)
    }

    @Test("a transaction that only writes state makes the next append read the tip again, and both commit")
    func stateOnlyTransaction() throws {
        let store = try Store(path: directory.file("state.db"))
        try store.ledger.append(stream: "s", kind: "charge", amount: 1, currency: "EUR")
        try store.state.put("invoice/1", body: ["total": .number(1)])
        #expect(store.appendMemo.withLock { $0?.anchor } == nil)
        let next = try store.ledger.append(stream: "s", kind: "charge", amount: 2, currency: "EUR")
        #expect(next.seq == 2)
        #expect(store.appendMemo.withLock { $0?.anchor } != nil)
        #expect(try store.verify().isClean)
    }
}
