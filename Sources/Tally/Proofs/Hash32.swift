/// A 32-byte hash value (a SHA-256 digest): a leaf hash, an interior node
/// hash or a tree root.
///
/// Stored inline as four machine words, so copying, comparing and hashing it
/// never allocates. The bytes are kept in memory order (no endianness
/// conversion): `withUnsafeBytes` exposes exactly the digest bytes.
package struct Hash32: Hashable, Sendable, CustomStringConvertible {
    /// Number of bytes in the value.
    package static let byteCount = 32

    // A homogeneous tuple has a guaranteed contiguous layout, which is what
    // lets `withUnsafeBytes(of:)` expose the 32 bytes in order.
    private var words: (UInt64, UInt64, UInt64, UInt64)

    /// Why a textual or binary hash was refused.
    package enum DecodingError: Error, Equatable, Sendable {
        /// The input decoded to this many bytes instead of 32.
        case wrongByteCount(Int)
        /// The input is not hexadecimal (odd length or a non-hex character).
        case invalidHex
        /// The input is not canonical, padded, standard base64.
        case invalidBase64
    }

    /// Copies exactly 32 bytes from a raw buffer.
    /// - Throws: `DecodingError.wrongByteCount` if the buffer is not 32 bytes long.
    package init(_ buffer: UnsafeRawBufferPointer) throws(DecodingError) {
        guard buffer.count == Self.byteCount else { throw .wrongByteCount(buffer.count) }
        words = (0, 0, 0, 0)
        Swift.withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: buffer) }
    }

    /// Copies exactly 32 bytes from any byte sequence.
    /// - Throws: `DecodingError.wrongByteCount` if it does not hold 32 bytes.
    package init(bytes: some Sequence<UInt8>) throws(DecodingError) {
        let array = Array(bytes)
        guard array.count == Self.byteCount else { throw .wrongByteCount(array.count) }
        self.init(unchecked: array)
    }

    /// Parses 64 hexadecimal digits (either letter case).
    package init(hex: String) throws(DecodingError) {
        guard let bytes = ByteEncoding.bytes(fromHex: hex) else { throw .invalidHex }
        try self.init(bytes: bytes)
    }

    /// Parses canonical, padded standard base64 of exactly 32 bytes
    /// (44 characters, ending in a single `=`).
    package init(base64: String) throws(DecodingError) {
        guard let bytes = ByteEncoding.bytes(fromBase64: base64) else { throw .invalidBase64 }
        try self.init(bytes: bytes)
    }

    /// Copies the first 32 bytes of an array the caller has already checked.
    private init(unchecked array: [UInt8]) {
        words = (0, 0, 0, 0)
        array.withUnsafeBytes { source in
            Swift.withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: source) }
        }
    }

    /// Copies the first 32 bytes of a buffer known to hold at least 32 (a digest).
    init(digestBytes source: UnsafeRawBufferPointer) {
        words = (0, 0, 0, 0)
        Swift.withUnsafeMutableBytes(of: &words) {
            $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: source.prefix(Self.byteCount)))
        }
    }

    /// Calls `body` with the 32 bytes, without copying them.
    package func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        var copy = words
        return try Swift.withUnsafeBytes(of: &copy) { raw throws(E) -> R in try body(raw) }
    }

    /// The 32 bytes as an array.
    package var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Lowercase hexadecimal (64 characters).
    package var hex: String { withUnsafeBytes { ByteEncoding.hex($0) } }

    /// Standard padded base64 (44 characters), as used on a checkpoint's root line.
    package var base64: String { ByteEncoding.base64(bytes) }

    /// The hex form, for logs and test failures.
    package var description: String { hex }

    /// Byte-wise equality. Not constant-time: these are public hashes.
    package static func == (lhs: Hash32, rhs: Hash32) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1
            && lhs.words.2 == rhs.words.2 && lhs.words.3 == rhs.words.3
    }

    /// Feeds all 32 bytes to `hasher`.
    package func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}
