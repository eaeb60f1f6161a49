import Foundation
import Testing
@testable import Tally

/// The README's fifth promise, over random documents rich in the awkward parts (control
/// characters, non-BMP scalars, U+E000…U+FFFF, extreme doubles): anything a put or an append
/// accepts is read back as written, exported, imported, mirrored and reconciled clean.
@Suite("What goes in comes out: random accepted bodies and payloads survive export, import, mirror and reconcile")
struct AcceptedRoundTripTests {
    /// Whether `value` holds the character U+0000 anywhere (which PostgreSQL refuses).
    private func holdsNUL(_ value: JSONValue) -> Bool {
        switch value {
        case let .string(text): return text.unicodeScalars.contains("\u{0}")
        case let .array(elements): return elements.contains(where: holdsNUL)
        case let .object(members): return members.contains { $0.key.unicodeScalars.contains("\u{0}") || holdsNUL($0.value) }
        default: return false
        }
    }

    @Test("random bodies and payloads: what is accepted reads back equal and round-trips; on PostgreSQL only U+0000 is refused, saying so",
          arguments: Backend.available)
    func randomDocuments(backend: Backend) throws {
        let (seeded, _) = SeededGenerator.announced("accepted round trip", backend.rawValue)
        var generator = JSONRoundTripTests.Generator(random: seeded)
        let stores = TestStores(backend)
        let store = try stores.store("source")
        var bodies: [String: JSONValue] = [:]
        var refused = 0
        for index in 0..<60 {
            let body: JSONValue = ["v": generator.value(), "i": .number(Double(index))]
            let payload: JSONValue = ["p": generator.value()]
            let key = "docs/d\(index)"
            if backend == .postgres, holdsNUL(body) || holdsNUL(payload) {
                let error = try #require(throws: TallyError.self) {
                    try store.write { tx in
                        try tx.state.put(key, body: body)
                        try tx.ledger.append(stream: "s/\(index % 4)", kind: "k", payload: payload)
                    }
                }
                #expect(error.problem.contains("U+0000"), "\(error)")
                refused += 1
                continue
            }
            try store.write { tx in
                let event = try tx.ledger.append(stream: "s/\(index % 4)", kind: "k", payload: payload)
                #expect(event.payload == payload)
                try tx.state.put(key, body: body, causedBy: event)
            }
            bodies[key] = body
        }
        #expect(!bodies.isEmpty)
        for (key, body) in bodies { #expect(try store.state.get(key)?.body == body, "\(key)") }
        var events = store.ledger.events()
        for event in try events.collect() { #expect(try store.ledger.event(seq: event.seq) == event) }
        #expect(try store.verify().isClean)

        // Export, import into a fresh store, export again: the same records.
        let first = stores.directory.file("first.jsonl"), second = stores.directory.file("second.jsonl")
        try store.exportSnapshot(to: first)
        let copy = try stores.store("copy")
        try copy.importSnapshot(from: first)
        try copy.exportSnapshot(to: second)
        func records(_ path: String) throws -> [Substring] {
            Array(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst().dropLast())
        }
        #expect(try records(second) == records(first))
        for (key, body) in bodies { #expect(try copy.state.get(key)?.body == body, "\(key)") }

        // Mirrored, the files reconcile clean with either store and with the snapshot.
        let mirror = stores.directory.file("mirror")
        try store.mirror(to: mirror)
        #expect(try store.reconcile(against: .directory(mirror)).isClean)
        #expect(try copy.reconcile(against: .directory(mirror)).isClean)
        #expect(try copy.reconcile(against: .snapshot(first)).isClean)
        if backend == .sqlite { #expect(refused == 0) }
    }
}
