import Foundation
import Testing
@testable import Tally

/// An app's `Codable` types go into documents and payloads through Tally's own encoder, so
/// what is hashed is decided by Tally's rules on every platform, and what comes back decodes
/// to the same value.
@Suite("JSON Codable: app types round-trip through documents exactly, or are refused with the coding path")
struct JSONCodableTests {
    let directory = TemporaryDirectory("tally-codable")

    struct Invoice: Codable, Equatable {
        var id: String
        var total: Decimal
        var rate: Double
        var issued: Date
        var lines: [Line]
        var note: String?
        var attachment: Data?

        struct Line: Codable, Equatable {
            var sku: String
            var quantity: Int
        }
    }

    private let issued = Date(timeIntervalSince1970: 1_764_000_000.123)

    @Test("a document built from a Codable type reads back equal, through the store and a snapshot")
    func roundTrip() throws {
        let invoice = Invoice(id: "INV-1", total: Decimal(string: "1250.10")!, rate: 0.1, issued: issued,
                              lines: [.init(sku: "A1", quantity: 3)], note: nil, attachment: Data([0, 1, 255]))
        let store = try Store(path: directory.file("a.db"))
        try store.state.put("invoices/INV-1", body: invoice)
        let stored = try #require(try store.state.get("invoices/INV-1"))
        #expect(try stored.body.decode(Invoice.self) == invoice)
        #expect(stored.body["issued"] == "2025-11-24T16:00:00.123Z")
        #expect(stored.body["attachment"] == "AAH/")

        try store.exportSnapshot(to: directory.file("s.jsonl"))
        let copy = try Store(path: directory.file("b.db"))
        try copy.importSnapshot(from: directory.file("s.jsonl"))
        #expect(try copy.state.get("invoices/INV-1")?.body.decode(Invoice.self) == invoice)
    }

    @Test("Double edges: the shortest round-tripping text, negative zero as 0, subnormals kept exactly")
    func doubleEdges() throws {
        for value in [0.1, 1e21, 1e-7, Double.leastNonzeroMagnitude, Double.greatestFiniteMagnitude, -0.0, 123_456_789.012_345_68] {
            let encoded = try JSONValue(encoding: ["x": value])
            let text = try encoded.canonicalText()
            let back = try JSONValue.parse(text)
            let decoded = try #require(back["x"]?.doubleValue)
            #expect(decoded == value, "\(value) came back as \(decoded) via \(text)")
        }
        #expect(try JSONValue(encoding: ["x": -0.0]).canonicalText() == #"{"x":0}"#)
    }

    @Test("values JSON cannot hold exactly are refused naming the coding path, and nothing is written")
    func refusals() throws {
        let store = try Store(path: directory.file("c.db"))
        struct Holder<T: Encodable>: Encodable { var inner: [String: T] }
        let nan = try #require(throws: TallyError.self) { try store.state.put("x/nan", body: Holder(inner: ["v": Double.nan])) }
        #expect(nan.problem.contains("inner") && nan.problem.contains("v"), "\(nan)")
        let infinite = try #require(throws: TallyError.self) { try store.state.put("x/inf", body: Holder(inner: ["v": Double.infinity])) }
        #expect(infinite.problem.contains("$.inner.v: inf is not a JSON number"), "\(infinite)")
        let precise = try #require(throws: TallyError.self) {
            try store.state.put("x/dec", body: Holder(inner: ["v": Decimal(string: "0.12345678901234567890123")!]))
        }
        #expect(precise.problem.contains("Decimal"), "\(precise)")
        let big = try #require(throws: TallyError.self) { try store.state.put("x/int", body: Holder(inner: ["v": Int64.max])) }
        #expect(big.problem.contains("encode it as a String"), "\(big)")
        #expect(try store.state.count() == 0)
    }

    @Test("a payload from a Codable type is what the ledger hashes, and decodes back")
    func payloads() throws {
        struct Charge: Codable, Equatable { var sku: String; var at: Date }
        let store = try Store(path: directory.file("d.db"))
        let event = try store.ledger.append(stream: "s", kind: "charge", payload: try JSONValue(encoding: Charge(sku: "A1", at: issued)))
        #expect(try event.payload.decode(Charge.self) == Charge(sku: "A1", at: issued))
        #expect(try store.ledger.verifyChain().isIntact)
    }

    @Test("payload: and body: take an Encodable directly, and payload(as:) and body(as:) read it back, or name the field that does not fit")
    func directCodableCalls() throws {
        struct Charge: Codable, Equatable { var sku: String; var at: Date; var total: Decimal }
        struct Other: Decodable { var missing: Int }
        let charge = Charge(sku: "A1", at: issued, total: Decimal(string: "19.99")!)
        let store = try Store(path: directory.file("e.db"))
        let event = try store.ledger.append(stream: "s", kind: "charge", payload: charge)
        #expect(try event.payload(as: Charge.self) == charge)
        #expect(try store.ledger.event(seq: event.seq)?.payload(as: Charge.self) == charge)
        #expect(event.payload == (try JSONValue(encoding: charge)))

        try store.state.put("charges/A1", body: charge)
        let document = try #require(try store.state.get("charges/A1"))
        #expect(try document.body(as: Charge.self) == charge)

        let wrongType = try #require(throws: TallyError.self) { try document.body(as: Other.self) }
        #expect(wrongType.problem.contains("missing"), "\(wrongType)")
        #expect(try store.ledger.verifyChain().isIntact)
    }

    @Test("a number beyond Float's range is refused for a Float, naming the path, not turned into an infinity; within it, the nearest Float")
    func floatRange() throws {
        struct Reading: Decodable { var value: Float; var values: [Float] }
        let tooLarge = try #require(throws: TallyError.self) {
            try JSONValue.object(["value": 1e300, "values": []]).decode(Reading.self)
        }
        #expect(tooLarge.problem.contains("$.value: 1e+300 is beyond the range of Float"), "\(tooLarge)")
        let inArray = try #require(throws: TallyError.self) {
            try JSONValue.object(["value": 1, "values": [2, -4e38]]).decode(Reading.self)
        }
        #expect(inArray.problem.contains("$.values[1]: -4e+38 is beyond the range of Float"), "\(inArray)")
        let reading = try JSONValue.object(["value": 0.1, "values": [3.4e38]]).decode(Reading.self)
        #expect(reading.value == Float(0.1) && reading.values == [Float(3.4e38)])
        #expect(try JSONValue.number(1e-50).decode(Float.self) == 0)
    }
}
