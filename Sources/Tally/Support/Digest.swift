import Crypto
import Foundation

/// SHA-256 as lowercase hex, the one digest format Tally stores and prints.
enum Digest {
    /// The 64 zeros that stand for "no previous event" in the ledger chain.
    static let zeroHash = String(repeating: "0", count: 64)

    /// Lowercase hex SHA-256 of `bytes`.
    static func sha256Hex(_ bytes: some DataProtocol) -> String {
        hex(SHA256.hash(data: bytes))
    }

    /// Lowercase hex SHA-256 of the UTF-8 bytes of `text`.
    static func sha256Hex(_ text: String) -> String {
        var text = text
        return text.withUTF8 { hex(SHA256.hash(data: $0)) }
    }

    /// Lowercase hex of a finished digest.
    static func hex(_ digest: SHA256.Digest) -> String {
        let alphabet: [UInt8] = Array("0123456789abcdef".utf8)
        return digest.withUnsafeBytes { raw in
            String(unsafeUninitializedCapacity: raw.count * 2) { out in
                for (index, byte) in raw.enumerated() {
                    out[index * 2] = alphabet[Int(byte >> 4)]
                    out[index * 2 + 1] = alphabet[Int(byte & 0x0F)]
                }
                return raw.count * 2
            }
        }
    }

    /// True for a 64-character lowercase hex string.
    static func isHex64(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
