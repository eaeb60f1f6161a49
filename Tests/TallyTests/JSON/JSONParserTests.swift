import Foundation
import Testing
@testable import Tally

/// A text the parser must refuse, with the reason fragment and the position it must name.
struct JSONRejection: Sendable, CustomTestStringConvertible {
    let bytes: [UInt8]
    let reason: String
    let line: Int
    let column: Int

    init(_ text: String, _ reason: String, line: Int = 1, column: Int) {
        self.init(bytes: Array(text.utf8), reason, line: line, column: column)
    }

    init(bytes: [UInt8], _ reason: String, line: Int = 1, column: Int) {
        self.bytes = bytes
        self.reason = reason
        self.line = line
        self.column = column
    }

    var testDescription: String {
        String(decoding: bytes.prefix(40), as: UTF8.self).debugDescription
    }
}

@Suite struct JSONParserTests {
    // MARK: Rejections, each with its position

    static let rejections: [JSONRejection] = [
        // Structure
        JSONRejection("", "empty input", column: 1),
        JSONRejection("   ", "unexpected end of input: expected a JSON value", column: 4),
        JSONRejection(#"{"a":1} x"#, "unexpected character 'x'; expected the end of the input after the JSON value", column: 9),
        JSONRejection("[1] [2]", "expected the end of the input", column: 5),
        JSONRejection("1 2", "expected the end of the input", column: 3),
        JSONRejection("nulls", "unexpected character 's'", column: 5),
        JSONRejection("[1,2,]", "trailing comma in array", column: 5),
        JSONRejection("[1,\n  ]", "trailing comma in array", column: 3),
        JSONRejection("{\n  \"a\": 1,\n}", "trailing comma in object", line: 2, column: 9),
        JSONRejection("[,1]", "unexpected character ','; expected a JSON value", column: 2),
        JSONRejection("[1 2]", "expected ',' or ']' after an array element", column: 4),
        JSONRejection(#"{"a":1 "b":2}"#, "expected ',' or '}' after an object member", column: 8),
        JSONRejection(#"{"a" 1}"#, "expected ':' after the member name", column: 6),
        JSONRejection("{1:2}", "object keys must be strings in double quotes", column: 2),
        JSONRejection(#"{"a":1,,"b":2}"#, "object keys must be strings", column: 8),
        JSONRejection("[1, 2", "unexpected end of input: expected ',' or ']' after an array element", column: 6),
        JSONRejection(#"{"a":1"#, "unexpected end of input: expected ',' or '}'", column: 7),
        JSONRejection(#"{"a""#, "unexpected end of input: expected ':'", column: 5),
        JSONRejection(#"{"a":"#, "unexpected end of input: expected a JSON value", column: 6),
        JSONRejection("[1]]", "unexpected character ']'", column: 4),
        // Comments and JavaScript-isms
        JSONRejection("[1, // one\n 2]", "comments are not allowed in JSON", column: 5),
        JSONRejection("/* c */ {}", "comments are not allowed in JSON", column: 1),
        JSONRejection("{'a': 1}", "strings must be enclosed in double quotes, not single quotes", column: 2),
        JSONRejection("['x']", "double quotes, not single quotes", column: 2),
        JSONRejection("{a: 1}", "unexpected character 'a'; expected a member name", column: 2),
        JSONRejection("undefined", "unexpected character 'u'", column: 1),
        JSONRejection("True", "unexpected character 'T'", column: 1),
        JSONRejection("tru", "invalid literal: expected 'true'", column: 1),
        JSONRejection("[fals]", "invalid literal: expected 'false'", column: 2),
        JSONRejection("nul", "invalid literal: expected 'null'", column: 1),
        JSONRejection("\u{C}1", "unexpected control character U+000C", column: 1),
        JSONRejection("\u{A0}1", "unexpected character '\u{A0}' (U+00A0)", column: 1),
        JSONRejection("[\u{201C}a\u{201D}]", "unexpected character '\u{201C}' (U+201C)", column: 2),
        // Numbers: grammar
        JSONRejection("[01]", "leading zeros are not allowed in numbers", column: 2),
        JSONRejection("-01", "leading zeros are not allowed", column: 1),
        JSONRejection("00", "leading zeros are not allowed", column: 1),
        JSONRejection("[NaN]", "NaN is not valid JSON: numbers must be finite", column: 2),
        JSONRejection("Infinity", "Infinity is not valid JSON", column: 1),
        JSONRejection("[1, -Infinity]", "-Infinity is not valid JSON", column: 5),
        JSONRejection("-", "expected a digit after '-'", column: 2),
        JSONRejection("-a", "expected a digit after '-'", column: 2),
        JSONRejection("1.", "expected a digit after the decimal point", column: 3),
        JSONRejection("1.e5", "expected a digit after the decimal point", column: 3),
        JSONRejection("1e", "expected a digit in the exponent", column: 3),
        JSONRejection("1e+", "expected a digit in the exponent", column: 4),
        JSONRejection(".5", "numbers must start with a digit", column: 1),
        JSONRejection("+1", "numbers must not start with '+'", column: 1),
        JSONRejection("0x10", "unexpected character 'x'", column: 2),
        // Numbers: range and exactness
        JSONRejection("9007199254740993", "number 9007199254740993 cannot be represented exactly as an IEEE-754 double (it would be read as 9007199254740992)", column: 1),
        JSONRejection("[-9007199254740993]", "number -9007199254740993 cannot be represented exactly", column: 2),
        JSONRejection("{\"id\":\n  12345678901234567890}", "store large integers such as IDs as strings", line: 2, column: 3),
        JSONRejection("100000000000000000000000", "(it would be read as 1e+23)", column: 1),
        JSONRejection("1e400", "number 1e400 is too large for an IEEE-754 double (it would become Infinity)", column: 1),
        JSONRejection("[-1.5E+309]", "number -1.5E+309 is too large", column: 2),
        JSONRejection("1" + String(repeating: "0", count: 400), "is too large for an IEEE-754 double", column: 1),
        JSONRejection("-2" + String(repeating: "0", count: 308), "is too large", column: 1),
        JSONRejection("1" + String(repeating: "0", count: 308), "(it would be read as 1e+308)", column: 1),
        // Strings
        JSONRejection(#"["abc"#, "unterminated string: no closing '\"' before the end of the input", column: 2),
        JSONRejection(#""abc\"#, "unterminated string", column: 1),
        JSONRejection(#""\x""#, "invalid escape '\\x' in string", column: 2),
        JSONRejection(#""ab\'""#, "invalid escape '\\''", column: 4),
        JSONRejection(#""\U0041""#, "invalid escape '\\U'", column: 2),
        JSONRejection(#""\u12""#, "invalid \\u escape: expected 4 hex digits", column: 2),
        JSONRejection(#""\u12G4""#, "expected 4 hex digits", column: 2),
        JSONRejection(#""\u12"#, "expected 4 hex digits", column: 2),
        JSONRejection(#""\uD800""#, "lone high surrogate \\uD800 in string", column: 2),
        JSONRejection(#""\ud83dx""#, "lone high surrogate \\uD83D", column: 2),
        JSONRejection(#""\uD800\u0041""#, "lone high surrogate", column: 2),
        JSONRejection(#""\uD800\uD800""#, "lone high surrogate", column: 2),
        JSONRejection(#""ab\uDE00""#, "lone low surrogate \\uDE00 in string: it must follow a high surrogate", column: 4),
        JSONRejection("\"a\tb\"", "unescaped control character U+0009 in string; write it as \\t", column: 3),
        JSONRejection("\"line\nbreak\"", "unescaped control character U+000A in string; write it as \\n", column: 6),
        JSONRejection("{\"k\": \"\u{0}\"}", "unescaped control character U+0000 in string; write it as \\u0000", column: 8),
        // Byte order mark
        JSONRejection("\u{FEFF}{}", "byte order mark", column: 1),
        // Duplicate keys, named
        JSONRejection(#"{"a":1,"b":2,"a":3}"#, #"duplicate key "a""#, column: 14),
        JSONRejection("{\"x\": {\n \"k\": [], \"k\": {}}}", #"duplicate key "k""#, line: 2, column: 11),
        JSONRejection(#"{"\u00e9":1,"e\u0301":2}"#, "Unicode-equivalent to the earlier key", column: 13),
        // Columns count characters, not bytes
        JSONRejection("[\"ééé\", x]", "unexpected character 'x'", column: 9),
        JSONRejection("{\n  \"a\": 1,\n  \"b\": tru\n}", "invalid literal", line: 3, column: 8),
    ]

    static let invalidUTF8: [JSONRejection] = [
        JSONRejection(bytes: [0x22, 0xC0, 0x80, 0x22], "invalid UTF-8: overlong encoding (lead byte 0xC0)", column: 2),
        JSONRejection(bytes: [0x22, 0xC1, 0xBF, 0x22], "overlong encoding", column: 2),
        JSONRejection(bytes: [0x22, 0xE0, 0x80, 0xAF, 0x22], "overlong encoding (lead byte 0xE0)", column: 2),
        JSONRejection(bytes: [0x22, 0xF0, 0x80, 0x80, 0xAF, 0x22], "overlong encoding (lead byte 0xF0)", column: 2),
        JSONRejection(bytes: [0x22, 0x61, 0xED, 0xA0, 0x80, 0x22], "a UTF-16 surrogate (U+D800…U+DFFF) encoded as UTF-8", column: 3),
        JSONRejection(bytes: [0x22, 0xED, 0xBF, 0xBF, 0x22], "UTF-16 surrogate", column: 2),
        JSONRejection(bytes: [0x22, 0xE2, 0x82, 0x22], "truncated sequence (lead byte 0xE2 needs 2 continuation bytes)", column: 2),
        JSONRejection(bytes: [0x22, 0xC3], "truncated sequence (lead byte 0xC3 needs 1 continuation byte)", column: 2),
        JSONRejection(bytes: [0x22, 0xF0, 0x9F, 0x98], "truncated sequence", column: 2),
        JSONRejection(bytes: [0x22, 0xC3, 0x41, 0x22], "truncated sequence", column: 2),
        JSONRejection(bytes: [0x22, 0x80, 0x22], "unexpected continuation byte 0x80", column: 2),
        JSONRejection(bytes: [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], "code point beyond U+10FFFF", column: 2),
        JSONRejection(bytes: [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], "beyond U+10FFFF", column: 2),
        JSONRejection(bytes: [0x22, 0xFF, 0x22], "byte 0xFF never appears in UTF-8", column: 2),
        JSONRejection(bytes: [0x5B, 0xFF, 0x5D], "unexpected byte 0xFF (invalid UTF-8)", column: 2),
        JSONRejection(bytes: [0x7B, 0x22, 0x6B, 0x22, 0x3A, 0x0A, 0x22, 0xC3, 0xA9, 0xC3, 0x22, 0x7D], "truncated", line: 2, column: 3),
        JSONRejection(bytes: [0xEF, 0xBB, 0xBF, 0x31], "the input starts with a byte order mark (U+FEFF)", column: 1),
    ]

    @Test(arguments: rejections + invalidUTF8)
    func rejects(_ case: JSONRejection) throws {
        let error = try #require(throws: JSONParseError.self) { try JSONParser().parse(utf8: `case`.bytes) }
        #expect(error.reason.contains(`case`.reason), "reason: \(error.reason)")
        #expect(error.line == `case`.line, "\(error)")
        #expect(error.column == `case`.column, "\(error)")
        #expect(error.description == "invalid JSON at line \(error.line), column \(error.column): \(error.reason)")
        // The String entry point agrees when the bytes are valid UTF-8.
        if let text = String(validating: `case`.bytes, as: UTF8.self) {
            #expect(throws: error) { try JSONParser().parse(text) }
        }
    }

    @Test func errorDescriptionReadsLikeTheSpec() throws {
        let error = try #require(throws: JSONParseError.self) { try JSONParser().parse(#"{"a": 1, "a": 2}"#) }
        #expect(error == JSONParseError(reason: #"duplicate key "a""#, offset: 9, line: 1, column: 10))
        #expect(error.description == #"invalid JSON at line 1, column 10: duplicate key "a""#)
    }

    @Test func offsetsAreUTF8Bytes() throws {
        let error = try #require(throws: JSONParseError.self) { try JSONParser().parse("[\"€\", ?]") }
        #expect(error.offset == 8)
        #expect(error.column == 7)
    }

    @Test func longLiteralsAreAbbreviatedInMessages() throws {
        let literal = "1" + String(repeating: "7", count: 100)
        let error = try #require(throws: JSONParseError.self) { try JSONParser().parse(literal) }
        #expect(error.reason.contains("…"))
        #expect(error.reason.count < 400)
    }

    // MARK: Depth

    @Test func nestingUpToTheLimitIsAccepted() throws {
        let depth = JSONParser.defaultMaxDepth
        let arrays = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(try JSONValue.parse(arrays) != .null)
        let objects = String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
        var value = try JSONValue.parse(objects)
        for _ in 0..<depth { value = try #require(value["a"]) }
        #expect(value == 1)
    }

    @Test func aMillionOpeningBracketsFailWithoutCrashing() throws {
        let text = String(repeating: "[", count: 1_000_000)
        let error = try #require(throws: JSONParseError.self) { try JSONParser().parse(text) }
        #expect(error.reason == "nesting is deeper than 512 levels of arrays and objects")
        #expect(error.offset == 512)
        #expect(error.column == 513)
        let objects = String(repeating: #"{"k":["#, count: 300_000)
        let objectError = try #require(throws: JSONParseError.self) { try JSONParser().parse(objects) }
        #expect(objectError.reason.contains("deeper than 512"))
    }

    @Test func depthLimitIsConfigurable() throws {
        #expect(try JSONParser(maxDepth: 2).parse("[[1]]") == [[1]])
        let error = try #require(throws: JSONParseError.self) { try JSONParser(maxDepth: 2).parse(#"[{"a":[]}]"#) }
        #expect(error.column == 7)
        #expect(try JSONParser(maxDepth: 0).parse("7") == 7)
        #expect(throws: JSONParseError.self) { try JSONParser(maxDepth: 0).parse("[]") }
        #expect(throws: JSONParseError.self) { try JSONParser(maxDepth: 2).parse("[[[]]]") }
    }

    // MARK: Accepted input

    @Test func parsesEveryKindOfValue() throws {
        let text = """
             \t\r
            {"null": null, "t": true, "f": false, "int": -12, "real": 4.5e-1,
             "s": "x", "empty": "", "arr": [1, [], {}], "obj": {"nested": {"deep": [null]}}}
            \n
            """
        let expected: JSONValue = [
            "null": nil, "t": true, "f": false, "int": -12, "real": 0.45, "s": "x", "empty": "",
            "arr": [1, [], [:]], "obj": ["nested": ["deep": [nil]]],
        ]
        #expect(try JSONValue.parse(text) == expected)
        #expect(try JSONValue.parse("1") == 1)
        #expect(try JSONValue.parse(" \"x\" ") == "x")
        #expect(try JSONValue.parse("null") == nil)
        #expect(try JSONValue.parse("true") == true)
        #expect(try JSONValue.parse("[]") == [])
        #expect(try JSONValue.parse("{}") == [:])
    }

    @Test func decodesEscapesAndUnicode() throws {
        #expect(try JSONValue.parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{8}\u{C}\n\r\t"))
        #expect(try JSONValue.parse(#""\u00e9\u00E9\u20AC""#) == .string("\u{E9}\u{E9}\u{20AC}"))
        #expect(try JSONValue.parse(#""\ud83d\ude00\uD834\uDD1E""#) == .string("\u{1F600}\u{1D11E}"))
        #expect(try JSONValue.parse(#""a\u0000b""#) == .string("a\u{0}b"))
        #expect(try JSONValue.parse("\"raw é € 😀 \u{7F} \u{10FFFF}\"") == .string("raw é € 😀 \u{7F} \u{10FFFF}"))
        #expect(try JSONValue.parse(#""mixed é\n€""#) == .string("mixed é\n€"))
        #expect(try JSONValue.parse(#"{"\u0041":"\u0042"}"#) == ["A": "B"])
        // Decomposed and precomposed strings keep their own bytes.
        let decomposed = try #require(try JSONValue.parse(#""e\u0301""#).stringValue)
        #expect(Array(decomposed.utf8) == [0x65, 0xCC, 0x81])
    }

    @Test func numbersAtTheExactnessBoundary() throws {
        #expect(try JSONValue.parse("9007199254740992") == .number(9_007_199_254_740_992))
        #expect(try JSONValue.parse("-9007199254740992") == .number(-9_007_199_254_740_992))
        #expect(try JSONValue.parse("9007199254740994") == .number(9_007_199_254_740_994))
        #expect(try JSONValue.parse("18446744073709551616") == .number(18_446_744_073_709_551_616))
        #expect(try JSONValue.parse("10000000000000000000000") == .number(1e22))
        // ECMAScript's spelling of 2^68 (what CanonicalJSON writes) reads back as 2^68.
        #expect(try JSONValue.parse("295147905179352830000") == .number(0x1p68))
        #expect(try JSONValue.parse("295147905179352825856") == .number(0x1p68))
        #expect(try JSONValue.parse("1e300") == .number(1e300))
        #expect(try JSONValue.parse("0.1") == .number(0.1))
        #expect(try JSONValue.parse("1e21") == .number(1e21))
        #expect(try JSONValue.parse("5e-324") == .number(.leastNonzeroMagnitude))
        #expect(try JSONValue.parse("1.7976931348623157e308") == .number(.greatestFiniteMagnitude))
        // Below the smallest subnormal a number would silently become zero: refused, like
        // a number too large for a double.
        let underflow = try #require(throws: JSONParseError.self) { try JSONParser().parse("1e-400") }
        #expect(underflow.reason.contains("too small"))
        #expect(throws: JSONParseError.self) { try JSONParser().parse("-2.5e-330") }
        #expect(try JSONValue.parse("0e-400") == .number(0))
        // A fraction or exponent marks a floating-point literal: no exactness rule.
        #expect(try JSONValue.parse("9007199254740993.0") == .number(9_007_199_254_740_992))
        #expect(try JSONValue.parse("9007199254740993e0") == .number(9_007_199_254_740_992))
    }

    @Test func negativeZeroKeepsItsSign() throws {
        let value = try #require(try JSONValue.parse("-0").doubleValue)
        #expect(value == 0 && value.sign == .minus)
        #expect(try JSONValue.parse("-0.0e5").doubleValue?.sign == .minus)
        #expect(try JSONValue.parse("0").doubleValue?.sign == .plus)
        #expect(try CanonicalJSON.encode(JSONValue.parse("-0")) == "0")
    }

    @Test func numberConversionIsCorrectlyRounded() throws {
        // Hard cases for decimal → binary conversion.
        let cases = [
            "2.2250738585072011e-308", "2.2250738585072012e-308", "4.9406564584124654e-324",
            "0.1", "0.2", "0.3", "1.1", "123456789012345.678", "9007199254740991.5",
            "3.141592653589793238462643383279", "1.00000000000000011102230246251565404236316680908203125",
            "7.038531e-26", "1448997445238699", "0.000001", "1e23", "8.98846567431158e307",
            "-12.5", "1E-22", "1e22", "123e-20", "12345678901234e-30",
        ]
        for text in cases {
            let parsed = try #require(try JSONValue.parse(text).doubleValue)
            let reference = try #require(Double(text))
            #expect(parsed.bitPattern == reference.bitPattern, "\(text)")
        }
    }

    @Test func numbersAgreeWithTheStandardLibraryOnRandomLiterals() throws {
        var random = SeededGenerator(seed: 0x5EED_0001)
        for _ in 0..<20_000 {
            var text = random.next() % 2 == 0 ? "-" : ""
            let integerDigits = Int(random.next() % 18) + 1
            for index in 0..<integerDigits {
                text += String(index == 0 ? random.next() % 9 + 1 : random.next() % 10)
            }
            if integerDigits > 15 && random.next() % 3 != 0 { continue }
            if random.next() % 2 == 0 {
                text += "."
                for _ in 0..<(Int(random.next() % 20) + 1) { text += String(random.next() % 10) }
            }
            if random.next() % 2 == 0 {
                text += "e" + (random.next() % 2 == 0 ? "-" : "") + String(random.next() % 330)
            } else if !text.contains(".") && integerDigits > 15 {
                continue
            }
            let reference = try #require(Double(text))
            let significand = text.prefix { $0 != "e" }
            if reference.isInfinite || (reference == 0 && significand.contains(where: { ("1"..."9").contains($0) })) {
                #expect(throws: JSONParseError.self) { try JSONParser().parse(text) }
                continue
            }
            let parsed = try #require(try JSONValue.parse(text).doubleValue)
            #expect(parsed.bitPattern == reference.bitPattern, "\(text)")
        }
    }

    @Test func canonicalSpellingsOfRandomDoublesReadBack() throws {
        var random = SeededGenerator(seed: 0x5EED_0002)
        for _ in 0..<50_000 {
            let value = Double(bitPattern: random.next())
            guard value.isFinite else { continue }
            let text = try CanonicalJSON.formatNumber(value)
            let back = try #require(try JSONValue.parse(text).doubleValue, "\(text)")
            #expect(back == value, "\(text)")
        }
        // Integers between 2^53 and 10^21 are written without exponent; they must read back.
        for _ in 0..<20_000 {
            let value = Double(random.next() >> 11) * Double(1 << (random.next() % 17))
            let text = try CanonicalJSON.formatNumber(value)
            #expect(try JSONValue.parse(text).doubleValue == value, "\(text)")
        }
    }

    // MARK: Entry points

    @Test func everyEntryPointGivesTheSameResult() throws {
        let text = #"{"k": ["v", 1.5, "é"]}"#
        let expected: JSONValue = ["k": ["v", 1.5, "é"]]
        let bytes = Array(text.utf8)
        #expect(try JSONValue.parse(text) == expected)
        #expect(try JSONValue.parse(utf8: bytes) == expected)
        #expect(try JSONValue.parse(utf8: bytes[...]) == expected)
        #expect(try JSONValue.parse(utf8: Data(bytes)) == expected)
        #expect(try JSONValue.parse(utf8: text.utf8) == expected)
        #expect(try JSONValue.parse(utf8: bytes.lazy.map { $0 }) == expected)
        #expect(try bytes.withUnsafeBytes { raw in try JSONValue.parse(utf8: raw) } == expected)
        #expect(try JSONParser().parse(utf8: bytes) == expected)
        #expect(try JSONParser().parse(text) == expected)
        // A slice reports offsets relative to its own start.
        let padded = Array("xx[1,]".utf8)
        let error = try #require(throws: JSONParseError.self) { try JSONParser().parse(utf8: padded[2...]) }
        #expect(error.offset == 2)
        #expect(throws: JSONParseError.self) { try JSONParser().parse(utf8: UnsafeRawBufferPointer(start: nil, count: 0)) }
    }

    @Test func parsesLargeInputsLineByLine() throws {
        // The snapshot reader's pattern: one value per line, sliced out of a big buffer.
        var buffer: [UInt8] = []
        for index in 0..<2_000 {
            buffer += Array(#"{"type":"event","seq":\#(index),"payload":{"sku":"A\#(index)","n":\#(index % 7)}}"#.utf8)
            buffer.append(0x0A)
        }
        var seqs: [Int] = []
        for line in buffer.split(separator: 0x0A) {
            let value = try JSONValue.parse(utf8: line)
            seqs.append(try #require(value["seq"]?.intValue))
        }
        #expect(seqs == Array(0..<2_000))
    }
}
