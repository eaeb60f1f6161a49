import Testing
@testable import Tally

@Suite struct JSONPrettyPrinterTests {
    @Test func layout() {
        let value: JSONValue = ["name": "Ada", "tags": ["x", 1e21, -0.0], "empty": [:], "none": [], "nested": ["b": nil, "a": true]]
        let expected = """
            {
              "empty": {},
              "name": "Ada",
              "nested": {
                "a": true,
                "b": null
              },
              "none": [],
              "tags": [
                "x",
                1e+21,
                0
              ]
            }
            """
        #expect(value.prettyPrinted() == expected)
        #expect(value.prettyPrinted(indent: 2) == expected)
        #expect(value.prettyPrinted(indent: 4).contains("\n        \"a\": true,\n"))
        #expect(value.prettyPrinted(indent: 0).hasPrefix("{\n\"empty\": {},\n\"name\""))
        #expect(value.prettyPrinted(indent: -3) == value.prettyPrinted(indent: 0))
    }

    @Test func scalarsAndEscaping() {
        #expect(JSONValue.number(1).prettyPrinted() == "1")
        #expect(JSONValue.null.prettyPrinted() == "null")
        #expect(JSONValue.string("tab\there \"q\" é\u{1}").prettyPrinted() == #""tab\there \"q\" é\u0001""#)
        #expect(JSONValue.array([]).prettyPrinted() == "[]")
    }

    @Test func isStableAndReadsBack() throws {
        let text = #"{"z": [1, {"y": "é", "x": [0.1, 1e-7]}], "a": {"\ud83d\ude00": 1, "\ufb33": 2}}"#
        let value = try JSONValue.parse(text)
        let pretty = value.prettyPrinted()
        #expect(try JSONValue.parse(pretty) == value)
        #expect(try JSONValue.parse(pretty).prettyPrinted() == pretty)
        // Keys in canonical (UTF-16) order: the emoji before U+FB33.
        let emoji = try #require(pretty.range(of: "\u{1F600}"))
        let dalet = try #require(pretty.range(of: "\u{FB33}"))
        #expect(emoji.lowerBound < dalet.lowerBound)
    }

    @Test func descriptionIsTheCanonicalForm() throws {
        let value: JSONValue = ["b": [1, 2.5, "x"], "a": nil]
        #expect(value.description == #"{"a":null,"b":[1,2.5,"x"]}"#)
        #expect(try value.description == CanonicalJSON.encode(value))
        #expect("\(JSONValue.string("q"))" == #""q""#)
    }

    @Test func nonFiniteNumbersAreVisibleNotValid() {
        let value: JSONValue = [.number(.nan), .number(.infinity), .number(-.infinity)]
        #expect(value.description == "[NaN,Infinity,-Infinity]")
        #expect(throws: JSONParseError.self) { try JSONParser().parse(value.prettyPrinted()) }
    }

    @Test("laying out canonical bytes gives exactly the layout of the value they encode, for 3,000 random values")
    func reindentEqualsTheTreeLayout() throws {
        var generator = JSONRoundTripTests.Generator(random: SeededGenerator(seed: 20261129))
        var samples: [JSONValue] = [
            [:], [], ["a": [:]], ["a": []], [[], [[]], [:]], "}{][,:\\\"", ["k\"}": ["v,": "]:{"]], .number(-0.0), .null,
        ]
        for _ in 0..<3000 { samples.append(generator.value()) }
        for value in samples {
            let canonical = try CanonicalJSON.bytes(value)
            for (indent, level) in [(2, 0), (2, 1), (4, 3), (0, 0)] {
                var tree: [UInt8] = [], bytes: [UInt8] = []
                JSONPrettyPrinter.write(value, indent: indent, level: level, to: &tree)
                canonical.withUnsafeBytes { JSONPrettyPrinter.reindent(canonical: $0, indent: indent, level: level, to: &bytes) }
                #expect(bytes == tree, "indent \(indent), level \(level): \(value)")
                if bytes != tree { return }
            }
        }
        // Bytes that are not canonical JSON give no meaningful layout, but never a crash.
        for garbage in ["}}}]]", "\"unterminated", "\\", "{\"a\":\"\\", "[[[[", ",,::", ""] {
            var out: [UInt8] = []
            Array(garbage.utf8).withUnsafeBytes { JSONPrettyPrinter.reindent(canonical: $0, indent: 2, level: 0, to: &out) }
        }
    }
}
