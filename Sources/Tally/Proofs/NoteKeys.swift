import Crypto

/// Why a note key string or key material was refused.
package enum NoteKeyError: Error, Equatable, Sendable {
    /// The name is empty, or contains a Unicode space or '+' (forbidden by
    /// c2sp.org/signed-note and Go's `note` package).
    case invalidName
    /// The string does not have the `<name>+<hex8>+<base64>` shape (or the
    /// `PRIVATE+KEY+` prefix for signer keys), or its hex/base64 is malformed.
    case malformed
    /// The key data's first byte is not 0x01 (Ed25519), the only algorithm
    /// supported, as in Go.
    case unknownAlgorithm(UInt8)
    /// The key is not 32 bytes after the algorithm byte.
    case wrongKeyLength(Int)
    /// The 8-hex-digit key ID does not match the name and public key.
    case keyIDMismatch(expected: UInt32, found: UInt32)
}

/// Key names, key IDs and the algorithm byte shared by signer and verifier.
enum NoteKeyMath {
    /// Algorithm identifier byte for Ed25519 (c2sp.org/signed-note).
    static let ed25519: UInt8 = 0x01

    /// Go's `isValidName`: non-empty, no '+', no Unicode white space.
    /// (UTF-8 validity is guaranteed by `String`.)
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && !name.unicodeScalars.contains { $0 == "+" || isGoSpace($0) }
    }

    /// Go's `unicode.IsSpace`: the Unicode White_Space property, spelled out
    /// so the result cannot drift with the Unicode tables of the runtime.
    static func isGoSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// Go's `keyHash`: first four bytes, big-endian, of
    /// SHA-256(name ‖ "\n" ‖ key data), where key data is the algorithm
    /// byte followed by the public key.
    static func keyHash(name: String, keyData: [UInt8]) -> UInt32 {
        var hasher = SHA256()
        hasher.update(data: Array(name.utf8))
        hasher.update(data: [0x0A])
        hasher.update(data: keyData)
        return hasher.finalize().withUnsafeBytes { raw in
            raw.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        }
    }

    /// Ed25519 key ID = SHA-256(name ‖ "\n" ‖ 0x01 ‖ 32-byte public key)[:4].
    static func keyID(name: String, publicKey: [UInt8]) -> UInt32 {
        keyHash(name: name, keyData: [ed25519] + publicKey)
    }

    /// Eight lowercase hex digits, as Go's `%08x`.
    static func hex8(_ id: UInt32) -> String {
        ByteEncoding.hex([UInt8(id >> 24), UInt8(id >> 16 & 0xff), UInt8(id >> 8 & 0xff), UInt8(id & 0xff)])
    }

    /// Parses exactly eight hex digits, as Go's `len(hash16) == 8` plus
    /// `strconv.ParseUint(hash16, 16, 32)` (which accepts either case).
    static func parseHex8(_ text: Substring) -> UInt32? {
        guard text.utf8.count == 8, let bytes = ByteEncoding.bytes(fromHex: String(text)) else { return nil }
        return bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    /// Go's `chop`: splits at the first '+'; no '+' gives (whole, "").
    static func chop(_ text: Substring) -> (Substring, Substring) {
        guard let plus = text.firstIndex(of: "+") else { return (text, text[text.endIndex...]) }
        return (text[..<plus], text[text.index(after: plus)...])
    }

    /// Decodes `<hex8>+<base64(key data)>` after the name has been chopped
    /// off. Key data must be non-empty; algorithm and length are the
    /// caller's to check, because Go checks them in different orders for
    /// verifier and signer keys.
    static func parseIDAndKeyData(_ rest: Substring) throws(NoteKeyError) -> (id: UInt32, keyData: [UInt8]) {
        let (hex, encodedKey) = chop(rest)
        guard let id = parseHex8(hex), let data = ByteEncoding.bytes(fromBase64: String(encodedKey)), !data.isEmpty
        else { throw .malformed }
        return (id, data)
    }
}

/// A public key that can check note signatures: Go's `note.Verifier`,
/// encoded as `<name>+<hex8 key ID>+<base64(0x01 ‖ 32-byte Ed25519 key)>`.
package struct NoteVerifierKey: Hashable, Sendable {
    /// The key name that appears on signature lines.
    package let name: String
    /// The 32-bit key ID that prefixes each signature.
    package let keyID: UInt32
    /// The raw 32-byte Ed25519 public key.
    package let publicKeyBytes: [UInt8]

    /// Parses a verifier key string, checking the key ID against the name
    /// and key as Go's `NewVerifier` does.
    package init(parsing encoded: String) throws(NoteKeyError) {
        let (name, rest) = NoteKeyMath.chop(encoded[...])
        guard NoteKeyMath.isValidName(String(name)) else { throw .invalidName }
        let (id, keyData) = try NoteKeyMath.parseIDAndKeyData(rest)
        // Go's NewVerifier order: the ID is checked over the raw key data
        // before the algorithm byte and the length are looked at.
        let expected = NoteKeyMath.keyHash(name: String(name), keyData: keyData)
        guard id == expected else { throw .keyIDMismatch(expected: expected, found: id) }
        guard keyData[0] == NoteKeyMath.ed25519 else { throw .unknownAlgorithm(keyData[0]) }
        try self.init(name: String(name), publicKeyBytes: Array(keyData.dropFirst()))
    }

    /// Builds a verifier key from a name and raw Ed25519 public key bytes
    /// (Go's `NewEd25519VerifierKey`).
    package init(name: String, publicKeyBytes: [UInt8]) throws(NoteKeyError) {
        guard NoteKeyMath.isValidName(name) else { throw .invalidName }
        guard publicKeyBytes.count == 32 else { throw .wrongKeyLength(publicKeyBytes.count) }
        self.name = name
        self.publicKeyBytes = publicKeyBytes
        self.keyID = NoteKeyMath.keyID(name: name, publicKey: publicKeyBytes)
    }

    /// The `<name>+<hex8>+<base64>` form.
    package var encoded: String {
        "\(name)+\(NoteKeyMath.hex8(keyID))+\(ByteEncoding.base64([NoteKeyMath.ed25519] + publicKeyBytes))"
    }

    /// True if `signature` is a valid Ed25519 signature of `message` by this key.
    package func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKeyBytes) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}

/// A private key that signs notes: Go's `note.Signer`, encoded as
/// `PRIVATE+KEY+<name>+<hex8 key ID>+<base64(0x01 ‖ 32-byte Ed25519 seed)>`.
/// Keep the encoded form secret.
package struct NoteSigner: Sendable {
    /// The key name written on signature lines.
    package let name: String
    /// The 32-bit key ID of the public half.
    package let keyID: UInt32
    private let privateKey: Curve25519.Signing.PrivateKey

    /// Generates a fresh Ed25519 key under `name`.
    package static func generate(name: String) throws(NoteKeyError) -> NoteSigner {
        try NoteSigner(name: name, privateKey: Curve25519.Signing.PrivateKey())
    }

    /// Parses a signer key string. As in Go's `NewSigner`, the key ID is
    /// checked against the public key derived from the seed.
    package init(parsing encoded: String) throws(NoteKeyError) {
        let (private1, rest1) = NoteKeyMath.chop(encoded[...])
        let (private2, rest2) = NoteKeyMath.chop(rest1)
        guard private1 == "PRIVATE", private2 == "KEY" else { throw .malformed }
        let (name, rest) = NoteKeyMath.chop(rest2)
        guard NoteKeyMath.isValidName(String(name)) else { throw .invalidName }
        let (id, keyData) = try NoteKeyMath.parseIDAndKeyData(rest)
        // Go's NewSigner order: algorithm, seed length, then the ID, which
        // can only be checked once the public key is derived from the seed.
        guard keyData[0] == NoteKeyMath.ed25519 else { throw .unknownAlgorithm(keyData[0]) }
        let seed = Array(keyData.dropFirst())
        guard seed.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed) else {
            throw .wrongKeyLength(seed.count)
        }
        try self.init(name: String(name), privateKey: key)
        guard keyID == id else { throw .keyIDMismatch(expected: keyID, found: id) }
    }

    private init(name: String, privateKey: Curve25519.Signing.PrivateKey) throws(NoteKeyError) {
        guard NoteKeyMath.isValidName(name) else { throw .invalidName }
        self.name = name
        self.privateKey = privateKey
        self.keyID = NoteKeyMath.keyID(name: name, publicKey: Array(privateKey.publicKey.rawRepresentation))
    }

    /// The `PRIVATE+KEY+…` form (secret).
    package var encoded: String {
        let seed = [NoteKeyMath.ed25519] + Array(privateKey.rawRepresentation)
        return "PRIVATE+KEY+\(name)+\(NoteKeyMath.hex8(keyID))+\(ByteEncoding.base64(seed))"
    }

    /// The matching public verifier key.
    package var verifierKey: NoteVerifierKey {
        // Name validity was checked at construction; the key is 32 bytes.
        NoteVerifierKey(unchecked: name, keyID: keyID, publicKeyBytes: Array(privateKey.publicKey.rawRepresentation))
    }

    /// Signs `message` with Ed25519 (deterministic, RFC 8032, on Linux).
    package func signature(for message: [UInt8]) throws -> [UInt8] {
        Array(try privateKey.signature(for: message))
    }
}

extension NoteVerifierKey {
    /// Internal escape hatch for values already validated elsewhere.
    init(unchecked name: String, keyID: UInt32, publicKeyBytes: [UInt8]) {
        self.name = name
        self.keyID = keyID
        self.publicKeyBytes = publicKeyBytes
    }
}

extension NoteKeyError: CustomStringConvertible {
    /// What is wrong with the key, as a phrase (never the key itself: it may be a secret).
    package var description: String {
        switch self {
        case .invalidName: return "its name is empty or contains a space or '+'"
        case .malformed: return "it does not have that shape, or its hex or base64 is malformed"
        case let .unknownAlgorithm(byte): return "its algorithm byte is \(byte), not 1 (Ed25519, the only one supported)"
        case let .wrongKeyLength(count): return "its key is \(count) bytes, not 32"
        case let .keyIDMismatch(expected, found):
            return "its key id \(NoteKeyMath.hex8(found)) does not match its name and key (\(NoteKeyMath.hex8(expected)))"
        }
    }
}
