// Strict text encodings for bytes: lowercase hex and RFC 4648 §4 base64.
//
// Written by hand rather than through Foundation so that the accepted
// language is exactly what is documented here on every platform: the
// decoders accept only the canonical form, so each byte string has exactly
// one accepted text form. That matters for signed text (a checkpoint's root
// line, a signature line), where a second spelling of the same bytes would be
// a malleability handle.

/// Hex and base64 encoders and strict decoders used throughout the module.
package enum ByteEncoding {
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
    private static let base64Alphabet: [UInt8] =
        Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let padding = UInt8(ascii: "=")

    /// Lowercase hexadecimal, two digits per byte.
    package static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hexadecimal (either letter case; an even number of digits, nothing else).
    /// Returns nil for anything else.
    package static func bytes(fromHex text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = hexValue(utf8[index]), let low = hexValue(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Standard base64 (RFC 4648 §4) with `=` padding.
    package static func base64(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= input.count {
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
            out.append(base64Alphabet[Int(n >> 18 & 63)])
            out.append(base64Alphabet[Int(n >> 12 & 63)])
            out.append(base64Alphabet[Int(n >> 6 & 63)])
            out.append(base64Alphabet[Int(n & 63)])
            i += 3
        }
        switch input.count - i {
        case 1:
            let n = UInt32(input[i]) << 16
            out.append(base64Alphabet[Int(n >> 18 & 63)])
            out.append(base64Alphabet[Int(n >> 12 & 63)])
            out.append(padding)
            out.append(padding)
        case 2:
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
            out.append(base64Alphabet[Int(n >> 18 & 63)])
            out.append(base64Alphabet[Int(n >> 12 & 63)])
            out.append(base64Alphabet[Int(n >> 6 & 63)])
            out.append(padding)
        default:
            break
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes canonical standard base64 only: padded to a multiple of four
    /// characters, no whitespace or line breaks, and unused trailing bits zero.
    ///
    /// Go's `base64.StdEncoding` (used by `golang.org/x/mod/sumdb/note`) also
    /// accepts non-zero trailing bits and skips `\r`/`\n`; we refuse both, so
    /// that `decode(encode(x)) == x` is the only accepted spelling. Everything
    /// Go *produces* is canonical, so Go-signed notes still parse.
    package static func bytes(fromBase64 text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 4 * 3)
        var i = 0
        while i < utf8.count {
            let isLastQuad = i + 4 == utf8.count
            var n: UInt32 = 0 // four 6-bit groups; padding contributes zeros
            var padCount = 0
            for j in 0..<4 {
                let c = utf8[i + j]
                if c == padding {
                    // Padding only at the end of the last quad, at most two.
                    guard isLastQuad, j >= 2 else { return nil }
                    padCount += 1
                    n <<= 6
                } else {
                    guard padCount == 0, let v = base64Value(c) else { return nil }
                    n = n << 6 | UInt32(v)
                }
            }
            out.append(UInt8(n >> 16 & 0xff))
            switch padCount {
            case 0:
                out.append(UInt8(n >> 8 & 0xff))
                out.append(UInt8(n & 0xff))
            case 1:
                guard n & 0xff == 0 else { return nil } // non-canonical trailing bits
                out.append(UInt8(n >> 8 & 0xff))
            default:
                guard n & 0xffff == 0 else { return nil } // non-canonical trailing bits
            }
            i += 4
        }
        return out
    }

    private static func base64Value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }
}
