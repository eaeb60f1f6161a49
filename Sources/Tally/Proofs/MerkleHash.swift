import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials // ContiguousBytes
#else
import Foundation // ContiguousBytes
#endif

/// RFC 6962 / RFC 9162 §2.1.1 Merkle tree hashing with SHA-256.
///
/// Leaves and interior nodes are hashed with different one-byte prefixes
/// (0x00 and 0x01). That domain separation is what stops an interior node
/// from being passed off as a leaf (the second-preimage attack on plain
/// Merkle trees): no leaf input can hash to a node hash.
package enum MerkleHash {
    private static let leafPrefix: UInt8 = 0x00
    private static let nodePrefix: UInt8 = 0x01

    /// The root of the empty tree: SHA-256 of the empty string
    /// (`e3b0c442…b855`), per RFC 9162 §2.1.1 MTH({}) = HASH().
    package static let emptyTree: Hash32 = SHA256.hash(data: [UInt8]()).withUnsafeBytes { Hash32(digestBytes: $0) }

    /// Leaf hash, SHA-256(0x00 ‖ input), reading the input in place.
    ///
    /// This runs on every ledger append, so it streams the caller's buffer
    /// into the hasher instead of building `prefix + input` in a new array.
    package static func leaf(_ input: UnsafeRawBufferPointer) -> Hash32 {
        var hasher = SHA256()
        withUnsafeBytes(of: leafPrefix) { hasher.update(bufferPointer: $0) }
        hasher.update(bufferPointer: input)
        return hasher.finalize().withUnsafeBytes { Hash32(digestBytes: $0) }
    }

    /// Leaf hash of any contiguous byte container (`[UInt8]`, `Data`,
    /// `ArraySlice`, …), without copying it.
    package static func leaf(_ input: some ContiguousBytes) -> Hash32 {
        input.withUnsafeBytes { leaf($0) }
    }

    /// Interior node hash, SHA-256(0x01 ‖ left ‖ right).
    package static func node(_ left: Hash32, _ right: Hash32) -> Hash32 {
        var hasher = SHA256()
        withUnsafeBytes(of: nodePrefix) { hasher.update(bufferPointer: $0) }
        left.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        right.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hasher.finalize().withUnsafeBytes { Hash32(digestBytes: $0) }
    }
}
