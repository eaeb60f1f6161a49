/// Why a text is not JSON Tally accepts, and exactly where.
///
/// Callers wrap it into ``TallyError`` with their own context (the snapshot line, the state
/// key); ``description`` is written to be embedded in such a message.
package struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, e.g. `duplicate key "a"`.
    package let reason: String
    /// The 0-based byte offset of the offending byte in the UTF-8 input.
    package let offset: Int
    /// The 1-based line of the offending byte; lines end at LF (`\n`).
    package let line: Int
    /// The 1-based column of the offending byte, counted in Unicode scalars (UTF-8 lead
    /// bytes) so it matches what an editor shows for non-ASCII text.
    package let column: Int

    /// Creates an error; the parser creates these itself, the initializer exists for tests
    /// and for callers that re-wrap errors.
    package init(reason: String, offset: Int, line: Int, column: Int) {
        self.reason = reason
        self.offset = offset
        self.line = line
        self.column = column
    }

    /// For example `invalid JSON at line 1, column 12: duplicate key "a"`.
    package var description: String {
        "invalid JSON at line \(line), column \(column): \(reason)"
    }
}

/// A strict RFC 8259 JSON parser working directly on UTF-8 bytes.
///
/// It reads every ledger payload and every line of multi-hundred-megabyte snapshots, so it
/// is byte-level and uses no Foundation. It is also the gatekeeper for what Tally stores,
/// so it accepts only JSON that has one meaning everywhere (RFC 8259 plus the I-JSON /
/// RFC 8785 restrictions) and refuses, with a precise position, everything else:
///
/// - anything but one value surrounded by whitespace (trailing data, a leading byte order
///   mark, comments, trailing commas, single quotes, `NaN`, `Infinity`, leading zeros);
/// - strings with raw control characters, unknown escapes, lone UTF-16 surrogates in
///   `\u` escapes, or invalid UTF-8 (overlong forms, encoded surrogates, truncation);
/// - objects that repeat a member name, because readers disagree on which one wins;
/// - integers a double cannot hold exactly (beyond ±2^53, such as `9007199254740993`),
///   because they would silently change value; and numbers too large for a double;
/// - nesting deeper than ``maxDepth``. The parser itself never recurses, so even a
///   million `[` cannot exhaust the stack.
///
/// ```swift
/// let value = try JSONParser().parse(#"{"sku":"A1","n":2}"#)
/// ```
package struct JSONParser: Sendable {
    /// The nesting limit used unless a caller chooses another: deep enough for any real
    /// document, shallow enough that recursive code walking the result stays safe.
    package static let defaultMaxDepth = 512

    /// The deepest nesting of arrays and objects accepted; `[[1]]` has depth 2.
    package var maxDepth: Int

    /// Creates a parser.
    ///
    /// - Parameter maxDepth: The deepest nesting accepted.
    package init(maxDepth: Int = JSONParser.defaultMaxDepth) {
        self.maxDepth = maxDepth
    }

    /// Parses one JSON value from `text`.
    ///
    /// - Throws: ``JSONParseError`` naming the reason and position (byte offset into the
    ///   UTF-8 form of `text`, line and column).
    package func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        var text = text
        let result = text.withUTF8 { parse(buffer: $0) }
        return try result.get()
    }

    /// Parses one JSON value from UTF-8 bytes (`[UInt8]`, `Data`, `ArraySlice`, …).
    ///
    /// Contiguous collections are read in place; others are copied once.
    ///
    /// - Throws: ``JSONParseError`` naming the reason and position.
    package func parse(utf8 bytes: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
        if let result = bytes.withContiguousStorageIfAvailable({ parse(buffer: $0) }) {
            return try result.get()
        }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { parse(buffer: $0) }.get()
    }

    /// Parses one JSON value from raw memory holding UTF-8, such as a memory-mapped file
    /// region or a buffer SQLite returned, without copying.
    ///
    /// - Throws: ``JSONParseError`` naming the reason and position.
    package func parse(utf8 bytes: UnsafeRawBufferPointer) throws(JSONParseError) -> JSONValue {
        try bytes.withMemoryRebound(to: UInt8.self) { parse(buffer: $0) }.get()
    }

    // `Result` rather than `throws` because the standard library's buffer-access methods
    // are `rethrows`, which would erase the typed error.
    private func parse(buffer: UnsafeBufferPointer<UInt8>) -> Result<JSONValue, JSONParseError> {
        var core = JSONParserCore(bytes: buffer, maxDepth: maxDepth)
        do {
            return .success(try core.parseDocument())
        } catch {
            return .failure(error)
        }
    }
}

extension JSONValue {
    /// Parses one JSON value from `text`, strictly: RFC 8259 plus the I-JSON (RFC 7493)
    /// restrictions Tally relies on (no duplicate member names, no lone surrogates, no
    /// numbers a double cannot hold exactly, at most 512 levels of nesting).
    ///
    /// - Throws: ``TallyError/invalidJSON(source:reason:line:column:)``.
    public static func parse(_ text: String) throws(TallyError) -> JSONValue {
        do {
            return try JSONParser().parse(text)
        } catch {
            throw error.tallyError(source: "the text")
        }
    }

    /// Parses one JSON value from UTF-8 bytes (which must be valid UTF-8), strictly, as
    /// ``parse(_:)`` does.
    ///
    /// - Throws: ``TallyError/invalidJSON(source:reason:line:column:)``.
    public static func parse(utf8 bytes: some Collection<UInt8>) throws(TallyError) -> JSONValue {
        do {
            return try JSONParser().parse(utf8: bytes)
        } catch {
            throw error.tallyError(source: "the bytes")
        }
    }

    /// Parses `bytes` for Tally's own readers, keeping the parser's error.
    package static func parseStrict(utf8 bytes: some Collection<UInt8>,
                                    maxDepth: Int = JSONParser.defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        try JSONParser(maxDepth: maxDepth).parse(utf8: bytes)
    }

    /// Parses raw memory holding UTF-8 for Tally's own readers, without copying.
    package static func parseStrict(utf8 bytes: UnsafeRawBufferPointer,
                                    maxDepth: Int = JSONParser.defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        try JSONParser(maxDepth: maxDepth).parse(utf8: bytes)
    }
}

extension JSONParseError {
    /// The error as a ``TallyError``, naming where the text came from.
    package func tallyError(source: String) -> TallyError {
        .invalidJSON(source: source, reason: reason, line: line, column: column)
    }
}

/// The length of the well-formed UTF-8 sequence (RFC 3629) that starts at `index`, or nil
/// when it is not one: the parser's own check, for readers that validate strings without
/// parsing them (``CanonicalJSON/canonicalValueEnd(in:from:)``).
func wellFormedUTF8Length(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int? {
    if case let .valid(length, _) = JSONParserCore.checkUTF8(bytes, at: index) { return length }
    return nil
}

// MARK: - The parser proper

/// One open array or object: where its elements (and, for objects, member names) begin
/// on the parser's shared stacks.
private struct JSONFrame {
    var isObject: Bool
    var valuesStart: Int
    var keysStart: Int
}

private struct JSONParserCore {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var position = 0
    /// Reused for strings with escapes so that each does not allocate its own buffer.
    var scratch: [UInt8] = []
    /// Elements and member values of all open containers, innermost last. One shared
    /// stack instead of one growing array per container: a container's storage is
    /// allocated once, at its final size, when it closes.
    var values: [JSONValue] = []
    /// Member names of all open objects, with the offset of their opening quote.
    var keys: [(name: String, offset: Int)] = []

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// Called when the first container opens (a bare scalar needs no stacks): room for a
    /// typical document, so the stacks do not reallocate while parsing it.
    mutating func reserveStacks() {
        values.reserveCapacity(32)
        keys.reserveCapacity(16)
    }

    // MARK: Structure

    /// Parses the whole input as one value. Iterative, with an explicit stack of open
    /// containers, so the depth limit is a policy and not a guard against stack overflow.
    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            throw fail(
                "the input starts with a byte order mark (U+FEFF), which JSON text must not have (RFC 8259 §8.1); save it as UTF-8 without BOM",
                at: 0)
        }
        var stack: [JSONFrame] = []
        var value: JSONValue
        nextValue: while true {
            skipWhitespace()
            guard position < bytes.count else {
                throw fail(position == 0 ? "empty input: expected a JSON value" : "unexpected end of input: expected a JSON value", at: position)
            }
            switch bytes[position] {
            case UInt8(ascii: "["):
                guard stack.count < maxDepth else { throw tooDeep() }
                position += 1
                skipWhitespace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                    position += 1
                    value = .array([])
                } else {
                    if stack.isEmpty { reserveStacks() }
                    stack.append(JSONFrame(isObject: false, valuesStart: values.count, keysStart: keys.count))
                    continue nextValue
                }
            case UInt8(ascii: "{"):
                guard stack.count < maxDepth else { throw tooDeep() }
                position += 1
                skipWhitespace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                    position += 1
                    value = .object([:])
                } else {
                    if stack.isEmpty { reserveStacks() }
                    stack.append(JSONFrame(isObject: true, valuesStart: values.count, keysStart: keys.count))
                    try parseKey(comma: nil)
                    continue nextValue
                }
            case UInt8(ascii: "\""):
                value = .string(try parseString())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                value = .number(try parseNumber())
            case UInt8(ascii: "t"):
                try expectLiteral("true")
                value = .bool(true)
            case UInt8(ascii: "f"):
                try expectLiteral("false")
                value = .bool(false)
            case UInt8(ascii: "n"):
                try expectLiteral("null")
                value = .null
            default:
                throw unexpected(expecting: "a JSON value")
            }

            // A value is complete: hand it to the enclosing container, closing containers
            // for as long as their closing bracket follows.
            while let frame = stack.last {
                values.append(value)
                skipWhitespace()
                let close = frame.isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
                guard position < bytes.count else {
                    throw fail(
                        frame.isObject
                            ? "unexpected end of input: expected ',' or '}' after an object member"
                            : "unexpected end of input: expected ',' or ']' after an array element",
                        at: position)
                }
                switch bytes[position] {
                case UInt8(ascii: ","):
                    let comma = position
                    position += 1
                    skipWhitespace()
                    if frame.isObject {
                        try parseKey(comma: comma)
                    } else if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                        throw fail("trailing comma in array", at: comma)
                    }
                    continue nextValue
                case close:
                    position += 1
                    stack.removeLast()
                    value = frame.isObject ? .object(try closeObject(frame)) : .array(closeArray(frame))
                default:
                    throw unexpected(expecting: frame.isObject ? "',' or '}' after an object member" : "',' or ']' after an array element")
                }
            }
            skipWhitespace()
            if position < bytes.count {
                throw unexpected(expecting: "the end of the input after the JSON value")
            }
            return value
        }
    }

    mutating func closeArray(_ frame: JSONFrame) -> [JSONValue] {
        let elements = Array(values[frame.valuesStart...])
        values.removeSubrange(frame.valuesStart...)
        return elements
    }

    mutating func closeObject(_ frame: JSONFrame) throws(JSONParseError) -> [String: JSONValue] {
        var members = [String: JSONValue](minimumCapacity: values.count - frame.valuesStart)
        for (index, key) in keys[frame.keysStart...].enumerated() {
            if members.updateValue(values[frame.valuesStart + index], forKey: key.name) != nil {
                throw duplicateKey(key.name, in: members, at: key.offset)
            }
        }
        values.removeSubrange(frame.valuesStart...)
        keys.removeSubrange(frame.keysStart...)
        return members
    }

    /// Reads `"name" :` at the current position (after `{` or `,` and whitespace) onto
    /// `keys`. `comma` is where the preceding comma was, to report a trailing comma there.
    mutating func parseKey(comma: Int?) throws(JSONParseError) {
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
            if let comma, position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                throw fail("trailing comma in object", at: comma)
            }
            throw unexpected(expecting: "a member name (object keys must be strings in double quotes)")
        }
        let offset = position
        keys.append((try parseString(), offset))
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
            throw unexpected(expecting: "':' after the member name")
        }
        position += 1
    }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        if matches(literal, at: position) {
            position += count
            return
        }
        throw fail("invalid literal: expected '\(literal)'", at: position)
    }

    func matches(_ literal: StaticString, at offset: Int) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard offset + count <= bytes.count else { return false }
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: count)
        for index in 0..<count where bytes[offset + index] != expected[index] { return false }
        return true
    }

    // MARK: Strings

    /// Parses a string starting at the opening quote.
    mutating func parseString() throws(JSONParseError) -> String {
        let quote = position
        var index = position + 1
        // Fast path: ASCII without escapes, which is nearly every key and most values.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                position = index + 1
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[(quote + 1)..<index]), as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { break }
            index += 1
        }
        return try parseStringSlowly(quote: quote, resumingAt: index)
    }

    /// Handles escapes and non-ASCII. Unescaped runs are validated in place and copied
    /// only when an escape forces building the string in `scratch`.
    mutating func parseStringSlowly(quote: Int, resumingAt resume: Int) throws(JSONParseError) -> String {
        var usesScratch = false
        scratch.removeAll(keepingCapacity: true)
        var runStart = quote + 1
        var index = resume
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                position = index + 1
                let run = UnsafeBufferPointer(rebasing: bytes[runStart..<index])
                if !usesScratch { return String(decoding: run, as: UTF8.self) }
                scratch.append(contentsOf: run)
                return String(decoding: scratch, as: UTF8.self)
            case UInt8(ascii: "\\"):
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                usesScratch = true
                index = try parseEscape(at: index, quote: quote)
                runStart = index
            case 0x00..<0x20:
                throw fail("unescaped control character \(Self.scalarName(UInt32(byte))) in string; write it as \(Self.escapeAdvice(byte))", at: index)
            case 0x80...:
                switch Self.checkUTF8(bytes, at: index) {
                case .valid(let length, _): index += length
                case .invalid(let reason): throw fail(reason, at: index)
                }
            default:
                index += 1
            }
        }
        throw unterminatedString(quote)
    }

    /// Decodes the escape at `index` (a backslash) into `scratch`; returns the index after it.
    mutating func parseEscape(at index: Int, quote: Int) throws(JSONParseError) -> Int {
        guard index + 1 < bytes.count else { throw unterminatedString(quote) }
        let letter = bytes[index + 1]
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(letter)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try hexUnit(at: index)
            switch unit {
            case 0xD800...0xDBFF:
                // A high surrogate is only half a character: the low half must follow as
                // another \u escape, or the string has no Unicode meaning.
                let low: UInt32? = matches("\\u", at: index + 6) ? try hexUnit(at: index + 6) : nil
                guard let low, (0xDC00...0xDFFF).contains(low) else {
                    throw fail(
                        "lone high surrogate \\u\(Self.hex(unit, digits: 4)) in string: it must be followed by a low surrogate \\uDC00…\\uDFFF",
                        at: index)
                }
                appendUTF8(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                return index + 12
            case 0xDC00...0xDFFF:
                throw fail(
                    "lone low surrogate \\u\(Self.hex(unit, digits: 4)) in string: it must follow a high surrogate \\uD800…\\uDBFF",
                    at: index)
            default:
                appendUTF8(unit)
                return index + 6
            }
        default:
            throw fail(
                "invalid escape '\\\(Self.describeBriefly(letter))' in string; the escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX",
                at: index)
        }
        return index + 2
    }

    /// The four hex digits of the `\u` escape whose backslash is at `index`.
    func hexUnit(at index: Int) throws(JSONParseError) -> UInt32 {
        var unit: UInt32 = 0
        for offset in 2..<6 {
            guard index + offset < bytes.count else {
                throw fail("invalid \\u escape: expected 4 hex digits", at: index)
            }
            let byte = bytes[index + offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("invalid \\u escape: expected 4 hex digits", at: index)
            }
            unit = unit << 4 | UInt32(digit)
        }
        return unit
    }

    mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | scalar >> 6))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | scalar >> 12))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | scalar >> 18))
            scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    func unterminatedString(_ quote: Int) -> JSONParseError {
        fail("unterminated string: no closing '\"' before the end of the input", at: quote)
    }

    enum UTF8Check {
        case valid(length: Int, scalar: UInt32)
        case invalid(String)
    }

    /// Validates one UTF-8 sequence by RFC 3629 (the well-formed table in Unicode §3.9).
    static func checkUTF8(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> UTF8Check {
        let lead = bytes[index]
        let length: Int
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        switch lead {
        case 0x00...0x7F:
            return .valid(length: 1, scalar: UInt32(lead))
        case 0x80...0xBF:
            return .invalid("invalid UTF-8: unexpected continuation byte 0x\(hex(UInt32(lead), digits: 2)) without a lead byte")
        case 0xC0, 0xC1:
            return .invalid("invalid UTF-8: overlong encoding (lead byte 0x\(hex(UInt32(lead), digits: 2)))")
        case 0xC2...0xDF:
            length = 2
        case 0xE0:
            length = 3
            lower = 0xA0
        case 0xED:
            length = 3
            upper = 0x9F
        case 0xE1...0xEF:
            length = 3
        case 0xF0:
            length = 4
            lower = 0x90
        case 0xF1...0xF3:
            length = 4
        case 0xF4:
            length = 4
            upper = 0x8F
        case 0xF5...0xF7:
            return .invalid("invalid UTF-8: lead byte 0x\(hex(UInt32(lead), digits: 2)) would encode a code point beyond U+10FFFF")
        default:
            return .invalid("invalid UTF-8: byte 0x\(hex(UInt32(lead), digits: 2)) never appears in UTF-8")
        }
        for offset in 1..<length {
            guard index + offset < bytes.count, bytes[index + offset] & 0xC0 == 0x80 else {
                return .invalid(
                    "invalid UTF-8: truncated sequence (lead byte 0x\(hex(UInt32(lead), digits: 2)) needs \(length - 1) continuation byte\(length == 2 ? "" : "s"))")
            }
        }
        let second = bytes[index + 1]
        if second < lower || second > upper {
            switch lead {
            case 0xE0, 0xF0: return .invalid("invalid UTF-8: overlong encoding (lead byte 0x\(hex(UInt32(lead), digits: 2)))")
            case 0xED: return .invalid("invalid UTF-8: a UTF-16 surrogate (U+D800…U+DFFF) encoded as UTF-8")
            default: return .invalid("invalid UTF-8: code point beyond U+10FFFF")
            }
        }
        var scalar = UInt32(lead) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
        for offset in 1..<length { scalar = scalar << 6 | UInt32(bytes[index + offset] & 0x3F) }
        return .valid(length: length, scalar: scalar)
    }

    // MARK: Numbers

    /// Exactly representable powers of ten, for the exact fast path below.
    static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    mutating func parseNumber() throws(JSONParseError) -> Double {
        let start = position
        var index = position
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        let digitsStart = index
        guard index < bytes.count, Self.isDigit(bytes[index]) else {
            if matches("Infinity", at: index) { throw nonFiniteLiteral("-Infinity", at: start) }
            throw fail("expected a digit after '-'", at: index)
        }
        var mantissa: UInt64 = 0
        // Digits from the first non-zero one; only up to 19 fit `mantissa`.
        var significant = 0
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, Self.isDigit(bytes[index]) {
                throw fail("leading zeros are not allowed in numbers", at: start)
            }
        } else {
            while index < bytes.count, Self.isDigit(bytes[index]) {
                if significant < 19 { mantissa = mantissa &* 10 &+ UInt64(bytes[index] &- UInt8(ascii: "0")) }
                significant += 1
                index += 1
            }
        }
        let integerDigits = index - digitsStart
        var isIntegerLiteral = true
        var fractionDigits = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isIntegerLiteral = false
            index += 1
            guard index < bytes.count, Self.isDigit(bytes[index]) else {
                throw fail("expected a digit after the decimal point", at: index)
            }
            while index < bytes.count, Self.isDigit(bytes[index]) {
                let digit = bytes[index] &- UInt8(ascii: "0")
                if significant > 0 || digit != 0 { significant += 1 }
                if significant <= 19 { mantissa = mantissa &* 10 &+ UInt64(digit) }
                fractionDigits += 1
                index += 1
            }
        }
        var exponent = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isIntegerLiteral = false
            index += 1
            var exponentNegative = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            guard index < bytes.count, Self.isDigit(bytes[index]) else {
                throw fail("expected a digit in the exponent", at: index)
            }
            while index < bytes.count, Self.isDigit(bytes[index]) {
                // Saturate: beyond this the value is 0 or infinite anyway.
                if exponent < 100_000 { exponent = exponent * 10 + Int(bytes[index] &- UInt8(ascii: "0")) }
                index += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        position = index

        if significant <= 15 {
            if mantissa == 0 { return negative ? -0.0 : 0.0 }
            // Exact fast path (Clinger): both factors are exact doubles, so the single
            // correctly rounded multiplication or division gives the correctly rounded
            // result.
            let power = exponent - fractionDigits
            if power >= -22, power <= 22 {
                var value = Double(mantissa)
                if power >= 0 { value *= Self.powersOfTen[power] } else { value /= Self.powersOfTen[-power] }
                return negative ? -value : value
            }
        } else if isIntegerLiteral {
            let magnitude = try parseLongInteger(digitsStart: digitsStart, count: integerDigits, literalStart: start)
            return negative ? -magnitude : magnitude
        }
        return try convert(from: start, to: index)
    }

    /// Converts the already validated literal `bytes[start..<end]` with the C library's
    /// correctly rounded `strtod` (via `Double(_:)`); only long or extreme literals get here.
    func convert(from start: Int, to end: Int) throws(JSONParseError) -> Double {
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        guard let value = Double(text) else {
            throw fail("number \(Self.abbreviated(text)) cannot be converted to a double", at: start)
        }
        guard value.isFinite else {
            throw fail("number \(Self.abbreviated(text)) is too large for an IEEE-754 double (it would become Infinity)", at: start)
        }
        if value == 0, Self.hasNonZeroDigit(text) {
            throw fail("number \(Self.abbreviated(text)) is too small for an IEEE-754 double (it would become 0)", at: start)
        }
        return value
    }

    /// An integer literal of 16 or more digits, which may exceed what a double holds.
    ///
    /// It is accepted when the double holds it exactly (9007199254740992, 2^64), or when it
    /// is exactly how ECMAScript — and so ``CanonicalJSON`` — spells that double
    /// (295147905179352830000 for 2^68): such digits carry no information a double drops,
    /// and refusing them would make Tally's own canonical output unreadable. Anything
    /// else (9007199254740993, an `Int64` ID) would silently change value and is refused.
    func parseLongInteger(digitsStart: Int, count: Int, literalStart: Int) throws(JSONParseError) -> Double {
        let digits = UnsafeBufferPointer(rebasing: bytes[digitsStart..<(digitsStart + count)])
        // No leading zeros, so 310 digits means at least 10^309 > the largest double.
        guard count < 310 else {
            let literal = String(decoding: UnsafeBufferPointer(rebasing: bytes[literalStart..<(digitsStart + count)]), as: UTF8.self)
            throw fail("number \(Self.abbreviated(literal)) is too large for an IEEE-754 double (it would become Infinity)", at: literalStart)
        }
        let value: Double
        let exact: Bool
        if count <= 19 {
            var integer: UInt64 = 0
            for digit in digits { integer = integer * 10 + UInt64(digit - UInt8(ascii: "0")) }
            exact = integer.bitWidth - integer.leadingZeroBitCount - integer.trailingZeroBitCount <= 53
            value = Double(integer)
        } else {
            value = try convert(from: literalStart, to: digitsStart + count).magnitude
            exact = Self.isExactlyRepresentable(decimalDigits: digits)
        }
        if !exact {
            var canonical: [UInt8] = []
            JSONNumberFormatter.append(value, to: &canonical)
            if !canonical.elementsEqual(digits) {
                let literal = String(decoding: UnsafeBufferPointer(rebasing: bytes[literalStart..<(digitsStart + count)]), as: UTF8.self)
                let sign = literalStart < digitsStart ? "-" : ""
                throw fail(
                    "number \(Self.abbreviated(literal)) cannot be represented exactly as an IEEE-754 double "
                        + "(it would be read as \(sign)\(String(decoding: canonical, as: UTF8.self))); "
                        + "RFC 8785 and I-JSON (RFC 7493) allow only numbers a double holds exactly, "
                        + "so store large integers such as IDs as strings",
                    at: literalStart)
            }
        }
        return value
    }

    /// Whether the integer written as `digits` (no leading zeros, below 10^310) is a
    /// finite double exactly: at most 53 significant bits and below 2^1024.
    static func isExactlyRepresentable(decimalDigits digits: UnsafeBufferPointer<UInt8>) -> Bool {
        // A tiny little-endian big integer; at most 33 limbs.
        var limbs: [UInt32] = []
        limbs.reserveCapacity(34)
        for digit in digits {
            var carry = UInt64(digit - UInt8(ascii: "0"))
            for limb in limbs.indices {
                let product = UInt64(limbs[limb]) * 10 + carry
                limbs[limb] = UInt32(truncatingIfNeeded: product)
                carry = product >> 32
            }
            if carry != 0 { limbs.append(UInt32(carry)) }
        }
        guard let top = limbs.last else { return true }
        let bitLength = (limbs.count - 1) * 32 + (32 - top.leadingZeroBitCount)
        var trailingZeros = 0
        for limb in limbs {
            if limb == 0 {
                trailingZeros += 32
            } else {
                trailingZeros += limb.trailingZeroBitCount
                break
            }
        }
        return bitLength <= 1024 && bitLength - trailingZeros <= 53
    }

    /// Whether the significand of a number literal has a digit other than 0 (the exponent
    /// does not count): such a literal that converts to 0 underflowed.
    static func hasNonZeroDigit(_ literal: String) -> Bool {
        for byte in literal.utf8 {
            if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") { return false }
            if byte >= UInt8(ascii: "1") && byte <= UInt8(ascii: "9") { return true }
        }
        return false
    }

    static func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    // MARK: Errors

    func fail(_ reason: String, at offset: Int) -> JSONParseError {
        // Line and column are computed only here, on failure, so parsing never tracks them.
        let end = min(offset, bytes.count)
        var line = 1
        var lineStart = 0
        for index in 0..<end where bytes[index] == 0x0A {
            line += 1
            lineStart = index + 1
        }
        var column = 1
        for index in lineStart..<end where bytes[index] & 0xC0 != 0x80 { column += 1 }
        return JSONParseError(reason: reason, offset: offset, line: line, column: column)
    }

    func tooDeep() -> JSONParseError {
        fail("nesting is deeper than \(maxDepth) levels of arrays and objects", at: position)
    }

    func nonFiniteLiteral(_ name: String, at offset: Int) -> JSONParseError {
        fail("\(name) is not valid JSON: numbers must be finite; store null or a string instead", at: offset)
    }

    /// An error for the byte at `position`, naming the usual mistakes explicitly.
    func unexpected(expecting expected: String) -> JSONParseError {
        guard position < bytes.count else {
            return fail("unexpected end of input: expected \(expected)", at: position)
        }
        let byte = bytes[position]
        switch byte {
        case UInt8(ascii: "/"):
            return fail("comments are not allowed in JSON", at: position)
        case UInt8(ascii: "'"):
            return fail("strings must be enclosed in double quotes, not single quotes", at: position)
        case UInt8(ascii: "N") where matches("NaN", at: position):
            return nonFiniteLiteral("NaN", at: position)
        case UInt8(ascii: "I") where matches("Infinity", at: position):
            return nonFiniteLiteral("Infinity", at: position)
        case UInt8(ascii: "+"):
            return fail("numbers must not start with '+'", at: position)
        case UInt8(ascii: "."):
            return fail("numbers must start with a digit (write 0.5, not .5)", at: position)
        default:
            return fail("unexpected \(describe(at: position)); expected \(expected)", at: position)
        }
    }

    func duplicateKey(_ key: String, in members: [String: JSONValue], at offset: Int) -> JSONParseError {
        var quoted: [UInt8] = []
        CanonicalJSON.appendQuoted(key, to: &quoted)
        var reason = "duplicate key \(Self.abbreviated(String(decoding: quoted, as: UTF8.self)))"
        // Swift strings compare by canonical equivalence, so "é" and "e\u{301}" collide
        // although their bytes differ; say so, or the message would look wrong.
        if let existing = members.index(forKey: key), !members[existing].key.utf8.elementsEqual(key.utf8) {
            var other: [UInt8] = []
            CanonicalJSON.appendQuoted(members[existing].key, to: &other)
            reason += " (Unicode-equivalent to the earlier key \(Self.abbreviated(String(decoding: other, as: UTF8.self))))"
        }
        return fail(reason, at: offset)
    }

    /// "character 'x'", "control character U+000C", "character '“' (U+201C)" or, for
    /// bytes that are not UTF-8 at all, "byte 0xFF (invalid UTF-8)".
    func describe(at offset: Int) -> String {
        let byte = bytes[offset]
        switch byte {
        case 0x21...0x7E:
            return "character '\(Character(Unicode.Scalar(byte)))'"
        case 0x00...0x20, 0x7F:
            return "control character \(Self.scalarName(UInt32(byte)))"
        default:
            if case .valid(_, let scalar) = Self.checkUTF8(bytes, at: offset), let unicode = Unicode.Scalar(scalar) {
                return "character '\(Character(unicode))' (\(Self.scalarName(scalar)))"
            }
            return "byte 0x\(Self.hex(UInt32(byte), digits: 2)) (invalid UTF-8)"
        }
    }

    static func describeBriefly(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? String(Character(Unicode.Scalar(byte))) : "<0x\(hex(UInt32(byte), digits: 2))>"
    }

    static func scalarName(_ scalar: UInt32) -> String {
        "U+" + hex(scalar, digits: 4)
    }

    static func escapeAdvice(_ byte: UInt8) -> String {
        switch byte {
        case 0x08: return "\\b"
        case 0x09: return "\\t"
        case 0x0A: return "\\n"
        case 0x0C: return "\\f"
        case 0x0D: return "\\r"
        default: return "\\u" + hex(UInt32(byte), digits: 4)
        }
    }

    static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    /// Literals and keys in messages are cut so a megabyte of digits stays one line.
    static func abbreviated(_ text: String) -> String {
        text.count <= 60 ? text : String(text.prefix(57)) + "…"
    }
}
