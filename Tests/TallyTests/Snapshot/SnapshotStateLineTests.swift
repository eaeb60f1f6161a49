import Foundation
import Testing
@testable import Tally

/// Import reads state lines exactly as export writes them without parsing them into a tree,
/// and into an empty store without looking anything up. Neither shortcut may change a result.
@Suite("Importing state lines: export's own layout and any other layout give the same store")
struct SnapshotStateLineTests {
    let directory = TemporaryDirectory()

    /// The seeded collections plus bodies outside the shapes read without a tree (escapes,
    /// fractions, a non-ASCII member name, deep nesting) and a document without status.
    private func seed(_ store: Store) throws {
        try seedCollections(store)
        try store.state.put("notes/escaped", body: ["text": "line 1\nline 2 \"quoted\" \\ back", "rate": 0.125])
        try store.state.put("notes/sizes", body: ["gr\u{f6}\u{df}e": 42])
        var deep: JSONValue = ["leaf": true]
        for _ in 0..<40 { deep = ["d": deep] }
        try store.state.put("notes/deep", body: deep)
        try store.state.put("notes/plain", body: ["n": -7, "s": "caf\u{e9}", "list": [1, 2, 3], "empty": [:]])
    }

    private func lines(_ path: String) throws -> [String] {
        String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
            .split(separator: "\n").map(String.init)
    }

    /// Writes `lines` as a snapshot with a correct trailer for them.
    private func writeSealed(_ lines: [String], to path: String) throws {
        var body = Array(lines.dropLast())
        let digest = Digest.sha256Hex(Data((body.joined(separator: "\n") + "\n").utf8))
        body.append("{\"type\":\"end\",\"records\":\(body.count - 1),\"sha256\":\"\(digest)\"}")
        try Data((body.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
    }

    /// Every state line with one space after its opening brace: the same records, valid
    /// JSON, but not the written layout, so each is read through the parser.
    private func respaced(_ lines: [String]) -> [String] {
        lines.map { $0.hasPrefix(#"{"type":"state""#) ? "{ " + $0.dropFirst() : $0 }
    }

    /// The line and reason of the snapshot error that importing `path` into `store` throws;
    /// nil, with an issue recorded, for any other outcome.
    private func snapshotFailure(importing path: String, into store: Store, _ context: String) -> (line: Int, reason: String)? {
        do {
            _ = try store.importSnapshot(from: path)
            Issue.record("\(context): the import succeeded")
        } catch let TallyError.snapshot(_, line, reason) {
            return (line, reason)
        } catch {
            Issue.record("\(context): expected a snapshot error, got \(error)")
        }
        return nil
    }

    private func scans(_ line: String) -> Bool {
        Array(line.utf8).withUnsafeBufferPointer { SnapshotFormat.StateLine.scan($0) != nil }
    }

    @Test("a snapshot imports into the same store whether its state lines are read directly or through the parser",
          arguments: Backend.available)
    func sameStoreEitherWay(backend: Backend) throws {
        let stores = TestStores(backend)
        let source = try stores.store("source")
        try seed(source)
        let written = directory.file("written.jsonl")
        try source.exportSnapshot(to: written)
        let original = try lines(written)
        let stateLines = original.filter { $0.hasPrefix(#"{"type":"state""#) }
        // Both readings are exercised: most lines directly, the unusual bodies through the parser.
        #expect(stateLines.filter(scans).count == 8)
        #expect(stateLines.filter { !scans($0) }.count == 3)
        let other = directory.file("respaced.jsonl")
        try writeSealed(respaced(original), to: other)
        #expect(try lines(other).filter(scans).isEmpty)

        let direct = try stores.store("direct")
        let parsed = try stores.store("parsed")
        let directReport = try direct.importSnapshot(from: written)
        let parsedReport = try parsed.importSnapshot(from: other)
        #expect(directReport.added == 11 && directReport.eventsAppended == 7)
        #expect(directReport.added == parsedReport.added && directReport.records == parsedReport.records)

        // The two stores export the same records, which are the source's.
        let fromDirect = directory.file("from-direct.jsonl"), fromParsed = directory.file("from-parsed.jsonl")
        try direct.exportSnapshot(to: fromDirect)
        try parsed.exportSnapshot(to: fromParsed)
        let records = { (path: String) throws -> [String] in Array(try lines(path).dropFirst().dropLast()) }
        #expect(try records(fromDirect) == records(fromParsed))
        #expect(try records(fromDirect) == records(written))
        #expect(try direct.verify().isClean)
    }

    @Test("for 20,000 damaged state lines, whatever is read without the parser is exactly what the parser reads")
    func scanAgreesWithTheParser() throws {
        let source = try Store(path: directory.file("source.db"))
        try seed(source)
        try source.state.put("notes/numbers", body: ["big": 999_999_999_999_999, "neg": -12, "zero": 0, "list": [0, -1, [[]], [:]]])
        try source.state.update("notes/plain", status: "open-2")
        let written = directory.file("written.jsonl")
        try source.exportSnapshot(to: written)
        let originals = try lines(written).filter { $0.hasPrefix(#"{"type":"state""#) }.map { Array($0.utf8) }
        let alphabet = Array("{}[]:,\"\\ 0123456789-.eEntrufals/_ABab\u{e9}".utf8) + [0x00, 0x0A, 0x7F, 0x80, 0xC3, 0xFF]
        var random = SeededGenerator(seed: 0x51A7_E11E)
        var read = 0
        for iteration in 0..<20_000 {
            var bytes = originals[Int(random.next() % UInt64(originals.count))]
            for _ in 0...(random.next() % 3) {
                let at = Int(random.next() % UInt64(bytes.count))
                switch random.next() % 4 {
                case 0: bytes[at] = alphabet[Int(random.next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: at)
                case 2: bytes.insert(alphabet[Int(random.next() % UInt64(alphabet.count))], at: at)
                default: bytes.insert(bytes[at], at: at)
                }
                if bytes.isEmpty { bytes = [UInt8(ascii: "{")] }
            }
            guard let scanned = bytes.withUnsafeBufferPointer({ SnapshotFormat.StateLine.scan($0) }) else { continue }
            read += 1
            let text = String(decoding: bytes, as: UTF8.self)
            let parsed: JSONValue
            do {
                parsed = try JSONValue.parseStrict(utf8: bytes)
            } catch {
                Issue.record("iteration \(iteration): read a line the parser refuses (\(error)): \(text)")
                return
            }
            guard case let .object(record) = parsed else {
                Issue.record("iteration \(iteration): not an object: \(text)")
                return
            }
            let row = scanned.row
            #expect(record.count == 8, "iteration \(iteration): \(text)")
            #expect(record["type"] == "state")
            #expect(record["key"] == .string(row.key), "iteration \(iteration): \(text)")
            #expect(record["version"] == .number(Double(row.version)), "iteration \(iteration): \(text)")
            #expect(record["status"] == (row.status.map { .string($0) } ?? .null), "iteration \(iteration): \(text)")
            #expect(record["checksum"] == .string(row.checksum), "iteration \(iteration): \(text)")
            #expect(record["updated_at"] == .string(row.updatedAt), "iteration \(iteration): \(text)")
            #expect(record["ledger_seq"] == (row.ledgerSeq.map { .number(Double($0)) } ?? .null), "iteration \(iteration): \(text)")
            let body = try CanonicalJSON.bytes(try #require(record["body"]))
            #expect(body == Array(bytes[scanned.body]), "iteration \(iteration): \(text)")
        }
        // Damage inside values (a digit, a letter of a key or checksum) keeps lines readable.
        #expect(read > 2_000, "only \(read) damaged lines were read without the parser")
    }

    @Test("a damaged state line gives the same error read directly as read through the parser", arguments: [
        ("checksum mismatch", #""total":2000"#, #""total":2001"#),
        ("invalid key", #""invoices/INV-1002""#, #""invoices/../INV-1002""#),
        ("bad timestamp", #""updated_at":""#, #""updated_at":"soon"#),
        ("version zero", #""version":1,"#, #""version":0,"#),
        ("checksum not hex", #""checksum":""#, #""checksum":"X"#),
    ])
    func sameErrors(name: String, old: String, new: String) throws {
        let source = try Store(path: directory.file("source.db"))
        try seed(source)
        let written = directory.file("written.jsonl")
        try source.exportSnapshot(to: written)
        var damaged = try lines(written)
        let index = try #require(damaged.firstIndex { $0.contains(#""key":"invoices/INV-1002""#) })
        damaged[index] = damaged[index].replacingOccurrences(of: old, with: new)
        #expect(damaged[index].contains(new), "\(name): the damage applies")
        var reasons: [String] = []
        for (variant, lines) in [("direct", damaged), ("parsed", respaced(damaged))] {
            let path = directory.file("\(variant).jsonl")
            try writeSealed(lines, to: path)
            let target = try Store(path: directory.file("\(variant).db"))
            guard let (line, reason) = snapshotFailure(importing: path, into: target, name) else { return }
            #expect(line == index + 1)
            #expect(try target.state.count() == 0, "\(name): nothing imported")
            reasons.append(reason)
        }
        #expect(reasons.count == 2 && reasons[0] == reasons[1], "\(name): \(reasons)")
    }

    @Test("state records in any key order import the same, and a key that comes twice is refused wherever it comes")
    func keyOrder() throws {
        let source = try Store(path: directory.file("source.db"))
        try seed(source)
        let written = directory.file("written.jsonl")
        try source.exportSnapshot(to: written)
        let original = try lines(written)
        let states = original.indices.filter { original[$0].hasPrefix(#"{"type":"state""#) }
        var reversed = original
        for (index, line) in zip(states, states.reversed().map { original[$0] }) { reversed[index] = line }
        let path = directory.file("reversed.jsonl")
        try writeSealed(reversed, to: path)
        let target = try Store(path: directory.file("reversed.db"))
        #expect(try target.importSnapshot(from: path).added == 11)
        let back = directory.file("back.jsonl")
        try target.exportSnapshot(to: back)
        #expect(try Array(lines(back).dropFirst().dropLast()) == Array(original.dropFirst().dropLast()))

        // The first key again after the others (ascending until then), and after a key out of order.
        for (name, order) in [("ascending", Array(states)), ("out of order", [states[2], states[0], states[1]])] {
            var twice = original
            twice.replaceSubrange(states[0]...states[states.count - 1], with: order.map { original[$0] } + [original[order[0]]])
            let path = directory.file("twice.jsonl")
            try writeSealed(twice, to: path)
            let fresh = try Store(path: directory.file("twice-\(name).db"))
            guard let (line, reason) = snapshotFailure(importing: path, into: fresh, name) else { continue }
            #expect(line == states[0] + order.count + 1, "\(name)")
            #expect(reason.contains("duplicate key"), "\(name): \(reason)")
        }
    }

    @Test("keys that differ only in letter case are reported, within the snapshot and against the store's own keys",
          arguments: Backend.available)
    func caseCollisions(backend: Backend) throws {
        let stores = TestStores(backend)
        let source = try stores.store("source")
        for key in ["docs/readme", "docs/README", "docs/Readme", "docs/other"] {
            try source.state.put(key, body: ["k": .string(key)])
        }
        var options = Store.ExportOptions()
        options.includeLedger = false
        let path = directory.file("docs.jsonl")
        try source.exportSnapshot(to: path, options: options)

        let empty = try stores.store("empty")
        #expect(try empty.importSnapshot(from: path).caseCollisions == [
            "docs/Readme and docs/README",
            "docs/readme and docs/README", "docs/readme and docs/Readme",
        ])

        let holding = try stores.store("holding")
        try holding.state.put("docs/ReadMe", body: [:])
        let report = try holding.importSnapshot(from: path, mode: .merge)
        #expect(report.caseCollisions == [
            "docs/README and docs/ReadMe",
            "docs/Readme and docs/README", "docs/Readme and docs/ReadMe",
            "docs/readme and docs/README", "docs/readme and docs/ReadMe", "docs/readme and docs/Readme",
        ])
    }

    @Test("a store whose documents were all deleted is not empty: imported keys continue after their tombstones",
          arguments: Backend.available)
    func afterTombstones(backend: Backend) throws {
        let stores = TestStores(backend)
        let source = try stores.store("source")
        try source.state.put("invoices/INV-1", body: ["total": 1])
        var options = Store.ExportOptions()
        options.includeLedger = false
        let path = directory.file("one.jsonl")
        try source.exportSnapshot(to: path, options: options)

        let target = try stores.store("target")
        try target.state.put("invoices/INV-1", body: ["total": 0])
        try target.state.delete("invoices/INV-1")  // history: version 1, tombstone 2
        #expect(try target.state.count() == 0)
        let report = try target.importSnapshot(from: path)
        #expect(report.added == 1)
        let document = try #require(try target.state.get("invoices/INV-1"))
        #expect(document.version == 3 && document.body["total"] == 1)
    }
}
