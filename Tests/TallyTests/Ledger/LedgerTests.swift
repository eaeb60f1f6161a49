import Foundation
import Testing
@testable import Tally

@Suite("Ledger: append, idempotency, concurrency checks, validation, reads")
struct LedgerTests {

    /// Hashes computed outside Swift, with this Python (json.dumps with sorted keys and no
    /// whitespace equals JCS for these values):
    ///
    ///     import hashlib, json
    ///     def jcs(o): return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    ///     prev = "0" * 64
    ///     for e in events:   # the four events below, as dicts with the snake_case names
    ///         h = hashlib.sha256((prev + "\n" + jcs(e)).encode("utf-8")).hexdigest()
    ///         print(e["seq"], h); prev = h
    @Test("golden: hashes match an independent implementation byte for byte")
    func golden() throws {
        let events: [(seq: Int64, id: String, stream: String, version: Int64, kind: String, amount: Int64?, currency: String?, quantity: Double?, payload: JSONValue, at: String, hash: String)] = [
            (1, "evt-0001", "invoice/INV-1001", 1, "charge", 1250, "EUR", nil, ["sku": "A1", "lines": [1, 2]],
             "2026-01-02T03:04:05.678Z", "2120e404b08a2416089378fd5d0e8e4accf7ceb78a26587874d6e4416749b5d2"),
            (2, "evt-0002", "invoice/INV-1001", 2, "payment", -1250, "EUR", nil, [:],
             "2026-01-02T03:04:06.000Z", "49765448f12fcbdd998b096fcddf16025330aa8d0222629bcedf9abbae76a3f4"),
            (3, "evt-0003", "agent/billing-1", 1, "usage", nil, nil, 1.5,
             ["note": "caf\u{e9} \u{20ac} \u{1F600}", "z": nil, "a": true, "ctl": "\t\n\u{1}"],
             "2026-01-02T03:04:07.001Z", "9eed4b6df8f47d92573e752953c853335914a6bcdcb97a01a6c576bfb5a38b81"),
            (4, "evt-0004", "invoice/INV-1002", 1, "escalated", 0, "JPY", 0.25, ["reason": "90 days overdue", "level": 2],
             "2026-01-02T03:04:08.999Z", "5d2593cfd28fcbe113d59bc9fa52bc5d04fe8942f9f7cbbc8979f99bb950ed25"),
        ]
        var previous = Digest.zeroHash
        for event in events {
            let stored = LedgerEvent(seq: event.seq, eventID: event.id, stream: event.stream, streamVersion: event.version,
                                     kind: event.kind, amount: event.amount, currency: event.currency, quantity: event.quantity,
                                     payload: event.payload, recordedAt: event.at, prevHash: previous, hash: event.hash)
            #expect(try stored.computedHash() == event.hash, "seq \(event.seq)")
            previous = event.hash
        }
    }

    @Test("append assigns seq, stream version and the hash chain, and stores what it returns", arguments: Backend.available)
    func appendChains(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        let first = try store.ledger.append(stream: "invoice/INV-1", kind: "charge", amount: 12_50, currency: "EUR", payload: ["sku": "A1"])
        let second = try store.ledger.append(stream: "invoice/INV-1", kind: "payment", amount: -12_50, currency: "EUR")
        let other = try store.ledger.append(stream: "invoice/INV-2", kind: "charge", amount: 5, currency: "JPY")
        #expect([first.seq, second.seq, other.seq] == [1, 2, 3])
        #expect([first.streamVersion, second.streamVersion, other.streamVersion] == [1, 2, 1])
        #expect(first.prevHash == Digest.zeroHash)
        #expect(second.prevHash == first.hash)
        #expect(other.prevHash == second.hash)
        #expect(try first.computedHash() == first.hash)
        #expect(try store.ledger.event(seq: 1) == first)
        #expect(try store.ledger.event(id: second.eventID) == second)
        #expect(try store.ledger.head() == Ledger.Head(seq: 3, hash: other.hash))
        #expect(Timestamp.isValid(first.recordedAt))
        #expect(try store.ledger.verifyChain().isIntact)
    }

    @Test("an idempotent retry returns the stored event and writes nothing", arguments: Backend.available)
    func idempotentRetry(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        let event = NewEvent(stream: "s", kind: "charge", amount: 100, currency: "EUR", payload: ["a": 1], eventID: "order-7")
        let stored = try store.ledger.append(event)
        let retried = try store.ledger.append(event)
        #expect(retried == stored)
        #expect(try store.ledger.head().seq == 1)
        // A retry that also carried an (now stale) expected version is still the same event.
        var withVersion = event
        withVersion.expectedStreamVersion = 0
        #expect(try store.ledger.append(withVersion) == stored)
    }

    @Test("the same event id with different content is a duplicateEvent naming the stored seq", arguments: Backend.available)
    func conflictingRetry(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        try store.ledger.append(stream: "s", kind: "charge", amount: 100, currency: "EUR", eventID: "order-7")
        let error = try #require(throws: TallyError.self) {
            try store.ledger.append(stream: "s", kind: "charge", amount: 101, currency: "EUR", eventID: "order-7")
        }
        #expect(error == .duplicateEvent(eventID: "order-7", existingSeq: 1))
        #expect(error.exitCode == 4)
        #expect(try store.ledger.head().seq == 1)
    }

    @Test("an expected stream version that does not match is a conflict with both versions", arguments: Backend.available)
    func optimisticConcurrency(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        try store.ledger.append(stream: "s", kind: "a", expectedStreamVersion: 0)
        try store.ledger.append(stream: "s", kind: "b", expectedStreamVersion: 1)
        let error = try #require(throws: TallyError.self) { try store.ledger.append(stream: "s", kind: "c", expectedStreamVersion: 1) }
        #expect(error == .conflict(subject: "s", expected: 1, actual: 2))
        #expect(error.description.contains("expected version 1, found 2"))
        #expect(try store.ledger.streamVersion("s") == 2)
    }

    @Test("an append refuses to extend a tip whose payload was edited behind Tally's back, on either engine", arguments: Backend.available)
    func alteredTipRefused(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        for index in 1...3 {
            try store.ledger.append(stream: "s", kind: "charge", amount: Int64(index), currency: "EUR", payload: ["n": .number(Double(index))])
        }
        try stores.tamper(#"UPDATE ledger SET payload = '{"n":30}' WHERE seq = 3"#, dropping: ["ledger_no_update"])
        let error = try #require(throws: TallyError.self) {
            try store.ledger.append(stream: "s", kind: "charge", amount: 4, currency: "EUR")
        }
        #expect(error.exitCode == 3, "\(error)")
        #expect(error.description.contains("seq 3"), "\(error)")
        #expect(try store.ledger.head().seq == 3)
    }

    @Test("every invalid input is refused with the field named, and nothing is written", arguments: Backend.available)
    func validation(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        let big = String(repeating: "x", count: 600_000)
        let cases: [(NewEvent, String)] = [
            (NewEvent(stream: "", kind: "k"), "stream"),
            (NewEvent(stream: String(repeating: "s", count: 256), kind: "k"), "stream"),
            (NewEvent(stream: "a\u{0}b", kind: "k"), "stream"),
            (NewEvent(stream: "s", kind: ""), "kind"),
            (NewEvent(stream: "s", kind: String(repeating: "k", count: 65)), "kind"),
            (NewEvent(stream: "s", kind: "k", amount: 1, currency: "eur"), "currency"),
            (NewEvent(stream: "s", kind: "k", amount: 1, currency: "EURO"), "currency"),
            (NewEvent(stream: "s", kind: "k", amount: 1, currency: "E1R"), "currency"),
            (NewEvent(stream: "s", kind: "k", amount: 1), "amount"),
            (NewEvent(stream: "s", kind: "k", amount: Int64.max, currency: "EUR"), "amount"),
            (NewEvent(stream: "s", kind: "k", quantity: .nan), "quantity"),
            (NewEvent(stream: "s", kind: "k", quantity: .infinity), "quantity"),
            (NewEvent(stream: "s", kind: "k", payload: [1, 2]), "payload"),
            (NewEvent(stream: "s", kind: "k", payload: "text"), "payload"),
            (NewEvent(stream: "s", kind: "k", payload: ["a": .string(big), "b": .string(big)]), "payload"),
            (NewEvent(stream: "s", kind: "k", payload: ["n": .number(.nan)]), "payload"),
            (NewEvent(stream: "s", kind: "k", eventID: ""), "event id"),
            (NewEvent(stream: "s", kind: "k", eventID: String(repeating: "e", count: 129)), "event id"),
            (NewEvent(stream: "s", kind: "k", expectedStreamVersion: -1), "expected stream version"),
        ]
        for (event, field) in cases {
            let error = try #require(throws: TallyError.self) { try store.ledger.append(event) }
            guard case let .invalidInput(reported, reason) = error else {
                Issue.record("expected invalidInput for \(field), got \(error)")
                continue
            }
            #expect(reported == field)
            #expect(!reason.isEmpty)
            #expect(error.exitCode == 2)
        }
        #expect(try store.ledger.head().seq == 0)
    }

    @Test("a batch is all or nothing and names the bad event", arguments: Backend.available)
    func batchAllOrNothing(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        let error = try #require(throws: TallyError.self) {
            try store.ledger.append(contentsOf: [NewEvent(stream: "s", kind: "ok"), NewEvent(stream: "s", kind: "")])
        }
        #expect(error == .invalidInput(field: "event 2 kind", reason: "it is empty"))
        #expect(throws: TallyError.self) {
            try store.ledger.append(contentsOf: [NewEvent(stream: "s", kind: "ok"), NewEvent(stream: "s", kind: "x", expectedStreamVersion: 5)])
        }
        #expect(try store.ledger.head().seq == 0)
        let stored = try store.ledger.append(contentsOf: (1...5).map { NewEvent(stream: "s", kind: "k\($0)") })
        #expect(stored.map(\.seq) == [1, 2, 3, 4, 5])
        // Inside a batch, versions and the chain advance event by event.
        let chained = try store.ledger.append(contentsOf: [
            NewEvent(stream: "s", kind: "a", expectedStreamVersion: 5),
            NewEvent(stream: "t", kind: "b", expectedStreamVersion: 0),
            NewEvent(stream: "s", kind: "c", eventID: "fixed", expectedStreamVersion: 6),
            NewEvent(stream: "s", kind: "c", eventID: "fixed"),
        ])
        #expect(chained.map(\.seq) == [6, 7, 8, 8])
        #expect(chained.map(\.streamVersion) == [6, 1, 7, 7])
        #expect(try store.ledger.verifyChain().isIntact)
    }

    @Test("a batch inside a transaction is all or nothing too, even when the caller goes on after its error",
          arguments: Backend.available)
    func batchAllOrNothingInTransaction(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        try store.write { tx in
            try tx.ledger.append(NewEvent(stream: "s", kind: "first"))
            // 40 events complete two 16-event subtrees before the last one conflicts.
            let batch = (1...40).map { NewEvent(stream: "s", kind: "bulk", eventID: "bulk-\($0)") }
                + [NewEvent(stream: "s", kind: "late", expectedStreamVersion: 99)]
            #expect(throws: TallyError.self) { try tx.ledger.append(contentsOf: batch) }
            try tx.ledger.append(contentsOf: (1...20).map { NewEvent(stream: "s", kind: "after", eventID: "after-\($0)") })
        }
        var events = store.ledger.events()
        let stored = try events.collect()
        #expect(stored.map(\.kind) == ["first"] + Array(repeating: "after", count: 20))
        #expect(stored.map(\.streamVersion) == Array(1...21))
        // The failed call's events and tree nodes are gone, the later ones' are there.
        #expect(try store.verify().isClean)
        #expect(try store.ledger.event(id: "bulk-1") == nil)
    }

    @Test("reads page through seq ranges, streams, latest and balances", arguments: Backend.available)
    func reads(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        for index in 1...20 {
            try store.ledger.append(stream: index % 2 == 0 ? "even" : "odd", kind: "charge", amount: Int64(index),
                                    currency: index % 4 == 0 ? "USD" : "EUR")
        }
        var all = store.ledger.events(pageSize: 3)
        #expect(try all.collect().map(\.seq) == Array(1...20))
        var range = store.ledger.events(from: 5, through: 9, pageSize: 2)
        #expect(try range.collect().map(\.seq) == [5, 6, 7, 8, 9])
        var odd = store.ledger.events(inStream: "odd", afterVersion: 7, pageSize: 2)
        #expect(try odd.collect().map(\.streamVersion) == [8, 9, 10])
        #expect(try store.ledger.latest(3).map(\.seq) == [20, 19, 18])
        var balances = store.ledger.balances()
        let rows = try balances.collect()
        #expect(rows.map { "\($0.stream) \($0.currency) \($0.balance) \($0.events)" } == [
            "even EUR 50 5", "even USD 60 5", "odd EUR 100 10",
        ])
        var evenOnly = store.ledger.balances(stream: "even")
        #expect(try evenOnly.collect().count == 2)
    }
}
