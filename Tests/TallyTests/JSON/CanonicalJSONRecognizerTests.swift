import Testing
@testable import Tally

/// `CanonicalJSON.canonicalValueEnd(in:from:)` lets readers take canonical bytes as they are.
/// Its promise is one-sided: whatever it accepts parses to a value whose canonical bytes are
/// exactly the bytes accepted; it may decline canonical text outside its shapes.
@Suite("Recognizing canonical JSON without parsing it")
struct CanonicalJSONRecognizerTests {
    /// The end the recognizer reports for `text` read from offset 0.
    private func end(_ text: String) -> Int? {
        Array(text.utf8).withUnsafeBufferPointer { CanonicalJSON.canonicalValueEnd(in: $0, from: 0) }
    }

    private func end(_ bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBufferPointer { CanonicalJSON.canonicalValueEnd(in: $0, from: 0) }
    }

    @Test("canonical values of the common shapes are recognized whole", arguments: [
        "null", "true", "false", "0", "7", "-7", "999999999999999", "-999999999999999", "\"\"", "\"a b\u{7F}\"",
        "[]", "{}", "[[]]", "[{}]", "{\"a\":{}}", "[1,-2,0,\"x\",null,true,false]",
        "{\"A\":1,\"B\":2,\"a\":3,\"aa\":4,\"b\":5}", "{\"\":0,\" \":1}",
        "{\"currency\":\"EUR\",\"lines\":[{\"price\":1250,\"qty\":2}],\"note\":\"caf\u{e9} \u{1F600} \u{10FFFF}\"}",
    ])
    func recognizes(_ text: String) throws {
        #expect(end(text) == text.utf8.count)
        #expect(try CanonicalJSON.encode(JSONValue.parse(text)) == text)
    }

    @Test("text that is not canonical, or not JSON at all, is declined", arguments: [
        // Whitespace, member order, duplicate names.
        " 1", "[1, 2]", "{\"a\": 1}", "{\"b\":1,\"a\":2}", "{\"a\":1,\"a\":2}", "{\"aa\":1,\"a\":2}",
        // Numbers whose canonical spelling differs, or that the recognizer leaves to the parser.
        "-0", "01", "1.0", "1.5", "1e2", "1E2", "10000000000000000", "1000000000000000", "+1", "-", "--1",
        // Strings: escapes, raw control characters, invalid UTF-8, unterminated.
        "\"a\\nb\"", "\"a\\\"b\"", "\"\\u00e9\"", "\"tab\there\"", "\"unterminated",
        // Names outside printable ASCII.
        "{\"\u{e9}\":1}", "{\"a\\u0000\":1}",
        // Structure.
        "[", "[1", "[1,", "[1,]", "{", "{\"a\"", "{\"a\":", "{\"a\":1", "{\"a\":1,}", "]", "}", "", "nul", "tru", "fals", "[1}", "{\"a\":1]",
        "x", "'a'", "NaN",
    ])
    func declines(_ text: String) {
        #expect(end(text) != text.utf8.count, "accepted \(text)")
    }

    @Test("invalid UTF-8 inside a string is declined: overlong, surrogate, beyond U+10FFFF, truncated, stray continuation")
    func invalidUTF8() {
        for sequence: [UInt8] in [[0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80], [0xFF]] {
            let bytes = [UInt8(ascii: "\"")] + sequence + [UInt8(ascii: "\"")]
            #expect(end(bytes) == nil, "accepted \(sequence)")
        }
    }

    @Test("nesting up to the recognizer's depth is followed; deeper values are left to the parser, with no recursion")
    func depth() {
        let limit = CanonicalJSON.recognizerMaxDepth
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect(end(deepest) == deepest.utf8.count)
        let deeper = "[" + deepest + "]"
        #expect(end(deeper) == nil)
        let hostile = String(repeating: "[", count: 1_000_000)
        #expect(end(hostile) == nil)
    }

    @Test("the value ends where it ends: what follows is the caller's to check")
    func valueInsideALine() {
        let line = Array("{\"body\":{\"a\":[1,2]},\"next\":true}".utf8)
        line.withUnsafeBufferPointer { bytes in
            #expect(CanonicalJSON.canonicalValueEnd(in: bytes, from: 8) == 19)
            #expect(CanonicalJSON.canonicalValueEnd(in: bytes, from: 1) == 7)  // the string "body"
        }
    }

    @Test("for 3,000 random values the recognizer accepts the canonical bytes exactly when the value is of the recognized shapes")
    func acceptsExactlyTheRecognizedShapes() throws {
        var generator = RecognizableGenerator(random: SeededGenerator(seed: 0x0C0F_FEE5))
        var accepted = 0
        for iteration in 0..<3_000 {
            let value = generator.value()
            let canonical = try CanonicalJSON.bytes(value)
            let expected = RecognizableGenerator.isRecognizable(value)
            #expect((end(canonical) == canonical.count) == expected, "iteration \(iteration): \(value)")
            if expected { accepted += 1 }
        }
        // The generator must exercise both answers.
        #expect(accepted > 1_000 && accepted < 2_900, "\(accepted) of 3,000 recognizable")
    }

    @Test("for 20,000 damaged canonical texts, whatever the recognizer accepts parses back to exactly its own bytes")
    func acceptedTextIsCanonical() throws {
        var generator = RecognizableGenerator(random: SeededGenerator(seed: 0xDA4A_6ED0))
        var acceptedDamaged = 0
        for iteration in 0..<20_000 {
            var bytes = try CanonicalJSON.bytes(generator.value())
            generator.damage(&bytes)
            guard end(bytes) == bytes.count else { continue }
            let parsed: JSONValue
            do {
                parsed = try JSONValue.parseStrict(utf8: bytes)
            } catch {
                Issue.record("iteration \(iteration): accepted text the parser refuses (\(error)): \(String(decoding: bytes, as: UTF8.self))")
                return
            }
            #expect(try CanonicalJSON.bytes(parsed) == bytes, "iteration \(iteration): \(String(decoding: bytes, as: UTF8.self))")
            acceptedDamaged += 1
        }
        // Many damages leave canonical text (a changed digit or letter); some must be tried.
        #expect(acceptedDamaged > 1_000, "only \(acceptedDamaged) damaged texts were accepted")
    }
}

/// Random values, half of them inside the recognizer's shapes, and random damage to text.
private struct RecognizableGenerator {
    var random: SeededGenerator

    mutating func int(_ bound: Int) -> Int {
        Int(random.next() % UInt64(bound))
    }

    /// Whether `value` is of the shapes the recognizer accepts, decided from the value (not
    /// from its text) so the test does not repeat the recognizer's logic.
    static func isRecognizable(_ value: JSONValue, depth: Int = 0) -> Bool {
        switch value {
        case .null, .bool: return true
        case let .number(number):
            return number == number.rounded() && abs(number) < 1e15  // -0 is written as 0
        case let .string(text):
            return !text.unicodeScalars.contains { $0.value < 0x20 || $0 == "\"" || $0 == "\\" }
        case let .array(elements):
            return depth < CanonicalJSON.recognizerMaxDepth && elements.allSatisfy { isRecognizable($0, depth: depth + 1) }
        case let .object(members):
            return depth < CanonicalJSON.recognizerMaxDepth && members.allSatisfy { name, member in
                name.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x80 && $0 != "\"" && $0 != "\\" }
                    && isRecognizable(member, depth: depth + 1)
            }
        }
    }

    mutating func scalar() -> Unicode.Scalar {
        let pools: [ClosedRange<UInt32>] = [
            0x20...0x7F, 0x20...0x7F, 0x20...0x7F, 0x20...0x7F, 0x61...0x7A, 0x00...0x1F, 0x22...0x22, 0x5C...0x5C,
            0x80...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFF, 0x10000...0x10FFFF,
        ]
        let pool = pools[int(pools.count)]
        return Unicode.Scalar(pool.lowerBound + UInt32(random.next() % UInt64(pool.count))) ?? "?"
    }

    mutating func string(asciiOnly: Bool) -> String {
        var text = String.UnicodeScalarView()
        for _ in 0..<int(8) {
            let next = scalar()
            // Mostly printable ASCII, sometimes anything, so both answers come up.
            if int(12) == 0 || (next.value >= 0x20 && next.value < 0x80 && next != "\"" && next != "\\") || !asciiOnly && next.value >= 0x80 {
                text.append(next)
            }
        }
        return String(text)
    }

    mutating func number() -> Double {
        switch int(8) {
        case 0: return Double(int(2_000_001) - 1_000_000) / 100
        case 1: return Double(random.next() >> 11) * (int(2) == 0 ? 1 : -1)
        case 2: return -0.0
        case 3: return Double(int(10)) * 1e14 * (int(2) == 0 ? 1 : -1)
        default: return Double(int(2_000_001) - 1_000_000)
        }
    }

    mutating func value(depth: Int = 0) -> JSONValue {
        switch int(depth >= 3 ? 4 : 7) {
        case 0: return [.null, .bool(true), .bool(false)][int(3)]
        case 1, 2: return .number(number())
        case 3: return .string(string(asciiOnly: false))
        case 4: return .array((0..<int(5)).map { _ in value(depth: depth + 1) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<int(5) { members[string(asciiOnly: true)] = value(depth: depth + 1) }
            return .object(members)
        }
    }

    /// One random edit: a byte changed, removed, duplicated or inserted, or two swapped.
    mutating func damage(_ bytes: inout [UInt8]) {
        let alphabet = Array("{}[]:,\"\\ 0123456789-+.eE abzAZ\u{e9}".utf8) + [0x00, 0x0A, 0x80, 0xC3, 0xFF]
        guard !bytes.isEmpty else {
            bytes.append(alphabet[int(alphabet.count)])
            return
        }
        let at = int(bytes.count)
        switch int(5) {
        case 0: bytes[at] = alphabet[int(alphabet.count)]
        case 1: bytes.remove(at: at)
        case 2: bytes.insert(bytes[at], at: at)
        case 3: bytes.insert(alphabet[int(alphabet.count)], at: at)
        default: bytes.swapAt(at, int(bytes.count))
        }
    }
}
