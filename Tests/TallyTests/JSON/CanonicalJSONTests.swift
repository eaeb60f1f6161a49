import Testing
@testable import Tally

/// RFC 8785 conformance: the checksums of state documents and ledger events depend on
/// these bytes, so the RFC's own examples are checked verbatim.
@Suite struct CanonicalJSONTests {
    /// RFC 8785 Appendix B: IEEE-754 bit pattern → ECMAScript spelling.
    static let appendixB: [(UInt64, String)] = [
        (0x0000_0000_0000_0000, "0"),
        (0x8000_0000_0000_0000, "0"),
        (0x0000_0000_0000_0001, "5e-324"),
        (0x8000_0000_0000_0001, "-5e-324"),
        (0x7FEF_FFFF_FFFF_FFFF, "1.7976931348623157e+308"),
        (0xFFEF_FFFF_FFFF_FFFF, "-1.7976931348623157e+308"),
        (0x4340_0000_0000_0000, "9007199254740992"),
        (0xC340_0000_0000_0000, "-9007199254740992"),
        (0x4430_0000_0000_0000, "295147905179352830000"),
        (0x44B5_2D02_C7E1_4AF5, "9.999999999999997e+22"),
        (0x44B5_2D02_C7E1_4AF6, "1e+23"),
        (0x44B5_2D02_C7E1_4AF7, "1.0000000000000001e+23"),
        (0x444B_1AE4_D6E2_EF4E, "999999999999999700000"),
        (0x444B_1AE4_D6E2_EF4F, "999999999999999900000"),
        (0x444B_1AE4_D6E2_EF50, "1e+21"),
        (0x3EB0_C6F7_A0B5_ED8C, "9.999999999999997e-7"),
        (0x3EB0_C6F7_A0B5_ED8D, "0.000001"),
        (0x41B3_DE43_5555_5553, "333333333.3333332"),
        (0x41B3_DE43_5555_5554, "333333333.33333325"),
        (0x41B3_DE43_5555_5555, "333333333.3333333"),
        (0x41B3_DE43_5555_5556, "333333333.3333334"),
        (0x41B3_DE43_5555_5557, "333333333.33333343"),
        (0xBECB_F647_612F_3696, "-0.0000033333333333333333"),
        (0x4314_3FF3_C1CB_0959, "1424953923781206.2"),
    ]

    @Test(arguments: appendixB.indices)
    func appendixBNumber(row: Int) throws {
        let (bits, expected) = Self.appendixB[row]
        let value = Double(bitPattern: bits)
        #expect(try CanonicalJSON.encode(.number(value)) == expected, "0x\(String(bits, radix: 16))")
        #expect(try CanonicalJSON.formatNumber(value) == expected)
        // And the spelling reads back as the same double (except -0, which JCS writes as 0).
        let back = try #require(try JSONValue.parse(expected).doubleValue)
        #expect(back == value)
        if value != 0 { #expect(back.bitPattern == bits) }
    }

    @Test(arguments: [
        (0x7FFF_FFFF_FFFF_FFFF as UInt64, "NaN"), (0x7FF8_0000_0000_0000, "NaN"),
        (0x7FF0_0000_0000_0000, "Infinity"), (0xFFF0_0000_0000_0000, "-Infinity"),
    ])
    func appendixBNonFiniteIsRejected(bits: UInt64, name: String) {
        let value = Double(bitPattern: bits)
        #expect(throws: CanonicalJSONError(
            reason: "\(name) is not a JSON number (JSON and RFC 8785 only have finite numbers); store null or a string instead",
            path: "$")) {
            try CanonicalJSON.encode(.number(value))
        }
        #expect(throws: CanonicalJSONError.self) { try CanonicalJSON.formatNumber(value) }
    }

    @Test func nonFiniteErrorNamesThePath() throws {
        let value: JSONValue = ["numbers": [1, 2, .number(.nan)], "a b": ["c": .number(-.infinity)]]
        let error = try #require(throws: CanonicalJSONError.self) { try CanonicalJSON.encode(value) }
        // Members are written in canonical order, so "a b" (0x61 0x20) fails first.
        #expect(error.path == #"$["a b"].c"#)
        #expect(error.reason.hasPrefix("-Infinity is not a JSON number"))
        #expect(error.description.hasPrefix(#"cannot write canonical JSON (RFC 8785) at $["a b"].c: -Infinity"#))
        let inArray = try #require(throws: CanonicalJSONError.self) {
            try CanonicalJSON.encode(["numbers": [1, 2, .number(.nan)]])
        }
        #expect(inArray.path == "$.numbers[2]")
        #expect(inArray.reason.hasPrefix("NaN"))
    }

    @Test func appendLeavesOutputUntouchedOnError() {
        var output = Array("prefix:".utf8)
        #expect(throws: CanonicalJSONError.self) {
            try CanonicalJSON.append(["a": 1, "b": [true, .number(.infinity)]], to: &output)
        }
        #expect(output == Array("prefix:".utf8))
    }

    @Test func appendAppends() throws {
        var output = Array("x".utf8)
        try CanonicalJSON.append(["b": 1, "a": nil], to: &output)
        #expect(String(decoding: output, as: UTF8.self) == #"x{"a":null,"b":1}"#)
        #expect(try CanonicalJSON.bytes(["k": "v"]) == Array(#"{"k":"v"}"#.utf8))
    }

    /// ECMAScript layout boundaries beyond the appendix.
    @Test(arguments: [
        (1e21, "1e+21"), (1e20, "100000000000000000000"), (123e18, "123000000000000000000"),
        (1e-7, "1e-7"), (1.5e-7, "1.5e-7"), (1e-6, "0.000001"), (1.25e-6, "0.00000125"),
        (.leastNonzeroMagnitude, "5e-324"), (-0.0, "0"), (0.1, "0.1"), (-0.5, "-0.5"), (100, "100"), (4.5, "4.5"),
        (1e300, "1e+300"), (2.5e-300, "2.5e-300"), (123456789.125, "123456789.125"),
        (9007199254740993.0, "9007199254740992"), (18446744073709551616.0, "18446744073709552000"),
        (0.000001234, "0.000001234"), (1234567.0, "1234567"), (-42, "-42"), (1e22, "1e+22"),
    ])
    func ecmaScriptNumberLayout(value: Double, expected: String) throws {
        #expect(try CanonicalJSON.formatNumber(value) == expected)
    }

    /// RFC 8785 §3.2.3: members sorted by UTF-16 code units, where the emoji (a surrogate
    /// pair, 0xD83D…) sorts before U+FB33 although its code point is larger.
    @Test func sortingExampleFromSection323() throws {
        let input = #"""
            {
              "\u20ac": "Euro Sign",
              "\r": "Carriage Return",
              "\ufb33": "Hebrew Letter Dalet With Dagesh",
              "1": "One",
              "\ud83d\ude00": "Emoji: Grinning Face",
              "\u0080": "Control",
              "\u00f6": "Latin Small Letter O With Diaeresis"
            }
            """#
        let expected = #"{"\r":"Carriage Return","1":"One","\#u{80}":"Control","\#u{F6}":"Latin Small Letter O With Diaeresis","\#u{20AC}":"Euro Sign","\#u{1F600}":"Emoji: Grinning Face","\#u{FB33}":"Hebrew Letter Dalet With Dagesh"}"#
        #expect(try CanonicalJSON.canonicalize(json: input) == expected)
        let keys = try #require(try JSONValue.parse(input).objectValue).keys
        let order = keys.sorted(by: CanonicalJSON.utf16Precedes)
        #expect(order == ["\r", "1", "\u{80}", "\u{F6}", "\u{20AC}", "\u{1F600}", "\u{FB33}"])
    }

    /// RFC 8785 §3.2.2: the complete example, byte for byte.
    @Test func fullExampleFromSection322() throws {
        let input = #"""
            {
              "numbers": [333333333.33333329, 1E30, 4.50,
                          2e-3, 0.000000000000000000000000001],
              "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
              "literals": [null, true, false]
            }
            """#
        let expected = #"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        #expect(try CanonicalJSON.canonicalize(json: input) == expected)
        #expect(try CanonicalJSON.bytes(JSONValue.parse(input)) == Array(expected.utf8))
        // Canonicalizing canonical JSON changes nothing.
        #expect(try CanonicalJSON.canonicalize(json: expected) == expected)
    }

    @Test func everyControlCharacterIsEscapedMinimally() throws {
        let shortForms: [UInt8: String] = [0x08: #"\b"#, 0x09: #"\t"#, 0x0A: #"\n"#, 0x0C: #"\f"#, 0x0D: #"\r"#]
        for byte in UInt8(0)..<0x20 {
            let text = String(decoding: [UInt8(ascii: "a"), byte, UInt8(ascii: "z")], as: UTF8.self)
            let escape = shortForms[byte] ?? "\\u00" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16)
            #expect(try CanonicalJSON.encode(.string(text)) == "\"a\(escape)z\"", "byte \(byte)")
            #expect(try JSONValue.parse(CanonicalJSON.encode(.string(text))) == .string(text))
        }
        // Lowercase hex, as JCS requires.
        #expect(try CanonicalJSON.encode(.string("\u{1F}\u{0B}")) == #""\u001f\u000b""#)
        // Nothing else is escaped: not DEL, not U+2028, not '/', not non-ASCII.
        let raw = "\u{7F}\u{2028}\u{2029}/<>&'é€😀\u{FEFF}"
        #expect(try CanonicalJSON.encode(.string(raw)) == "\"" + raw + "\"")
        #expect(try CanonicalJSON.encode(.string(#"say "hi" \ bye"#)) == #""say \"hi\" \\ bye""#)
    }

    @Test func surrogatePairsBecomeRawUTF8() throws {
        #expect(try CanonicalJSON.canonicalize(json: #""\ud83d\ude00 \uD834\uDD1E""#) == "\"😀 𝄞\"")
        #expect(try CanonicalJSON.bytes(.string("😀")) == [0x22, 0xF0, 0x9F, 0x98, 0x80, 0x22])
    }

    @Test func noWhitespaceAndNestedSorting() throws {
        let value: JSONValue = ["b": [["z": 1, "y": [:], "x": []]], "a": "", "": 0, "aa": false]
        #expect(try CanonicalJSON.encode(value) == #"{"":0,"a":"","aa":false,"b":[{"x":[],"y":{},"z":1}]}"#)
        #expect(try CanonicalJSON.canonicalize(json: " [ 1 , { \"b\" : 2 , \"a\" : 1 } ]\n") == #"[1,{"a":1,"b":2}]"#)
        #expect(try CanonicalJSON.encode(.null) == "null")
        #expect(try CanonicalJSON.encode("x") == #""x""#)
    }

    @Test func utf16OrderDiffersFromCodePointOrderOnlyAboveU_E000() {
        // U+E000..U+FFFF sorts after supplementary characters in UTF-16.
        #expect(CanonicalJSON.utf16Precedes("\u{1F600}", "\u{E000}"))
        #expect(!CanonicalJSON.utf16Precedes("\u{E000}", "\u{1F600}"))
        #expect(CanonicalJSON.utf16Precedes("\u{FFFF}", "\u{E000}") == false)
        #expect(CanonicalJSON.utf16Precedes("\u{D7FF}", "\u{10000}"))
        #expect(CanonicalJSON.utf16Precedes("a\u{10000}", "a\u{FFFD}"))
        #expect(CanonicalJSON.utf16Precedes("ab", "abc"))
        #expect(!CanonicalJSON.utf16Precedes("abc", "abc"))
        #expect(CanonicalJSON.utf16Precedes("\u{10000}", "\u{10001}"))
        // Swift's own `<` (canonical equivalence) is not used: "é" precomposed and
        // decomposed differ in UTF-16 and are ordered by their code units.
        #expect(CanonicalJSON.utf16Precedes("e\u{301}", "\u{E9}"))
    }

    @Test func nestingBeyondTheParserLimitIsRefused() throws {
        var deep: JSONValue = 1
        for _ in 0..<CanonicalJSON.maxDepth { deep = [deep] }
        let text = try CanonicalJSON.encode(deep)
        #expect(try JSONValue.parse(text) == deep)
        let error = try #require(throws: CanonicalJSONError.self) { try CanonicalJSON.encode(["a": deep]) }
        #expect(error.reason.contains("deeper than \(JSONValue.maximumDepth)"))
        #expect(error.path.hasPrefix("$.a[0][0]"))
    }

    @Test func canonicalizeReportsParseErrors() {
        #expect(throws: JSONParseError.self) { try CanonicalJSON.canonicalize(json: "{\"a\":1,}") }
    }
}
