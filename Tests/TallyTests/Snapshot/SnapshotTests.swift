import Foundation
import Testing
@testable import Tally

/// A store with invoices, payments and an escalation: the data every snapshot test uses.
func seedCollections(_ store: Store, invoices: ClosedRange<Int> = 1...6) throws {
    for number in invoices {
        let key = "invoices/INV-\(1000 + number)"
        try store.write { tx in
            let charge = try tx.ledger.append(stream: "invoice/INV-\(1000 + number)", kind: "charge", amount: Int64(number * 10_00),
                                              currency: "EUR", payload: ["sku": .string("S\(number)")])
            try tx.state.put(key, body: ["customer": .string("C\(number)"), "total": .number(Double(number * 10_00))],
                             status: "unpaid", causedBy: charge)
        }
    }
    try store.write { tx in
        let first = invoices.lowerBound
        let payment = try tx.ledger.append(stream: "invoice/INV-\(1000 + first)", kind: "payment", amount: -Int64(first * 10_00), currency: "EUR")
        try tx.state.update("invoices/INV-\(1000 + first)", status: "paid", causedBy: payment)
    }
    try store.state.put("agents/billing-1", body: ["queue": ["INV-1002"], "note": "caf\u{e9} \u{1F600}"])
}

@Suite("Snapshots: export, import, round trip, mirror")
struct SnapshotTests {
    let directory = TemporaryDirectory()

    private func lines(_ path: String) throws -> [String] {
        String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    @Test("a snapshot has a header, state records in key order, events in seq order and a verified trailer", arguments: Backend.available)
    func format(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store("a")
        try seedCollections(store)
        let path = directory.file("out/backup.tally.jsonl")
        let summary = try store.exportSnapshot(to: path)
        #expect(summary.documents == 7)
        #expect(summary.events == 7)
        let all = try lines(path)
        #expect(all.last == "")
        let records = all.dropLast()
        #expect(records.count == 1 + 7 + 7 + 1)
        let header = try JSONValue.parse(records[0])
        #expect(header["format"] == "tally-snapshot")
        #expect(header["version"] == .number(Double(SnapshotFormat.version)))
        #expect(header["ledger_id"] == .string(try store.ledgerID()))
        #expect(header["ledger_head"]?["seq"] == 7)
        #expect(records[1].hasPrefix(#"{"type":"state","key":"agents/billing-1","version":1,"status":null,"body":{"#))
        #expect(records[8].hasPrefix(#"{"type":"event","seq":1,"#))
        let trailer = try JSONValue.parse(records[records.count - 1])
        #expect(trailer["records"] == 14)
        let before = Data(records.dropLast().joined(separator: "\n").utf8) + Data("\n".utf8)
        #expect(trailer["sha256"] == .string(Digest.sha256Hex(before)))
        #expect(summary.sha256 == Digest.sha256Hex(before))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test("round trip: export, import into a new database, export again gives identical records", arguments: Backend.available)
    func roundTrip(backend: Backend) throws {
        let stores = TestStores(backend)
        let original = try stores.store("a")
        try seedCollections(original)
        try original.state.delete("invoices/INV-1006")
        let first = directory.file("first.jsonl")
        try original.exportSnapshot(to: first)
        let copy = try stores.store("b")
        let report = try copy.importSnapshot(from: first)
        #expect(report.added == 6)
        #expect(report.eventsAppended == 7)
        #expect(report.conflicts.isEmpty)
        let second = directory.file("second.jsonl")
        try copy.exportSnapshot(to: second)
        // Everything but the header (created_at) and the trailer (its digest covers the header).
        #expect(try lines(first).dropFirst().dropLast(2) == lines(second).dropFirst().dropLast(2))
        #expect(try copy.ledger.verifyChain() == original.ledger.verifyChain())
        #expect(try copy.state.get("invoices/INV-1001") == original.state.get("invoices/INV-1001"))
        // Importing the same snapshot again changes nothing.
        let again = try copy.importSnapshot(from: first)
        #expect(again.unchanged == 6 && again.added == 0 && again.updated == 0 && again.eventsMatched == 7 && again.eventsAppended == 0)
    }

    @Test("replace makes the documents the snapshot's; merge keeps newer versions and reports conflicts")
    func modes() throws {
        let store = try Store(path: directory.file("a.db"))
        try seedCollections(store)
        let snapshot = directory.file("s.jsonl")
        try store.exportSnapshot(to: snapshot)

        let target = directory.file("t.db")
        try copyDatabase(store, to: target)
        let other = try Store(path: target)
        try other.state.update("invoices/INV-1002", status: "escalated")  // newer than the snapshot
        try other.state.put("invoices/INV-9999", body: ["extra": true])  // not in the snapshot
        let merged = try other.importSnapshot(from: snapshot, mode: .merge)
        #expect(merged.skipped == 1)
        #expect(merged.deleted == 0)
        #expect(try other.state.get("invoices/INV-1002")?.status == "escalated")
        #expect(try other.state.get("invoices/INV-9999") != nil)

        // Same version, different content on both sides: a conflict, left alone.
        let conflicting = directory.file("c.db")
        try copyDatabase(store, to: conflicting)
        let diverged = try Store(path: conflicting)
        try store.state.update("invoices/INV-1003", body: ["customer": "C3", "total": 1])
        try diverged.state.update("invoices/INV-1003", body: ["customer": "C3", "total": 2])
        let newer = directory.file("newer.jsonl")
        try store.exportSnapshot(to: newer)
        let report = try diverged.importSnapshot(from: newer, mode: .merge)
        #expect(report.conflicts.map(\.key) == ["invoices/INV-1003"])
        #expect(try diverged.state.get("invoices/INV-1003")?.body["total"] == 2)

        let replaced = try other.importSnapshot(from: snapshot, mode: .replace)
        #expect(replaced.deleted == 1)
        #expect(try other.state.get("invoices/INV-9999") == nil)
        let restored = try #require(try other.state.get("invoices/INV-1002"))
        #expect(restored.status == "unpaid")
        #expect(restored.version == 3, "history keeps moving forward past the newer version 2")
    }

    @Test("a dry run reports and changes nothing", arguments: Backend.available)
    func dryRun(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store("a")
        try seedCollections(store)
        let snapshot = directory.file("s.jsonl")
        try store.exportSnapshot(to: snapshot)
        let target = try stores.store("t")
        let before = try databaseDump(stores, "t")
        let report = try target.importSnapshot(from: snapshot, dryRun: true)
        #expect(report.dryRun && report.added == 7 && report.eventsAppended == 7)
        #expect(try databaseDump(stores, "t") == before)
    }

    @Test("an export taken while another thread appends is consistent with its own header", arguments: Backend.available)
    func exportDuringAppends(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store("a")
        try seedCollections(store)
        let done = Locked(false)
        let appender = Thread {
            var index = 0
            while !done.withLock({ $0 }) {
                _ = try? store.ledger.append(stream: "busy", kind: "tick", amount: 1, currency: "EUR", payload: ["i": .number(Double(index))])
                index += 1
            }
        }
        appender.start()
        defer { done.withLock { $0 = true } }
        for round in 0..<5 {
            let path = directory.file("during-\(round).jsonl")
            let summary = try store.exportSnapshot(to: path)
            let records = try lines(path).dropLast()
            let events = records.filter { $0.hasPrefix(#"{"type":"event""#) }
            #expect(Int64(events.count) == summary.ledgerHeadSeq)
            let last = try JSONValue.parse(try #require(events.last))
            #expect(last["hash"] == .string(summary.ledgerHeadHash))
            let fresh = try stores.store("fresh-\(round)")
            #expect(try fresh.importSnapshot(from: path).eventsAppended == summary.ledgerHeadSeq)
        }
    }

    @Test("export, mirror and reconcile report progress up to the number of documents, with or without a key prefix",
          arguments: Backend.available)
    func progressTotals(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store("a")
        for index in 1...2_500 { try store.state.put("docs/d\(index)", body: ["i": .number(Double(index))]) }
        try store.state.put("other/x", body: [:])
        func states(_ run: (@escaping @Sendable (OperationProgress) -> Void) throws -> Void,
                    phase: OperationProgress.Phase = .state) rethrows -> [OperationProgress] {
            let seen = Locked<[OperationProgress]>([])
            try run { progress in seen.withLock { $0.append(progress) } }
            return seen.withLock { $0 }.filter { $0.phase == phase }
        }
        let all = try states { try store.exportSnapshot(to: directory.file("all.jsonl"), progress: $0) }
        #expect(all.map(\.done) == [1_000, 2_000, 2_501] && all.allSatisfy { $0.total == 2_501 })
        var options = Store.ExportOptions()
        options.keyPrefix = "docs/"
        let prefixed = try states { try store.exportSnapshot(to: directory.file("docs.jsonl"), options: options, progress: $0) }
        #expect(prefixed.last == OperationProgress(phase: .state, done: 2_500, total: 2_500))
        let mirrored = try states({ try store.mirror(to: directory.file("mirror"), progress: $0) }, phase: .files)
        #expect(mirrored.last == OperationProgress(phase: .files, done: 2_501, total: 2_501))
        let reconciled = try states { _ = try store.reconcile(against: .directory(directory.file("mirror")), progress: $0) }
        #expect(reconciled.last == OperationProgress(phase: .state, done: 2_501, total: 2_501))
    }

    @Test("a prefix export holds only those documents, and its import replaces only under the prefix", arguments: Backend.available)
    func prefix(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store("a")
        try seedCollections(store)
        var options = Store.ExportOptions()
        options.keyPrefix = "agents/"
        options.includeLedger = false
        let path = directory.file("agents.jsonl")
        let summary = try store.exportSnapshot(to: path, options: options)
        #expect(summary.documents == 1 && summary.events == 0)
        try store.state.put("agents/billing-2", body: [:])
        let report = try store.importSnapshot(from: path)
        #expect(report.deleted == 1 && report.unchanged == 1)
        #expect(try store.state.count() == 7)
    }

    @Test("the mirror writes each document once, rewrites only what changed and removes deleted keys", arguments: Backend.available)
    func mirror(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store("a")
        try seedCollections(store)
        let mirror = directory.file("mirror")
        let first = try store.mirror(to: mirror)
        #expect(first.documents == 7 && first.written == 7 && first.unchanged == 0)
        let file = mirror + "/invoices/INV-1001.json"
        let parsed = try MirrorFile.parse(try Data(contentsOf: URL(fileURLWithPath: file)), expectedKey: "invoices/INV-1001").get()
        #expect(parsed == (try store.state.get("invoices/INV-1001")))
        let untouched = mirror + "/invoices/INV-1004.json"
        let inode = try FileManager.default.attributesOfItem(atPath: untouched)[.systemFileNumber] as? Int

        try store.state.update("invoices/INV-1002", status: "escalated")
        try store.state.delete("invoices/INV-1006")
        let second = try store.mirror(to: mirror)
        #expect(second.written == 1 && second.unchanged == 5 && second.removed == 1)
        #expect(try FileManager.default.attributesOfItem(atPath: untouched)[.systemFileNumber] as? Int == inode)
        #expect(!FileManager.default.fileExists(atPath: mirror + "/invoices/INV-1006.json"))
        let manifest = try JSONDecoder().decode(MirrorManifest.self, from: Data(contentsOf: URL(fileURLWithPath: mirror + "/MANIFEST.json")))
        #expect(manifest.documents == 6 && manifest.ledgerHeadSeq == 7)
        // A file Tally did not write is never removed.
        try Data("not mine".utf8).write(to: URL(fileURLWithPath: mirror + "/invoices/NOTES.json"))
        #expect(try store.mirror(to: mirror).removed == 0)
        #expect(FileManager.default.fileExists(atPath: mirror + "/invoices/NOTES.json"))
    }

    @Test("write-through keeps the mirror current after every commit", arguments: Backend.available)
    func writeThrough(backend: Backend) throws {
        let stores = TestStores(backend)
        var configuration = Store.Configuration()
        configuration.mirrorDirectory = directory.file("live")
        let store = try stores.store("a", configuration: configuration)
        try store.state.put("invoices/INV-1", body: ["total": 5], status: "unpaid")
        try store.write { tx in
            let payment = try tx.ledger.append(stream: "invoice/INV-1", kind: "payment", amount: -5, currency: "EUR")
            try tx.state.update("invoices/INV-1", status: "paid", causedBy: payment)
        }
        let file = directory.file("live/invoices/INV-1.json")
        let document = try MirrorFile.parse(try Data(contentsOf: URL(fileURLWithPath: file)), expectedKey: "invoices/INV-1").get()
        #expect(document.status == "paid" && document.version == 2 && document.ledgerSeq == 1)
        try store.state.delete("invoices/INV-1")
        #expect(!FileManager.default.fileExists(atPath: file))
    }

    @Test("killing an exporting process never leaves a partial snapshot at the target path")
    func killDuringExport() throws {
        let store = try Store(path: directory.file("a.db"))
        try store.write { tx in
            for index in 0..<3000 {
                try tx.state.put("docs/\(index)", body: ["i": .number(Double(index)), "pad": .string(String(repeating: "p", count: 300))])
            }
        }
        let target = directory.file("snap/export.jsonl")
        var generator = SeededGenerator(seed: 7)
        let rounds = ProcessInfo.processInfo.environment["TALLY_STRESS"] == "1" ? 200 : 8
        for round in 0..<rounds {
            let child = try ChildProcess.start(["export-loop", store.path, target])
            usleep(UInt32.random(in: 20_000...250_000, using: &generator))
            kill(child.process.processIdentifier, SIGKILL)
            child.process.waitUntilExit()
            if FileManager.default.fileExists(atPath: target) {
                let fresh = try Store(path: directory.file("check-\(round).db"))
                let report = try fresh.importSnapshot(from: target, dryRun: true)
                #expect(report.added == 3000, "round \(round): the snapshot at the target is not complete")
            }
        }
        let swept = try TempFileSweeper(minimumAge: 0).sweep(directory.file("snap"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("snap")).filter { $0.contains(".tmp-") }.isEmpty)
        _ = swept
    }
}
