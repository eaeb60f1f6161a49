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
        var output: [UInt8] = []
        output.reserveCapacity(256)
        try append(value, to: &output)
        return output
    }

    /// Appends the canonical form of `value` to `output`, so that callers building a larger
    /// buffer (a ledger hash input, a snapshot line) avoid intermediate copies.
    ///
    /// On error `output` is left exactly as it was.
    ///
    /// - Throws: ``CanonicalJSONError`` when `value` holds NaN or an infinity, or nests
    ///   deeper than ``maxDepth``.
    package static func append(_ value: JSONValue, to output: inout [UInt8]) throws(CanonicalJSONError) {
        let mark = output.count
        do {
            try write(value, to: &output, depth: 0)
        } catch {
            output.removeSubrange(mark...)
            throw error
        }
    }

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

    private static func write(_ value: JSONValue, to out: inout [UInt8], depth: Int) throws(CanonicalJSONError) {
        switch value {
        case .null:
            appendASCII("null", to: &out)
        case .bool(let flag):
            appendASCII(flag ? "true" : "false", to: &out)
        case .number(let number):
            guard number.isFinite else { throw CanonicalJSONError.nonFinite(number) }
            JSONNumberFormatter.append(number, to: &out)
        case .string(let text):
            appendQuoted(text, to: &out)
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
            var first = true
            for index in sortedIndices(members) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                let key = members[index].key
                appendQuoted(key, to: &out)
                out.append(UInt8(ascii: ":"))
                do {
                    try write(members[index].value, to: &out, depth: depth + 1)
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

    /// The positions of an object's members in RFC 8785 order (UTF-16 code units of the
    /// names). Sorting positions rather than (key, value) pairs avoids copying and
    /// retaining every value just to order the keys.
    static func sortedIndices(_ members: [String: JSONValue]) -> [Dictionary<String, JSONValue>.Index] {
        var indices = Array(members.indices)
        if indices.count > 1 {
            indices.sort { utf16Precedes(members[$0].key, members[$1].key) }
        }
        return indices
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

    /// Appends `text` as a JSON string with RFC 8785's minimal escaping.
    static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { appendEscaped($0, to: &out) }
        if done == nil {
            Array(text.utf8).withUnsafeBufferPointer { appendEscaped($0, to: &out) }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var runStart = 0
        for index in 0..<bytes.count {
            let byte = bytes[index]
            if byte >= 0x20, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") { continue }
            // Copy the unescaped run in one go; most strings never get here at all.
            if runStart < index {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
            }
            runStart = index + 1
            out.append(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case 0x08: out.append(UInt8(ascii: "b"))
            case 0x09: out.append(UInt8(ascii: "t"))
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0C: out.append(UInt8(ascii: "f"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            default:
                out.append(UInt8(ascii: "u"))
                out.append(UInt8(ascii: "0"))
                out.append(UInt8(ascii: "0"))
                out.append(hexDigit(byte >> 4))
                out.append(hexDigit(byte & 0x0F))
            }
        }
        if runStart < bytes.count {
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
        }
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
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
