import Foundation
import Testing
@testable import Tally

/// A snapshot whose trailer was recomputed after its records were changed passes the byte
/// checks and reaches the importer's checks of each field. Whatever was changed, the import
/// either takes a snapshot that then verifies clean, or refuses it naming a line, and a
/// refused import leaves the database exactly as it was.
@Suite("Snapshots changed field by field, with the trailer recomputed: imported and verified clean, or refused by line with nothing written")
struct SnapshotMutationTests {
    /// Values a field is set to: the wrong type, the edges of each type, text that is not
    /// what the field holds.
    static let edgeValues: [JSONValue] = [
        .null, true, 0, -1, 1, 2, 1.5, -0.0, 9_007_199_254_740_992, 1e300, "", "..", "x/y", "0", "EUR", "eur",
        .string(String(repeating: "a", count: 300)), .string(String(repeating: "0", count: 64)), "a\u{0}b", "\u{2028}",
        "2026-13-45T99:99:99Z", "1970-01-01T00:00:00.000Z", [], [1], [:], ["a": 1],
    ]

    /// The records of `source`'s snapshot, header first, without the trailer.
    private func records(of source: Store, in directory: TemporaryDirectory) throws -> [[String: JSONValue]] {
        let path = directory.file("source.jsonl")
        try source.exportSnapshot(to: path)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropLast()
        return try lines.map { line in
            guard case let .object(members) = try JSONValue.parse(String(line)) else {
                throw TallyError.internal("a snapshot line is not an object")
            }
            return members
        }
    }

    /// One to three changes to records after the header, or to the header itself.
    private func mutate(_ records: [[String: JSONValue]], _ random: inout SeededGenerator) -> [[String: JSONValue]] {
        var records = records
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let index = Int.random(in: 0..<records.count, using: &random)
            var record = records[index]
            switch Int.random(in: 0..<5, using: &random) {
            case 0:
                if let key = record.keys.sorted().randomElement(using: &random) {
                    record[key] = Self.edgeValues.randomElement(using: &random)
                }
            case 1:
                if let key = record.keys.sorted().randomElement(using: &random) { record[key] = nil }
            case 2:
                record["unexpected"] = Self.edgeValues.randomElement(using: &random)
            case 3 where index > 0:
                records.insert(record, at: index)
            default:
                let other = Int.random(in: 1..<records.count, using: &random)
                records.swapAt(max(1, index), other)
                continue
            }
            records[index] = record
        }
        return records
    }

    /// The snapshot text of `records`, with a trailer that matches them.
    private func snapshot(_ records: [[String: JSONValue]]) -> String {
        var text = ""
        for record in records { text += JSONValue.object(record).description + "\n" }
        let counted = records.dropFirst().count { record in
            if case let .string(type)? = record["type"] { return ["state", "event", "checkpoint", "consumer"].contains(type) }
            return false
        }
        let trailer: JSONValue = ["type": "end", "records": .number(Double(counted)), "sha256": .string(Digest.sha256Hex(Array(text.utf8)))]
        return text + trailer.description + "\n"
    }

    @Test("changed snapshots import into a fresh store and verify clean, or are refused by line with nothing written",
          arguments: Backend.available)
    func mutatedSnapshots(backend: Backend) throws {
        let stores = TestStores(backend)
        let source = try stores.store("source")
        for index in 0..<8 {
            let event = try source.ledger.append(stream: "invoice/\(index % 3)", kind: index % 2 == 0 ? "charge" : "payment",
                                                 amount: Int64(index * 125 - 300), currency: index % 3 == 0 ? "JPY" : "EUR",
                                                 payload: ["n": .number(Double(index)), "note": "caf\u{e9}"])
            if index % 2 == 0 {
                try source.state.put("invoices/INV-\(index)", body: ["total": .number(Double(index)), "lines": [1, "x"]],
                                     status: "open", causedBy: event)
            }
        }
        _ = try source.signCheckpoint(with: try Checkpoint.SigningKey.generate(forLedger: try source.ledgerID()))
        let original = try records(of: source, in: stores.directory)

        let (generator, _) = SeededGenerator.announced("mutated snapshots", backend.rawValue)
        var random = generator
        let rounds = backend == .sqlite ? 120 : 30
        var imported = 0
        var refusedLines = Set<Int>()
        for round in 0..<rounds {
            let path = stores.directory.file("mutated-\(round).jsonl")
            // Round 0 is the unchanged snapshot: the control every other round is judged against.
            try snapshot(round == 0 ? original : mutate(original, &random)).write(toFile: path, atomically: true, encoding: .utf8)
            let name = "target\(round)"
            let target = try stores.store(name)
            let before = try databaseDump(stores, name)
            do {
                try target.importSnapshot(from: path)
                imported += 1
                let report = try target.verify()
                #expect(report.isClean, "round \(round): imported, but verify found \(report.findings)")
                try target.exportSnapshot(to: stores.directory.file("again-\(round).jsonl"))
            } catch let TallyError.snapshot(_, line, reason) {
                #expect(line >= 1, "round \(round): \(reason)")
                refusedLines.insert(line)
                #expect(try databaseDump(stores, name) == before, "round \(round): refused at line \(line) but the database changed")
            }
        }
        // The control imports, and refusals come from many lines, not only the trailer. That
        // some changed snapshots are accepted too is asserted only over SQLite's 120 rounds:
        // few changes leave a valid snapshot, and PostgreSQL's 30 rounds can hold none (CI
        // drew such a seed, 214882).
        #expect(imported > 0 && imported < rounds, "\(imported) of \(rounds) imported")
        if backend == .sqlite { #expect(imported > 1, "no changed snapshot of \(rounds - 1) was accepted") }
        #expect(refusedLines.count > 3, "refused at lines \(refusedLines.sorted())")
    }
}
