/// A statement parameter, sent to the server in PostgreSQL's text format.
///
/// Parameters are always sent as text (PQexecParams with text format): the
/// server parses them with the same input functions as SQL literals, so there
/// is no binary encoding per type to get wrong, and the type is inferred from
/// the statement (`WHERE id = $1` makes `$1` the column's type). SQL NULL is
/// `nil` in a `[PGValue?]` parameter array.
package enum PGValue: Sendable, Hashable {
    /// Text, also the way to send numeric, date, uuid, json, … values.
    case text(String)
    /// A 64-bit integer; fits int2/int4/int8/numeric columns (range-checked by the server).
    case int(Int64)
    /// A double; infinities and NaN are sent as `Infinity`, `-Infinity`, `NaN`.
    case double(Double)
    /// A boolean, sent as `t` or `f`.
    case bool(Bool)
    /// Raw bytes, sent in bytea hex format (`\x…`) with the bytea type OID, so
    /// that the server does not mistake them for text.
    case bytea([UInt8])

    /// The text the server receives for this value.
    package var textRepresentation: String {
        switch self {
        case .text(let string):
            return string
        case .int(let value):
            return String(value)
        case .double(let value):
            // Swift's description is the shortest string that round-trips,
            // which float8in parses exactly; only the specials are spelled differently.
            if value.isNaN { return "NaN" }
            if value == .infinity { return "Infinity" }
            if value == -.infinity { return "-Infinity" }
            return String(describing: value)
        case .bool(let value):
            return value ? "t" : "f"
        case .bytea(let bytes):
            return PGBytea.hexEncoded(bytes)
        }
    }

    /// The parameter type OID given to the server: bytea's (17) for bytes,
    /// 0 ("infer from context") otherwise, so `$1` adopts the column's type.
    var typeOID: UInt32 {
        if case .bytea = self { return 17 }
        return 0
    }
}

extension PGValue: ExpressibleByStringLiteral {
    /// `"abc"` in a parameter list is `.text("abc")`.
    package init(stringLiteral value: String) { self = .text(value) }
}

extension PGValue: ExpressibleByIntegerLiteral {
    /// `42` in a parameter list is `.int(42)`.
    package init(integerLiteral value: Int64) { self = .int(value) }
}

extension PGValue: ExpressibleByFloatLiteral {
    /// `1.5` in a parameter list is `.double(1.5)`.
    package init(floatLiteral value: Double) { self = .double(value) }
}

extension PGValue: ExpressibleByBooleanLiteral {
    /// `true` in a parameter list is `.bool(true)`.
    package init(booleanLiteral value: Bool) { self = .bool(value) }
}

/// bytea text encodings (hex out, hex or legacy escape in). Kept apart so the
/// value and row types share one implementation.
enum PGBytea {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// `\x` followed by two lowercase hex digits per byte: bytea's hex input format.
    static func hexEncoded(_ bytes: [UInt8]) -> String {
        var utf8: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        utf8.reserveCapacity(2 + bytes.count * 2)
        for byte in bytes {
            utf8.append(hexDigits[Int(byte >> 4)])
            utf8.append(hexDigits[Int(byte & 0x0f)])
        }
        return String(decoding: utf8, as: UTF8.self)
    }

    /// Decodes bytea output text. The server sends hex (`\x…`) unless
    /// `bytea_output = 'escape'`, so the escape format is decoded too rather
    /// than silently returning the escaped text as bytes.
    static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        if utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x") {
            return decodeHex(utf8[2...])
        }
        return decodeEscape(utf8)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private static func decodeHex(_ digits: ArraySlice<UInt8>) -> [UInt8]? {
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var index = digits.startIndex
        while index < digits.endIndex {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func decodeEscape(_ utf8: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        var index = 0
        while index < utf8.count {
            let c = utf8[index]
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                index += 1
                continue
            }
            if index + 1 < utf8.count, utf8[index + 1] == UInt8(ascii: "\\") {
                out.append(c)
                index += 2
                continue
            }
            // \ooo: three octal digits.
            guard index + 3 < utf8.count else { return nil }
            var value: UInt16 = 0
            for offset in 1...3 {
                let d = utf8[index + offset]
                guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "7") else { return nil }
                value = value * 8 + UInt16(d - UInt8(ascii: "0"))
            }
            guard value <= 0xff else { return nil }
            out.append(UInt8(value))
            index += 4
        }
        return out
    }
}
