/// The JSON Canonicalization Scheme, RFC 8785 (JCS): one exact byte sequence per JSON
/// value, so that its SHA-256 can be recomputed by any tool in any language.
///
/// The rules, and why each holds:
/// - object members sorted by the UTF-16 code units of their names (what JavaScript's
///   string comparison does, so a JavaScript implementation agrees without extra code);
/// - no whitespace;
/// - strings escape only `"`, `\` and the control characters below U+0020 (short forms
///   `\b \t \n \f \r`, otherwise `\u00xx` in lowercase), everything else is raw UTF-8;
/// - numbers as ECMAScript `Number::toString` writes them (shortest digits that read back
///   as the same double; `1e+21`, `0.000001`, `1e-7`; `-0` as `0`).
///
/// ```swift
/// let text = try CanonicalJSON.encode(["b": 1, "a": [true, nil]])   // {"a":[true,null],"b":1}
/// ```
package enum CanonicalJSON {
    /// The deepest nesting of a document or payload Tally accepts (``JSONValue/maximumDepth``):
    /// every accepted value is canonicalized, so this is where the limit is enforced. It is
    /// half the parser's limit so that every wrapper Tally puts around a document (a
    /// snapshot record, a mirror file, a `--json` line) still reads back.
    package static let maxDepth = JSONValue.maximumDepth

    /// The canonical form of `value` as a string.
    ///
    /// - Throws: ``CanonicalJSONError`` when `value` holds NaN or an infinity, or nests
    ///   deeper than ``maxDepth``.
    package static func encode(_ value: JSONValue) throws(CanonicalJSONError) -> String {
        let bytes = try bytes(value)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The canonical form of `value` as UTF-8 bytes: the exact input for a checksum.
    ///
    /// - Throws: ``CanonicalJSONError`` when `value` holds NaN or an infinity, or nests
    ///   deeper than ``maxDepth``.
    package static func bytes(_ value: JSONValue) throws(CanonicalJSONError) -> [UInt8] {
        try ByteBuffer.with(scratchCapacity: scratchCapacity) { buffer throws(CanonicalJSONError) in
            try write(value, to: &buffer, depth: 0)
            return Array(buffer.bytes)
        }
    }

    /// Appends the canonical form of `value` to `output`, so that callers building a larger
    /// buffer (a ledger hash input, a snapshot line) avoid intermediate copies.
    ///
    /// On error `output` is left exactly as it was.
    ///
    /// - Throws: ``CanonicalJSONError`` when `value` holds NaN or an infinity, or nests
    ///   deeper than ``maxDepth``.
    package static func append(_ value: JSONValue, to output: inout [UInt8]) throws(CanonicalJSONError) {
        // Written aside first: `output` only ever receives a complete value.
        try ByteBuffer.with(scratchCapacity: scratchCapacity) { buffer throws(CanonicalJSONError) in
            try write(value, to: &buffer, depth: 0)
            output.append(contentsOf: buffer.bytes)
        }
    }

    /// Stack space for writing one value: most documents and payloads fit, larger ones move
    /// to the heap.
    private static let scratchCapacity = 1_024

    /// Parses `text` strictly (``JSONParser``) and returns its canonical form.
    ///
    /// - Throws: ``JSONParseError`` when `text` is not valid JSON by Tally's rules.
    ///   (Parsed values are always finite and within the depth limit, so
    ///   ``CanonicalJSONError`` cannot occur, but the signature stays honest.)
    package static func canonicalize(json text: String) throws -> String {
        let value = try JSONParser().parse(text)
        return try encode(value)
    }

    /// The ECMAScript `Number::toString` spelling of `value` that canonical JSON uses, e.g.
    /// `1e+21`, `0.000001`, `333333333.3333333`, `0` for `-0`.
    ///
    /// - Throws: ``CanonicalJSONError`` for NaN and infinities, which JSON cannot represent.
    package static func formatNumber(_ value: Double) throws(CanonicalJSONError) -> String {
        guard value.isFinite else { throw CanonicalJSONError.nonFinite(value) }
        return JSONNumberFormatter.string(value)
    }

    // MARK: - Writing

    private static func write(_ value: JSONValue, to out: inout ByteBuffer, depth: Int) throws(CanonicalJSONError) {
        switch value {
        case .null:
            out.append("null")
        case .bool(let flag):
            out.append(flag ? "true" : "false")
        case .number(let number):
            guard number.isFinite else { throw CanonicalJSONError.nonFinite(number) }
            JSONNumberFormatter.append(number, to: &out)
        case .string(let text):
            out.appendQuoted(text)
        case .array(let elements):
            guard depth < maxDepth else { throw CanonicalJSONError.tooDeep() }
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                do {
                    try write(element, to: &out, depth: depth + 1)
                } catch {
                    throw error.inside(index: index)
                }
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            guard depth < maxDepth else { throw CanonicalJSONError.tooDeep() }
            out.append(UInt8(ascii: "{"))
            try forEachMember(of: members) { (position, key, value) throws(CanonicalJSONError) in
                if position > 0 { out.append(UInt8(ascii: ",")) }
                out.appendQuoted(key)
                out.append(UInt8(ascii: ":"))
                do throws(CanonicalJSONError) {
                    try write(value, to: &out, depth: depth + 1)
                } catch {
                    throw error.inside(key: key)
                }
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func appendASCII(_ text: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Calls `body` with an object's members in RFC 8785 order (by the UTF-16 code units of
    /// their names), numbering them from 0.
    ///
    /// Each name's first eight UTF-8 bytes are packed into an integer once, so most
    /// comparisons are one integer compare; only names that share those bytes, or whose
    /// bytes there are all non-ASCII, are compared in full (``utf16Precedes(_:_:)``). The
    /// members and their order live in stack space for the common small object.
    static func forEachMember<Failure: Error>(
        of members: [String: JSONValue],
        _ body: (_ position: Int, _ key: String, _ value: JSONValue) throws(Failure) -> Void
    ) throws(Failure) {
        let count = members.count
        guard count > 1 else {
            if let (key, value) = members.first { try body(0, key, value) }
            return
        }
        try withUnsafeTemporaryAllocation(of: NamedMember.self, capacity: count) { entries throws(Failure) in
            var filled = 0
            for (key, value) in members where filled < count {
                entries.initializeElement(at: filled, to: NamedMember(key: key, value: value))
                filled += 1
            }
            defer { _ = UnsafeMutableBufferPointer(rebasing: entries[0..<filled]).deinitialize() }
            try withUnsafeTemporaryAllocation(of: Int.self, capacity: filled) { order throws(Failure) in
                var order = order
                for position in 0..<filled { order.initializeElement(at: position, to: position) }
                order.sort { NamedMember.precedes(entries[$0], entries[$1]) }
                for (position, index) in order.enumerated() {
                    try body(position, entries[index].key, entries[index].value)
                }
            }
        }
    }

    /// A member with its sort prefix: the name's first eight UTF-8 bytes, big-endian,
    /// zero-padded.
    private struct NamedMember {
        let key: String
        let value: JSONValue
        let prefix: UInt64

        init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
            prefix = key.utf8.withContiguousStorageIfAvailable(Self.prefix) ?? Self.prefix(Array(key.utf8))
        }

        private static func prefix<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> UInt64 {
            var packed: UInt64 = 0
            var taken = 0
            for byte in bytes.prefix(8) {
                packed = packed << 8 | UInt64(byte)
                taken += 1
            }
            return packed << (8 * (8 - taken))
        }

        /// RFC 8785 order. Unequal prefixes decide by themselves when either is all ASCII:
        /// then the first differing byte is a whole ASCII scalar on that side, where UTF-8
        /// byte order and UTF-16 order agree; zero padding sorts a name before its
        /// extensions, and a tie (e.g. `"a"` and `"a\u0000"`) goes to the full compare.
        static func precedes(_ a: NamedMember, _ b: NamedMember) -> Bool {
            let asciiMask: UInt64 = 0x8080_8080_8080_8080
            if a.prefix != b.prefix, a.prefix & asciiMask == 0 || b.prefix & asciiMask == 0 {
                return a.prefix < b.prefix
            }
            return utf16Precedes(a.key, b.key)
        }
    }

    /// Whether `a` sorts before `b` by UTF-16 code units, as RFC 8785 §3.2.3 requires.
    ///
    /// Swift's `<` on strings compares by Unicode canonical equivalence, which is not what
    /// JCS wants, and transcoding every key to UTF-16 is slow; instead this compares the
    /// UTF-8 bytes (whose order is code point order) and corrects the one place where
    /// code point order and UTF-16 order disagree.
    static func utf16Precedes(_ a: String, _ b: String) -> Bool {
        let fast = a.utf8.withContiguousStorageIfAvailable { left in
            b.utf8.withContiguousStorageIfAvailable { right in utf16Precedes(left, right) }
        }
        if let fast, let fast { return fast }
        return Array(a.utf8).withUnsafeBufferPointer { left in
            Array(b.utf8).withUnsafeBufferPointer { right in utf16Precedes(left, right) }
        }
    }

    private static func utf16Precedes(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let common = min(a.count, b.count)
        var index = 0
        while index < common, a[index] == b[index] { index += 1 }
        if index == common { return a.count < b.count }
        // The bytes before `index` are equal, so both strings have a scalar starting at the
        // same position `start`; find it.
        var start = index
        while start > 0, a[start] & 0xC0 == 0x80 { start -= 1 }
        let leadA = a[start]
        let leadB = b[start]
        // Code point order equals UTF-16 order except that scalars above U+FFFF (UTF-8 lead
        // 0xF0–0xF4, UTF-16 surrogates 0xD800–0xDBFF) sort *before* U+E000–U+FFFF
        // (UTF-8 lead 0xEE–0xEF) in UTF-16.
        if leadA >= 0xF0, leadB == 0xEE || leadB == 0xEF { return true }
        if leadB >= 0xF0, leadA == 0xEE || leadA == 0xEF { return false }
        return a[index] < b[index]
    }

    /// Appends `text` as a JSON string with RFC 8785's minimal escaping
    /// (``ByteBuffer/appendQuoted(_:)``), for writers that build `[UInt8]` lines.
    static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        // Most strings (keys, ids, hashes, timestamps) need no escape: copy them whole.
        let copied: Bool? = text.utf8.withContiguousStorageIfAvailable { bytes in
            guard !bytes.contains(where: ByteBuffer.needsEscape) else { return false }
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: bytes)
            out.append(UInt8(ascii: "\""))
            return true
        }
        if copied == true { return }
        ByteBuffer.append(to: &out, scratchCapacity: 256) { $0.appendQuoted(text) }
    }

    /// Appends UTF-8 text as read from a column as a JSON string, without making a `String`
    /// when it is ASCII that needs no escape (keys, hashes, timestamps); anything else goes
    /// through ``appendQuoted(_:to:)``, which repairs invalid UTF-8 as reading the column
    /// as a `String` does.
    static func appendQuoted(utf8 text: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        if !text.contains(where: { $0 >= 0x80 || ByteBuffer.needsEscape($0) }) {
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: text)
            out.append(UInt8(ascii: "\""))
            return
        }
        appendQuoted(String(decoding: text, as: UTF8.self), to: &out)
    }
}

/// A value that has no canonical JSON form: NaN or an infinity, or nesting deeper than
/// ``CanonicalJSON/maxDepth``.
package struct CanonicalJSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong with the value, and what to do instead.
    package let reason: String
    /// Where in the value the problem is, as a JSONPath such as `$.numbers[2]` (`$` is the
    /// value itself), so a caller can name the offending field.
    package let path: String

    /// Creates an error; Tally creates these itself, the initializer exists for tests and
    /// for callers that re-wrap errors.
    package init(reason: String, path: String) {
        self.reason = reason
        self.path = path
    }

    /// A sentence naming the place and the problem.
    package var description: String {
        "cannot write canonical JSON (RFC 8785) at \(path): \(reason)"
    }

    static func nonFinite(_ value: Double) -> CanonicalJSONError {
        let name = value.isNaN ? "NaN" : (value < 0 ? "-Infinity" : "Infinity")
        return CanonicalJSONError(
            reason: "\(name) is not a JSON number (JSON and RFC 8785 only have finite numbers); store null or a string instead",
            path: "$")
    }

    static func tooDeep() -> CanonicalJSONError {
        CanonicalJSONError(
            reason: "nesting is deeper than \(CanonicalJSON.maxDepth) levels, the most Tally accepts in a document or payload",
            path: "$")
    }

    /// The same error, one level further down: paths are built while the error unwinds so
    /// the successful path pays nothing for them.
    func inside(index: Int) -> CanonicalJSONError {
        CanonicalJSONError(reason: reason, path: "$[\(index)]" + path.dropFirst())
    }

    /// The same error inside the member `key`.
    func inside(key: String) -> CanonicalJSONError {
        let isIdentifier = !key.isEmpty && key.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
                return true
            default:
                return false
            }
        } && !(key.utf8.first.map { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } ?? false)
        let step: String
        if isIdentifier {
            step = ".\(key)"
        } else {
            var quoted: [UInt8] = []
            CanonicalJSON.appendQuoted(key, to: &quoted)
            step = "[\(String(decoding: quoted, as: UTF8.self))]"
        }
        return CanonicalJSONError(reason: reason, path: "$" + step + path.dropFirst())
    }
}
