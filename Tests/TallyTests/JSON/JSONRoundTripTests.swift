import Testing
@testable import Tally

/// Property tests over seeded random documents: whatever Tally writes, it reads back as the
/// same value, and canonicalization is idempotent.
@Suite struct JSONRoundTripTests {
    /// Generates JSON values rich in the awkward parts: control characters, quotes,
    /// backslashes, non-BMP scalars, U+E000…U+FFFF (where UTF-16 order differs), extreme
    /// and integral doubles.
    struct Generator {
        var random: SeededGenerator

        mutating func int(_ bound: Int) -> Int {
            Int(random.next() % UInt64(bound))
        }

        mutating func scalar() -> Unicode.Scalar {
            let pools: [ClosedRange<UInt32>] = [
                0x20...0x7E, 0x20...0x7E, 0x20...0x7E, 0x00...0x1F, 0x22...0x22, 0x5C...0x5C,
                0x7F...0x7F, 0x80...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFF, 0x10000...0x10FFFF,
                0x2028...0x2029, 0xFEFF...0xFEFF,
            ]
            let pool = pools[int(pools.count)]
            let value = pool.lowerBound + UInt32(random.next() % UInt64(pool.count))
            return Unicode.Scalar(value) ?? "?"
        }

        mutating func string() -> String {
            var text = String.UnicodeScalarView()
            for _ in 0..<int(12) { text.append(scalar()) }
            return String(text)
        }

        mutating func number() -> Double {
            switch int(6) {
            case 0: return Double(int(2_000_001) - 1_000_000)
            case 1: return Double(int(100_000)) / 100
            case 2: return Double(random.next() >> 11) * (int(2) == 0 ? 1 : -1)
            case 3: return Double(random.next() >> 11) * Double(1 << int(20))
            default:
                let value = Double(bitPattern: random.next())
                return value.isFinite ? value : 0
            }
        }

        mutating func value(depth: Int = 0) -> JSONValue {
            let kinds = depth >= 4 ? 4 : 6
            switch int(kinds) {
            case 0: return [.null, .bool(true), .bool(false)][int(3)]
            case 1, 2: return .number(number())
            case 3: return .string(string())
            case 4: return .array((0..<int(6)).map { _ in value(depth: depth + 1) })
            default:
                var members: [String: JSONValue] = [:]
                for _ in 0..<int(6) { members[string()] = value(depth: depth + 1) }
                return .object(members)
            }
        }
    }

    @Test func parseOfEncodeIsIdentityAndEncodeIsIdempotent() throws {
        var generator = Generator(random: SeededGenerator(seed: 0x7A11_7A11))
        for iteration in 0..<3_000 {
            let value = generator.value()
            let canonical = try CanonicalJSON.encode(value)
            let parsed = try JSONValue.parse(canonical)
            #expect(parsed == value, "iteration \(iteration): \(canonical)")
            #expect(try CanonicalJSON.encode(parsed) == canonical, "iteration \(iteration)")
            #expect(try CanonicalJSON.bytes(value) == Array(canonical.utf8))
            // Canonical bytes are plain ASCII-or-UTF-8 with no whitespace outside strings
            // and no raw control characters at all.
            #expect(!canonical.utf8.contains { $0 < 0x20 })
            // The human-facing forms read back as the same value too.
            #expect(try JSONValue.parse(value.prettyPrinted()) == value)
            #expect(try JSONValue.parse(value.prettyPrinted(indent: 0)) == value)
            #expect(value.description == canonical)
        }
    }

    @Test func memberOrderMatchesAPlainUTF16Comparison() {
        var generator = Generator(random: SeededGenerator(seed: 0x50_47))
        for _ in 0..<20_000 {
            let a = generator.string()
            let b = generator.int(4) == 0 ? a + generator.string() : generator.string()
            #expect(
                CanonicalJSON.utf16Precedes(a, b) == a.utf16.lexicographicallyPrecedes(b.utf16),
                "\(Array(a.unicodeScalars)) vs \(Array(b.unicodeScalars))")
        }
    }

    /// The writers order members by an 8-byte prefix first; names that share it, end inside
    /// it, or hold non-ASCII bytes there must still come out in UTF-16 order.
    @Test func objectMembersComeOutInUTF16OrderWhateverTheirFirstEightBytes() {
        var generator = Generator(random: SeededGenerator(seed: 0x0B_1E_C7))
        let stems = ["", "a", "invoice", "invoices/", "\u{E000}", "\u{1F600}", "é", "a\u{0}"]
        for _ in 0..<2_000 {
            var members: [String: JSONValue] = [:]
            for _ in 0..<generator.int(24) {
                let stem = stems[generator.int(stems.count)]
                let name: String
                switch generator.int(4) {
                case 0: name = stem
                case 1: name = stem + "\u{0}"
                default: name = stem + generator.string()
                }
                members[name] = .null
            }
            var written: [String] = []
            CanonicalJSON.forEachMember(of: members) { position, key, _ in
                #expect(position == written.count)
                written.append(key)
            }
            let expected = members.keys.sorted { $0.utf16.lexicographicallyPrecedes($1.utf16) }
            #expect(written == expected, "\(expected.map { Array($0.unicodeScalars) })")
        }
    }

    @Test func reformattedCanonicalTextIsStillTheSameDocument() throws {
        var generator = Generator(random: SeededGenerator(seed: 0xF0_4D))
        for _ in 0..<500 {
            let value = generator.value()
            let canonical = try CanonicalJSON.encode(value)
            // Re-indented by the pretty printer, then canonicalized again: same bytes.
            #expect(try CanonicalJSON.canonicalize(json: value.prettyPrinted(indent: 3)) == canonical)
        }
    }
}
