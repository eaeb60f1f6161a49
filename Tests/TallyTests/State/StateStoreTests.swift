import Foundation
import Testing
@testable import Tally

private struct Abort: Error {}

@Suite("State documents: versions, checksums, history, combined writes")
struct StateStoreTests {
    let directory = TemporaryDirectory()

    @Test("put stores the canonical body with its SHA-256 and versions each write", arguments: Backend.available)
    func putAndGet(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        let body: JSONValue = ["total": 1250, "customer": "ACME", "lines": [["sku": "A1"]]]
        let first = try store.state.put("invoices/INV-1", body: body, status: "unpaid", expectedVersion: 0)
        #expect(first.version == 1)
        #expect(first.checksum == Digest.sha256Hex(try CanonicalJSON.encode(body)))
        #expect(try store.state.get("invoices/INV-1") == first)
        let second = try store.state.update("invoices/INV-1", status: "paid")
        #expect(second.version == 2)
        #expect(second.body == body)
        #expect(second.status == "paid")
        #expect(try store.state.get("missing") == nil)
        let stored = try store.sql { try $0.scalarText("SELECT body FROM state WHERE key = 'invoices/INV-1'") }
        #expect(stored == #"{"customer":"ACME","lines":[{"sku":"A1"}],"total":1250}"#)
    }

    @Test("a deletion expecting a version no document can have (0 or below) is bad input, not a version conflict; the document stays",
          arguments: Backend.available)
    func deleteExpectingNoVersion(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        try store.state.put("k", body: ["a": 1])
        for expected: Int64 in [0, -1, .min] {
            let error = try #require(throws: TallyError.self) { try store.state.delete("k", expectedVersion: expected) }
            guard case let .invalidInput(field, reason) = error else {
                Issue.record("expected invalidInput, got \(error)")
                continue
            }
            #expect(field == "expected version" && reason.hasPrefix("\(expected) names no version"), "\(reason)")
        }
        #expect(try store.state.get("k")?.version == 1)
        #expect(try store.state.delete("k", expectedVersion: 1) == 1)
    }

    #if os(Linux)
    @Test("state writes keep SQLite's statement journal in memory: a transaction of puts opens no temporary file")
    func statementJournalInMemory() throws {
        // Each state write fires the history trigger, so SQLite keeps a statement journal to
        // undo that statement alone; with SQLite's default temp_store it spills to a deleted
        // file (etilqs_…) that stays open until the transaction ends.
        func temporaryFilesOpen() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap { fd in
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)"))
                    .flatMap { $0.contains("etilqs_") ? $0 : nil }
            }
        }
        let stores = TestStores(.sqlite)
        let store = try stores.store()
        try store.write { tx in
            for index in 0..<1_000 {
                let body: JSONValue = ["n": .number(Double(index)), "notes": .string(String(repeating: "x", count: 200))]
                try tx.state.put("docs/\(index)", body: body, status: "open")
            }
            #expect(try temporaryFilesOpen() == [])
        }
        #expect(try store.state.count() == 1_000)
    }
    #endif

    @Test("creating over an existing key and updating a stale version are conflicts", arguments: Backend.available)
    func conflicts(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        try store.state.put("a", body: ["v": 1], expectedVersion: 0)
        #expect(throws: TallyError.conflict(subject: "a", expected: 0, actual: 1)) {
            try store.state.put("a", body: ["v": 2], expectedVersion: 0)
        }
        try store.state.update("a", body: ["v": 2], expectedVersion: 1)
        #expect(throws: TallyError.conflict(subject: "a", expected: 1, actual: 2)) {
            try store.state.update("a", body: ["v": 3], expectedVersion: 1)
        }
        #expect(throws: TallyError.notFound(key: "b")) { try store.state.update("b", status: "x") }
        #expect(try store.state.get("a")?.version == 2)
    }

    /// A store whose `invoices/INV-9` had its body edited behind Tally's back (version 2),
    /// and the error reading it must give.
    private func tamperedInvoice(_ backend: Backend) throws -> (stores: TestStores, store: Store, corrupt: TallyError) {
        let stores = TestStores(backend)
        let store = try stores.store()
        let document = try store.state.put("invoices/INV-9", body: ["total": 100], status: "unpaid")
        let db = try stores.raw()
        try db.execute(#"UPDATE state SET body = '{"total":1}', version = version + 1 WHERE key = 'invoices/INV-9'"#)
        let corrupt = TallyError.corruptState(key: "invoices/INV-9", expected: document.checksum,
                                              actual: Digest.sha256Hex(#"{"total":1}"#))
        return (stores, store, corrupt)
    }

    @Test("a body edited behind Tally's back is reported as corrupt, never returned", arguments: Backend.available)
    func tamperDetected(backend: Backend) throws {
        let (stores, store, corrupt) = try tamperedInvoice(backend)
        defer { withExtendedLifetime(stores) {} }
        let error = try #require(throws: TallyError.self) { try store.state.get("invoices/INV-9") }
        #expect(error == corrupt)
        #expect(error.exitCode == 3)
        var listing = store.state.list()
        #expect(throws: TallyError.self) { try listing.collect() }
    }

    @Test("an update that keeps the body refuses a tampered one; a put, which brings its own body, replaces it", arguments: Backend.available)
    func tamperedThenWritten(backend: Backend) throws {
        let (stores, store, corrupt) = try tamperedInvoice(backend)
        defer { withExtendedLifetime(stores) {} }
        #expect(throws: corrupt) { try store.state.update("invoices/INV-9", status: "paid") }
        let replaced = try store.state.save("invoices/INV-9", body: ["total": 200], status: "unpaid")
        #expect(replaced.written && replaced.document.version == 3)
        #expect(try store.state.get("invoices/INV-9") == replaced.document)
    }

    @Test("writing the same content again records nothing; a new status or cause does", arguments: Backend.available)
    func sameContentAgain(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        let first = try store.state.save("k/1", body: ["a": 1, "b": [true, nil]], status: "open")
        // Canonically the same body: other member order, 1.0 for 1.
        let again = try store.state.save("k/1", body: ["b": [true, nil], "a": .number(1.0)], status: "open")
        #expect(!again.written)
        #expect(again.document == first.document)
        #expect(try store.state.get("k/1") == first.document)
        var history = try store.state.history("k/1")
        #expect(try history.collect().count == 1)
        let restatused = try store.state.save("k/1", body: ["a": 1, "b": [true, nil]], status: "closed")
        #expect(restatused.written && restatused.document.version == 2)
        let event = try store.ledger.append(NewEvent(stream: "s", kind: "k"))
        let caused = try store.state.save("k/1", body: ["a": 1, "b": [true, nil]], status: "closed", causedBy: event)
        #expect(caused.written && caused.document.version == 3 && caused.document.ledgerSeq == event.seq)
        #expect(!(try store.state.save("k/1", body: ["a": 1, "b": [true, nil]], status: "closed", causedBy: event)).written)
    }

    @Test("a write reports up to ten other keys that differ only in case, in key order, and keeps its own version", arguments: Backend.available)
    func caseCollisions(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        // All 16 spellings of "docs/abcd" by letter case.
        let spellings = (0..<16).map { mask in
            "docs/" + String("abcd".enumerated().map { mask & (1 << $0.offset) != 0 ? Character($0.element.uppercased()) : $0.element })
        }
        let first = try store.state.save(spellings[5], body: ["n": 0])
        #expect(first.caseCollisions == [])
        let second = try store.state.save(spellings[9], body: ["n": 1])
        #expect(second.caseCollisions == [spellings[5]])
        #expect(try store.state.save("docs/other", body: ["n": 2]).caseCollisions == [])
        for spelling in spellings.shuffled() where spelling != spellings[5] && spelling != spellings[9] {
            let result = try store.state.save(spelling, body: ["n": 3])
            #expect(result.document.version == 1)
        }
        // Every key has 15 others; the first ten in key order are reported, and the key's
        // own row is found among them, whatever its place.
        for spelling in spellings {
            let result = try store.state.save(spelling, body: ["n": 4])
            #expect(result.document.version == 2, "\(spelling)")
            #expect(result.caseCollisions == Array(spellings.filter { $0 != spelling }.sorted().prefix(10)), "\(spelling)")
        }
        let kept = try store.state.update(spellings[0], status: "seen")
        #expect(kept.version == 3 && kept.body == ["n": 4])
    }

    @Test("a reformatted but equal body is not corruption", arguments: Backend.available)
    func reformattedIsFine(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        let document = try store.state.put("k", body: ["a": 1, "b": [true, nil]])
        let db = try stores.raw()
        try db.execute(#"UPDATE state SET body = '{ "b" : [true, null], "a" : 1.0 }', version = version + 1, checksum = ? WHERE key = 'k'"#, [document.checksum])
        #expect(try store.state.get("k")?.body == document.body)
    }

    @Test("history holds every version and the tombstone; a re-created key keeps counting", arguments: Backend.available)
    func history(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        try store.state.put("h/1", body: ["n": 1], status: "a")
        try store.state.update("h/1", body: ["n": 2])
        #expect(try store.state.delete("h/1", expectedVersion: 2) == 2)
        #expect(try store.state.get("h/1") == nil)
        #expect(throws: TallyError.notFound(key: "h/1")) { try store.state.delete("h/1") }
        let recreated = try store.state.put("h/1", body: ["n": 4], expectedVersion: 0)
        #expect(recreated.version == 4)
        var cursor = try store.state.history("h/1", pageSize: 2)
        let entries = try cursor.collect()
        #expect(entries.map(\.version) == [1, 2, 3, 4])
        #expect(entries.map(\.deleted) == [false, false, true, false])
        #expect(entries[2].body == nil)
        #expect(entries[1].body == ["n": 2])
        #expect(entries[1].status == "a")
    }

    @Test("re-creating a deleted key inside a larger transaction continues from its tombstone, and the transaction's other writes stand", arguments: Backend.available)
    func recreateInsideTransaction(backend: Backend) throws {
        // On SQLite the first insert tries version 1, the schema's trigger refuses it, and
        // only that statement rolls back before the insert at the right version.
        let stores = TestStores(backend)
        let store = try stores.store()
        try store.state.put("r/1", body: ["n": 1])
        try store.state.update("r/1", body: ["n": 2])
        let (recreated, fresh, event) = try store.write { tx in
            let event = try tx.ledger.append(stream: "r", kind: "tick", payload: ["n": 1])
            try tx.state.delete("r/1")
            let recreated = try tx.state.put("r/1", body: ["n": 3], causedBy: event)
            let fresh = try tx.state.put("r/2", body: ["n": 1])
            return (recreated, fresh, event)
        }
        #expect(recreated.version == 4)
        #expect(fresh.version == 1)
        #expect(try store.state.get("r/1") == recreated)
        #expect(try store.state.get("r/2") == fresh)
        #expect(try store.ledger.head().seq == event.seq)
        var cursor = try store.state.history("r/1")
        #expect(try cursor.collect().map(\.version) == [1, 2, 3, 4])
    }

    @Test("a cause that is not in this ledger is refused, for a new key and for one re-created after a deletion, and nothing is written", arguments: Backend.available)
    func causeNotInLedger(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        let elsewhere = try stores.store("elsewhere")
        try elsewhere.ledger.append(stream: "a", kind: "tick", payload: ["n": 1])
        let foreign = try elsewhere.ledger.append(stream: "a", kind: "tick", payload: ["n": 2])
        try store.state.put("c/gone", body: ["n": 1])
        try store.state.delete("c/gone")
        for key in ["c/new", "c/gone"] {
            let error = try #require(throws: TallyError.self) { try store.state.put(key, body: ["n": 2], causedBy: foreign) }
            guard case let .invalidInput(field, reason) = error else {
                Issue.record("expected invalidInput for \(key), got \(error)")
                continue
            }
            #expect(field == "causedBy")
            #expect(reason.contains("\(foreign.seq)"))
            #expect(try store.state.get(key) == nil)
        }
        var history = try store.state.history("c/gone")
        #expect(try history.collect().map(\.version) == [1, 2])
        #expect(try store.state.put("c/gone", body: ["n": 3]).version == 3)
    }

    @Test("invalid keys and statuses are refused with the reason", arguments: Backend.available)
    func invalidKeys(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        for key in ["", "/a", "a/", "a//b", "a/../b", "./a", "a b", "a\u{0}b", "ä", String(repeating: "k", count: 256)] {
            let error = try #require(throws: TallyError.self) { try store.state.put(key, body: [:]) }
            guard case .invalidKey = error else {
                Issue.record("expected invalidKey for \(key.debugDescription), got \(error)")
                continue
            }
        }
        #expect(throws: TallyError.self) { try store.state.put("ok", body: [:], status: "") }
        #expect(throws: TallyError.self) { try store.state.put("ok", body: ["n": .number(.infinity)]) }
        #expect(try store.state.count() == 0)
    }

    @Test("a combined write commits ledger and state together, with causedBy linking them", arguments: Backend.available)
    func combinedWrite(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        try store.state.put("invoices/INV-1", body: ["total": 1250], status: "unpaid")
        let (payment, document) = try store.write { tx in
            let payment = try tx.ledger.append(stream: "invoice/INV-1", kind: "payment", amount: -12_50, currency: "EUR")
            let document = try tx.state.update("invoices/INV-1", status: "paid", causedBy: payment)
            return (payment, document)
        }
        #expect(document.ledgerSeq == payment.seq)
        #expect(try store.state.get("invoices/INV-1")?.status == "paid")
        #expect(try store.ledger.event(seq: payment.seq) == payment)
    }

    @Test("a combined write that throws after the ledger append leaves neither change", arguments: Backend.available)
    func combinedRollback(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        try store.state.put("invoices/INV-1", body: ["total": 1250], status: "unpaid")
        #expect(throws: Abort.self) {
            try store.write { tx in
                let payment = try tx.ledger.append(stream: "invoice/INV-1", kind: "payment", amount: -12_50, currency: "EUR")
                try tx.state.update("invoices/INV-1", status: "paid", causedBy: payment)
                throw Abort()
            }
        }
        #expect(try store.ledger.head().seq == 0)
        #expect(try store.state.get("invoices/INV-1")?.status == "unpaid")
        var history = try store.state.history("invoices/INV-1")
        #expect(try history.collect().count == 1)
    }

    @Test("list pages through 10,000 documents by prefix and status", arguments: Backend.available)
    func listLarge(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        try store.write { tx in
            for index in 0..<10_000 {
                let prefix = index % 2 == 0 ? "invoices" : "accounts"
                try tx.state.put("\(prefix)/\(String(format: "%05d", index))", body: ["i": .number(Double(index))],
                                 status: index % 3 == 0 ? "paid" : "unpaid")
            }
        }
        var invoices = store.state.list(prefix: "invoices/", pageSize: 333)
        var count = 0
        var previous = ""
        while let document = try invoices.next() {
            #expect(document.key.hasPrefix("invoices/"))
            #expect(document.key > previous)
            previous = document.key
            count += 1
        }
        #expect(count == 5_000)
        var paidInvoices = store.state.list(prefix: "invoices/", status: "paid", pageSize: 100)
        #expect(try paidInvoices.collect().count == (0..<10_000).filter { $0 % 2 == 0 && $0 % 3 == 0 }.count)
        #expect(try store.state.count(status: "unpaid") == Int64((0..<10_000).filter { $0 % 3 != 0 }.count))
        var exact = store.state.list(prefix: "invoices/00000")
        #expect(try exact.collect().map(\.key) == ["invoices/00000"])
    }

    @Test("a child killed with SIGKILL mid-loop leaves every state consistent with its ledger event")
    func killDuringCombinedWrites() throws {
        let path = directory.file("kill.db")
        _ = try Store(path: path)
        let child = try ChildProcess.start(["combined-loop", path, "7"])
        // Let it commit a few hundred transactions, then kill it without warning.
        var acknowledged: [Int64] = []
        var buffer = Data()
        let reader = child.output.fileHandleForReading
        while acknowledged.count < 150 {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            acknowledged = String(decoding: buffer, as: UTF8.self).split(separator: "\n").dropLast().compactMap { $0.split(separator: " ").dropFirst().first.flatMap { Int64($0) } }
        }
        kill(child.process.processIdentifier, SIGKILL)
        child.process.waitUntilExit()
        #expect(child.process.terminationReason == .uncaughtSignal)

        let reopened = try Store(path: path)
        let report = try reopened.ledger.verifyChain()
        #expect(report.isIntact)
        #expect(report.headSeq >= acknowledged.max() ?? 0, "an acknowledged event was lost")
        var documents = reopened.state.list(prefix: "loop/")
        for document in try documents.collect() {
            let seq = try #require(document.ledgerSeq)
            let event = try #require(try reopened.ledger.event(seq: seq))
            #expect(event.stream == document.key)
            #expect(document.body["seq"] == .number(Double(seq)))
            // The document reflects the last event of its stream: they were written together.
            #expect(try reopened.ledger.latest(1).isEmpty == false)
            var stream = reopened.ledger.events(inStream: document.key, afterVersion: 0)
            #expect(try stream.collect().last?.seq == seq)
        }
    }

    /// Regression (PostgreSQL): each write read the key's current version without a lock, so
    /// two stores writing one document at once both built on the same version and the second
    /// failed the schema's version check.
    @Test("four stores writing one document at once take turns: versions 1…200, every write kept in history", arguments: Backend.available)
    func concurrentWritersOfOneKey(backend: Backend) throws {
        let stores = TestStores(backend)
        let failures = Locked<[String]>([])
        let group = DispatchGroup()
        try startWriters(4, rounds: 50, of: "shared", in: stores, group: group, failures: failures)
        group.wait()
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 }.prefix(3))")
        let store = try stores.store()
        #expect(try store.state.get("shared")?.version == 200)
        var history = try store.state.history("shared")
        #expect(try history.collect().map(\.version).sorted() == Array(1...200))
    }

    /// Regression (PostgreSQL): an import read each key's current version without the per-key
    /// lock state writes take, so an import racing a writer of the same document failed the
    /// schema's version check.
    @Test("imports and writers of one document at once take turns: every write and every import kept", arguments: Backend.available)
    func importRacingWritersOfOneKey(backend: Backend) throws {
        let stores = TestStores(backend)
        let setup = try stores.store()
        try setup.state.put("shared", body: ["from": "snapshot"])
        let snapshot = stores.directory.file("shared.tally.jsonl")
        try setup.exportSnapshot(to: snapshot)
        let importer = try stores.store()
        let failures = Locked<[String]>([])
        let group = DispatchGroup()
        try startWriters(3, rounds: 30, of: "shared", in: stores, group: group, failures: failures)
        group.enter()
        Thread {
            defer { group.leave() }
            for _ in 0..<10 {
                do { try importer.importSnapshot(from: snapshot, mode: .replace) } catch { failures.withLock { $0.append("import: \(error)") } }
            }
        }.start()
        group.wait()
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 }.prefix(3))")
        // 1 (the exported version) + 90 writes; each import wrote the snapshot's content as a new
        // version unless it found that content already current (nothing to write).
        let final = try #require(try importer.state.get("shared")).version
        var history = try importer.state.history("shared")
        let versions = try history.collect().map(\.version).sorted()
        #expect(versions == Array(1...final))
        #expect(final >= 91 && final <= 101)
    }

    /// Starts `count` threads, each with a store of its own putting `key` `rounds` times (in
    /// `group`; errors collected in `failures`).
    private func startWriters(_ count: Int, rounds: Int, of key: String, in stores: TestStores, group: DispatchGroup,
                              failures: Locked<[String]>) throws {
        for (index, store) in try (0..<count).map({ _ in try stores.store() }).enumerated() {
            group.enter()
            Thread {
                defer { group.leave() }
                for round in 0..<rounds {
                    do { try store.state.put(key, body: ["writer": .number(Double(index)), "round": .number(Double(round))]) } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
            }.start()
        }
    }
}
