import Crypto

/// SHA-256 as lowercase hex, the one digest format Tally stores and prints.
enum Digest {
    /// The 64 zeros that stand for "no previous event" in the ledger chain.
    static let zeroHash = String(repeating: "0", count: 64)

    /// Lowercase hex SHA-256 of `bytes`.
    static func sha256Hex(_ bytes: UnsafeRawBufferPointer) -> String {
        hex(SHA256.hash(data: bytes))
    }

    /// Lowercase hex SHA-256 of `bytes`.
    static func sha256Hex(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { sha256Hex($0) }
    }

    /// Lowercase hex SHA-256 of any collection of bytes.
    static func sha256Hex(_ bytes: some Collection<UInt8>) -> String {
        sha256Hex(Array(bytes))
    }

    /// Lowercase hex SHA-256 of the UTF-8 bytes of `text`.
    static func sha256Hex(_ text: String) -> String {
        var text = text
        return text.withUTF8 { hex(SHA256.hash(data: $0)) }
    }

    /// Lowercase hex of a finished digest.
    static func hex(_ digest: SHA256.Digest) -> String {
        digest.withUnsafeBytes { hexString($0) }
    }

    /// Lowercase hex of any bytes.
    static func hexString(_ bytes: some Collection<UInt8>) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            var index = 0
            for byte in bytes {
                out[index] = hexDigit(byte >> 4)
                out[index + 1] = hexDigit(byte & 0x0F)
                index += 2
            }
            return index
        }
    }

    /// The lowercase hex digit of a value 0…15 (computed: no table to allocate or look up,
    /// as this runs for every hash Tally prints or stores).
    @inline(__always)
    static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") &+ nibble : UInt8(ascii: "a") &+ (nibble &- 10)
    }

    /// Whether the SHA-256 of `bytes` is `expectedHex` (lowercase hex), compared digit by
    /// digit without making the digest's hex string: the check every verified read makes.
    static func sha256(of bytes: UnsafeRawBufferPointer, is expectedHex: String) -> Bool {
        var expectedHex = expectedHex
        return expectedHex.withUTF8 { sha256(of: bytes, isHex: $0) }
    }

    /// ``sha256(of:is:)`` with the expected hex digits as UTF-8 bytes (e.g. a column's text).
    static func sha256(of bytes: UnsafeRawBufferPointer, isHex expected: UnsafeBufferPointer<UInt8>) -> Bool {
        guard expected.count == 64 else { return false }
        return SHA256.hash(data: bytes).withUnsafeBytes { digest in
            for (index, byte) in digest.enumerated()
            where expected[2 * index] != hexDigit(byte >> 4) || expected[2 * index + 1] != hexDigit(byte & 0x0F) {
                return false
            }
            return true
        }
    }

    /// Lowercase hex of raw bytes.
    static func hexString(_ raw: UnsafeRawBufferPointer) -> String {
        hexString(UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count))
    }

    /// True for a 64-character lowercase hex string.
    static func isHex64(_ text: String) -> Bool {
        var text = text
        // Over the contiguous bytes: iterating `utf8` went through the generic iterator (perf).
        return text.withUTF8 { bytes in
            guard bytes.count == 64 else { return false }
            for byte in bytes where !(byte >= 0x30 && byte <= 0x39 || byte >= 0x61 && byte <= 0x66) { return false }
            return true
        }
    }
}
