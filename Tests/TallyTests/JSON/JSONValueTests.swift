import Foundation
import Testing
@testable import Tally

@Suite struct JSONValueTests {
    @Test func literalsBuildTheExpectedCases() {
        let payload: JSONValue = ["sku": "A1", "n": 2, "price": 4.5, "ok": true, "note": nil, "tags": ["x", 1]]
        #expect(payload == .object([
            "sku": .string("A1"), "n": .number(2), "price": .number(4.5), "ok": .bool(true),
            "note": .null, "tags": .array([.string("x"), .number(1)]),
        ]))
        // A repeated key in a literal keeps the last value instead of trapping.
        let repeated: JSONValue = ["a": 1, "a": 2]
        #expect(repeated == ["a": 2])
    }

    @Test func accessors() {
        let value: JSONValue = ["s": "text", "n": 2, "half": 2.5, "big": 1e300, "b": false, "z": nil, "a": [1, "two"], "o": ["k": "v"]]
        #expect(value["s"]?.stringValue == "text")
        #expect(value["n"]?.doubleValue == 2)
        #expect(value["n"]?.intValue == 2)
        #expect(value["half"]?.intValue == nil)
        #expect(value["big"]?.intValue == nil)
        #expect(value["b"]?.boolValue == false)
        #expect(value["z"]?.isNull == true)
        #expect(value["missing"] == nil)
        #expect(value["a"]?[1]?.stringValue == "two")
        #expect(value["a"]?[2] == nil)
        #expect(value["a"]?[-1] == nil)
        #expect(value["a"]?.arrayValue?.count == 2)
        #expect(value["o"]?.objectValue == ["k": "v"])
        #expect(value["o"]?["k"] == "v")
        // Wrong kinds give nil rather than trapping or converting.
        #expect(value["s"]?.doubleValue == nil)
        #expect(value["n"]?.stringValue == nil)
        #expect(value["s"]?["k"] == nil)
        #expect(value[0] == nil)
        #expect(JSONValue.null.isNull && !JSONValue.bool(false).isNull)
        #expect(JSONValue.string("x").objectValue == nil && JSONValue.number(1).arrayValue == nil)
        #expect(JSONValue.number(1).boolValue == nil)
    }

    @Test func hashableAndSendable() async {
        let set: Set<JSONValue> = [["a": 1], ["a": 1], [1, 2], "x", nil, .number(0), .number(-0.0)]
        #expect(set.count == 5)
        let value: JSONValue = ["a": [1, 2]]
        let copied = await Task.detached { value }.value
        #expect(copied == value)
    }

    struct Invoice: Codable, Equatable {
        var id: String
        var amount: Int
        var rate: Double
        var paid: Bool
        var lines: [Line]
        var extra: JSONValue?
        var note: String?

        struct Line: Codable, Equatable {
            var sku: String
            var qty: Int
        }
    }

    @Test func bridgesAppCodableTypes() throws {
        let invoice = Invoice(
            id: "INV-1", amount: 1250, rate: 0.1, paid: false,
            lines: [.init(sku: "A1", qty: 2)], extra: ["any": ["json", 1, nil]], note: nil)
        let value = try JSONValue(encoding: invoice)
        #expect(value == [
            "id": "INV-1", "amount": 1250, "rate": 0.1, "paid": false,
            "lines": [["sku": "A1", "qty": 2]], "extra": ["any": ["json", 1, nil]],
        ])
        #expect(try value.decode(Invoice.self) == invoice)
        #expect(try JSONValue(encoding: "plain") == "plain")
        #expect(try JSONValue(encoding: [1, 2]) == [1, 2])
    }

    @Test func bridgingRefusesIntegersADoubleCannotHold() throws {
        struct Event: Codable { var id: Int64 }
        let error = try #require(throws: TallyError.self) { try JSONValue(encoding: Event(id: 9_007_199_254_740_993)) }
        #expect(error.description.contains("beyond ±2^53"))
        #expect(error.description.contains("$.id"))
        #expect(try JSONValue(encoding: Event(id: 9_007_199_254_740_992)) == ["id": 9_007_199_254_740_992])
    }

    @Test func decodingReportsMismatchesAndNonFiniteNumbers() throws {
        let value: JSONValue = ["id": 1]
        let mismatch = try #require(throws: TallyError.self) { try value.decode(Invoice.self) }
        #expect(mismatch.description.contains("$.id: expected a string, found a number"))
        #expect(throws: TallyError.self) { try JSONValue.number(.nan).decode(Double.self) }
    }

    @Test func codableConformanceIsThePlainJSONValue() throws {
        struct Wrapper: Codable, Equatable { var body: JSONValue }
        let wrapper = Wrapper(body: ["b": [true, nil, 1.5, "s"], "a": [:]])
        let data = try JSONEncoder().encode(wrapper)
        // Plain JSON, no enum case names.
        #expect(try JSONValue.parse(utf8: data) == ["body": ["b": [true, nil, 1.5, "s"], "a": [:]]])
        #expect(try JSONDecoder().decode(Wrapper.self, from: data) == wrapper)
        // Booleans stay Booleans and numbers stay numbers.
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data("[true, 1, 0, false]".utf8)) == [true, 1, 0, false])
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data("null".utf8)) == nil)
    }
}
