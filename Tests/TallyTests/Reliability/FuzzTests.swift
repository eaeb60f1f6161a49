import Foundation
import Testing
@testable import Tally

/// Seeded mutations of valid input: never a crash, never a partial import, always a clear error.
@Suite("Reliability: fuzzed snapshots, keys and events", .serialized)
struct FuzzTests {
    let directory = TemporaryDirectory()
    static var cases: Int { ProcessInfo.processInfo.environment["TALLY_STRESS"] == "1" ? 10_000 : 1_000 }

    private static func seed(_ salt: UInt64) -> UInt64 {
        (ProcessInfo.processInfo.environment["TALLY_SEED"].flatMap(UInt64.init) ?? 20_261_123) &+ salt
    }

    /// One seeded mutation of a snapshot's bytes.
    private func mutate(_ original: Data, _ generator: inout SeededGenerator) -> (Data, String) {
        var bytes = [UInt8](original)
        var lines = String(decoding: original, as: UTF8.self).split(separator: "\n").map(String.init)
        switch Int.random(in: 0..<7, using: &generator) {
        case 0:
            let count = Int.random(in: 1...4, using: &generator)
            for _ in 0..<count { bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
            return (Data(bytes), "flip \(count) bytes")
        case 1:
            let cut = Int.random(in: 0..<bytes.count, using: &generator)
            return (Data(bytes.prefix(cut)), "truncate at \(cut)")
        case 2:
            let index = Int.random(in: 0..<lines.count, using: &generator)
            lines.insert(lines[index], at: Int.random(in: 0...lines.count, using: &generator))
            return (Data((lines.joined(separator: "\n") + "\n").utf8), "duplicate line \(index + 1)")
        case 3:
            let a = Int.random(in: 0..<lines.count, using: &generator), b = Int.random(in: 0..<lines.count, using: &generator)
            lines.swapAt(a, b)
            return (Data((lines.joined(separator: "\n") + "\n").utf8), "swap lines \(a + 1) and \(b + 1)")
        case 4:
            let index = Int.random(in: 0..<lines.count, using: &generator)
            lines.remove(at: index)
            return (Data((lines.joined(separator: "\n") + "\n").utf8), "delete line \(index + 1)")
        case 5:
            let index = Int.random(in: 0..<lines.count, using: &generator)
            let huge = String(repeating: "Z", count: Int.random(in: 1...8, using: &generator) << 17)
            // Inside the first member name, so every record kind gets the oversized value.
            if let quote = lines[index].firstIndex(of: "\"") {
                lines[index].insert(contentsOf: huge, at: lines[index].index(after: quote))
            } else {
                lines[index] = huge + lines[index]
            }
            return (Data((lines.joined(separator: "\n") + "\n").utf8), "oversized value in line \(index + 1)")
        default:
            let index = Int.random(in: 0...lines.count, using: &generator)
            let junk = (0..<Int.random(in: 0...40, using: &generator)).map { _ in Character(UnicodeScalar(UInt8.random(in: 32...126, using: &generator))) }
            lines.insert(String(junk), at: index)
            return (Data((lines.joined(separator: "\n") + "\n").utf8), "insert junk line \(index + 1)")
        }
    }

    @Test("1,000 mutated snapshots: each fails cleanly with a line number, the database never half-imported")
    func snapshots() throws {
        let source = try Store(path: directory.file("source.db"))
        try seedCollections(source, invoices: 1...3)
        let targetPath = directory.file("target.db")
        try copyDatabase(source, to: targetPath)
        try seedCollections(source, invoices: 4...5)
        let snapshotPath = directory.file("valid.jsonl")
        try source.exportSnapshot(to: snapshotPath)
        let original = try Data(contentsOf: URL(fileURLWithPath: snapshotPath))
        let target = try Store(path: targetPath)
        let before = try databaseDump(targetPath)
        let seed = Self.seed(1)
        print("snapshot fuzz: seed \(seed), \(Self.cases) cases")
        var generator = SeededGenerator(seed: seed)
        let damaged = directory.file("fuzzed.jsonl")
        var failures = 0
        for index in 0..<Self.cases {
            let (bytes, mutation) = mutate(original, &generator)
            if bytes == original { continue }  // e.g. a line swapped with itself
            try bytes.write(to: URL(fileURLWithPath: damaged))
            do {
                _ = try target.importSnapshot(from: damaged, mode: index % 2 == 0 ? .replace : .merge)
                Issue.record("case \(index) (\(mutation)) was accepted")
            } catch {
                failures += 1
                switch error {
                case let .snapshot(_, line, reason):
                    #expect(line >= 0 && !reason.isEmpty, "case \(index) (\(mutation))")
                default:
                    Issue.record("case \(index) (\(mutation)): not a snapshot error: \(error)")
                }
            }
            if index % 50 == 0 || index == Self.cases - 1 {
                #expect(try databaseDump(targetPath) == before, "case \(index) (\(mutation)) changed the database")
            }
        }
        print("FUZZ snapshot_cases=\(Self.cases) rejected=\(failures)")
    }

    @Test("1,000 random state keys: each is stored and read back, or refused as invalidKey")
    func keys() throws {
        let store = try Store(path: directory.file("keys.db"))
        var generator = SeededGenerator(seed: Self.seed(2))
        let alphabet = Array("abcXYZ019._-/ ./\u{0}\u{7F}é€😀\\:*?\"<>|\n")
        var accepted = 0
        try store.write { tx in
            for _ in 0..<Self.cases {
                let length = Int.random(in: 0...12, using: &generator)
                var key = String((0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
                if Int.random(in: 0..<10, using: &generator) == 0 { key += String(repeating: "k", count: 250) }
                do {
                    try tx.state.put(key, body: ["k": .string(key)])
                    #expect(try tx.state.get(key)?.body["k"] == .string(key))
                    accepted += 1
                } catch let error as TallyError {
                    guard case .invalidKey = error else {
                        Issue.record("key \(key.debugDescription): expected invalidKey, got \(error)")
                        continue
                    }
                } catch {
                    Issue.record("key \(key.debugDescription): not a TallyError: \(error)")
                }
            }
        }
        print("FUZZ key_cases=\(Self.cases) accepted=\(accepted)")
        #expect(accepted > 0)
    }

    @Test("1,000 random events: each is stored with a valid chain, or refused as invalidInput")
    func events() throws {
        let store = try Store(path: directory.file("events.db"))
        var generator = SeededGenerator(seed: Self.seed(3))
        /// Usually the first (valid) option, sometimes any of the others.
        func pick<T>(_ options: [T]) -> T {
            Int.random(in: 0..<10, using: &generator) < 8 ? options[0] : options[Int.random(in: 0..<options.count, using: &generator)]
        }
        var accepted = 0
        for _ in 0..<Self.cases {
            let event = NewEvent(
                stream: pick(["invoice/INV-\(Int.random(in: 0..<9, using: &generator))", "", "invoice/INV-1", String(repeating: "s", count: 300), "a\u{0}b", "ü"]),
                kind: pick(["charge", "", String(repeating: "k", count: 70), "pay\nment"]),
                amount: pick([1250, nil, 0, -1250, Int64.max, Int64.min, 1 << 53, (1 << 53) + 1]),
                currency: pick(["EUR", nil, "eur", "EU", "JPY", "€€€"]),
                quantity: pick([nil, 1.5, .nan, .infinity, -0.0, 1e300]),
                payload: pick([[:], ["a": 1], [1, 2], "x", ["n": .number(.nan)], ["deep": [[[["x"]]]]]]),
                eventID: pick([nil, nil, "", "id-\(Int.random(in: 0..<20, using: &generator))", String(repeating: "e", count: 200)]),
                expectedStreamVersion: pick([nil, nil, 0, -1, 5]))
            do {
                try store.ledger.append(event)
                accepted += 1
            } catch {
                switch error {
                case .invalidInput, .conflict, .duplicateEvent: break
                default: Issue.record("event \(event): unexpected \(error)")
                }
            }
        }
        print("FUZZ event_cases=\(Self.cases) accepted=\(accepted)")
        #expect(try store.ledger.verifyChain().isIntact)
    }
}
