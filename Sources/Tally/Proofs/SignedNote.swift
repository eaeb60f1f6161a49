/// Why a signed note was refused (c2sp.org/signed-note, matching Go's
/// `golang.org/x/mod/sumdb/note.Open` and `Sign`).
package enum SignedNoteError: Error, Equatable, Sendable {
    /// The note breaks the format; Go reports all of these as "malformed note".
    case malformed(MalformedNoteReason)
    /// More than `SignedNote.maxSignatures` signature lines (Go: 100).
    case tooManySignatures
    /// The whole note is longer than `SignedNote.maxNoteBytes`.
    case tooLarge(Int)
    /// A known key's signature did not verify. The spec says clients SHOULD
    /// then reject the whole note, and Go does.
    case invalidSignature(name: String, keyID: UInt32)
    /// Two configured verifier keys share this name and key ID (Go's
    /// "ambiguous key"); the verifier set itself is suspect.
    case ambiguousKey(name: String, keyID: UInt32)
    /// The note parsed, but no signature is from a known key. Carries the
    /// signatures found, all unverified (Go's `UnverifiedNoteError`).
    case noVerifiedSignature(unverified: [NoteSignature])
    /// Signing: the text is empty or does not end in a newline.
    case textMustEndWithNewline
    /// Signing: no signers were given, which would produce an unopenable note.
    case noSigners
    /// Signing: the Ed25519 implementation failed.
    case signingFailed(String)
}

/// The specific format rule a note broke.
package enum MalformedNoteReason: Equatable, Sendable {
    /// Not valid UTF-8.
    case invalidUTF8
    /// Contains an ASCII control character other than newline.
    case controlCharacter
    /// No empty line separates the text from the signatures.
    case missingSignatureSeparator
    /// Nothing follows the separating empty line.
    case noSignatureLines
    /// The last signature line does not end in a newline.
    case missingFinalNewline
    /// A signature line does not start with "— " (U+2014, space).
    case badSignaturePrefix
    /// A signature line's key name is empty or contains a space or '+'.
    case badKeyName
    /// A signature is not canonical base64, or is empty.
    case badSignatureEncoding
    /// A signature decodes to fewer than 5 bytes (4-byte key ID + ≥ 1 byte).
    case signatureTooShort
}

/// One signature line of a note.
package struct NoteSignature: Hashable, Sendable {
    /// The key name on the line.
    package var name: String
    /// The key ID from the first four signature bytes.
    package var keyID: UInt32
    /// The base64 text as it appeared (key ID ‖ signature).
    package var base64: String

    /// Creates a signature record.
    package init(name: String, keyID: UInt32, base64: String) {
        self.name = name
        self.keyID = keyID
        self.base64 = base64
    }
}

/// A note whose signatures from known keys all verified.
package struct OpenedNote: Hashable, Sendable {
    /// The signed text, including its final newline.
    package var text: String
    /// Signatures by known keys, all verified, in note order (at least one).
    package var verified: [NoteSignature]
    /// Signatures by unknown keys, ignored as the spec requires.
    package var unverified: [NoteSignature]
}

/// The set of trusted verifier keys (Go's `VerifierList`).
package struct NoteVerifiers: Sendable {
    private struct Identity: Hashable {
        var name: String
        var keyID: UInt32
    }

    private var keys: [Identity: [NoteVerifierKey]] = [:]

    /// Trusts these keys. As in Go, two entries with the same name and key
    /// ID are not an error until a signature needs that identity.
    package init(_ keys: [NoteVerifierKey]) {
        for key in keys {
            self.keys[Identity(name: key.name, keyID: key.keyID), default: []].append(key)
        }
    }

    /// The key for this identity; nil if unknown.
    func key(name: String, keyID: UInt32) throws(SignedNoteError) -> NoteVerifierKey? {
        guard let matches = keys[Identity(name: name, keyID: keyID)] else { return nil }
        guard matches.count == 1 else { throw .ambiguousKey(name: name, keyID: keyID) }
        return matches[0]
    }
}

/// Signing and opening notes: text, an empty line, then lines
/// "— <key name> <base64(4-byte key ID ‖ signature)>\n".
package enum SignedNote {
    /// Go refuses notes with more than 100 signature lines, so that parsing
    /// cannot be made to take forever; the spec requires accepting ≥ 16.
    package static let maxSignatures = 100
    /// Tally's own bound on a whole note (Go's `note` package has none; the
    /// spec asks verifiers to bound signature count "or, equivalently, … the
    /// overall size"). Checkpoints are a few hundred bytes.
    package static let maxNoteBytes = 1 << 20

    private static let signaturePrefix: [UInt8] = Array("— ".utf8) // U+2014, U+0020
    private static let newline = UInt8(ascii: "\n")

    /// Signs `text` with each signer, in order (Go's `Sign` with no
    /// pre-existing signatures). `text` must end in a newline and satisfy the
    /// note character rules, so that whatever is signed can be opened.
    package static func sign(text: String, signers: [NoteSigner]) throws(SignedNoteError) -> String {
        let bytes = Array(text.utf8)
        guard bytes.last == newline else { throw .textMustEndWithNewline }
        guard !bytes.contains(where: { $0 < 0x20 && $0 != newline }) else { throw .malformed(.controlCharacter) }
        guard !signers.isEmpty else { throw .noSigners }
        var lines = ""
        for signer in signers {
            let signature: [UInt8]
            do {
                signature = try signer.signature(for: bytes)
            } catch {
                throw .signingFailed(String(describing: error))
            }
            let id = signer.keyID
            let prefix = [UInt8(id >> 24), UInt8(id >> 16 & 0xff), UInt8(id >> 8 & 0xff), UInt8(id & 0xff)]
            lines += "— \(signer.name) \(ByteEncoding.base64(prefix + signature))\n"
        }
        return text + "\n" + lines
    }

    /// Opens a note given as text. See `open(_:verifiers:)` for bytes.
    package static func open(_ message: String, verifiers: NoteVerifiers) throws(SignedNoteError) -> OpenedNote {
        try open(Array(message.utf8), verifiers: verifiers)
    }

    /// Parses `message` and checks every signature by a known key (Go's `Open`).
    ///
    /// Signatures by unknown keys are collected but not trusted; a known key
    /// whose signature fails is an error; at least one known key must have
    /// signed. Repeats are dropped as Go does: after the first line by a
    /// known (name, key ID), later lines by it are skipped unchecked, and
    /// identical unknown lines are kept once.
    package static func open(_ message: [UInt8], verifiers: NoteVerifiers) throws(SignedNoteError) -> OpenedNote {
        guard message.count <= maxNoteBytes else { throw .tooLarge(message.count) }
        // Valid UTF-8 with no control characters but newline. In valid UTF-8
        // every byte below 0x80 is an ASCII character, so a byte scan suffices.
        guard String(validating: message, as: UTF8.self) != nil else { throw .malformed(.invalidUTF8) }
        guard !message.contains(where: { $0 < 0x20 && $0 != newline }) else { throw .malformed(.controlCharacter) }

        // The text ends at the *last* empty line: the text may itself
        // contain empty lines, the signature block cannot.
        guard let split = lastDoubleNewline(in: message) else { throw .malformed(.missingSignatureSeparator) }
        let text = message[..<(split + 1)]
        var block = message[(split + 2)...]
        guard !block.isEmpty else { throw .malformed(.noSignatureLines) }
        guard block.last == newline else { throw .malformed(.missingFinalNewline) }

        var verified: [NoteSignature] = []
        var unverified: [NoteSignature] = []
        var seenKnown = Set<String>()
        var seenUnknownLines = Set<String>()
        var count = 0
        while let end = block.firstIndex(of: newline) {
            let line = block[block.startIndex..<end]
            block = block[(end + 1)...]
            guard line.starts(with: signaturePrefix) else { throw .malformed(.badSignaturePrefix) }
            let body = String(decoding: line.dropFirst(signaturePrefix.count), as: UTF8.self)
            // Go's chop at the first space: name, then the base64.
            let name: String
            let encoded: String
            if let space = body.firstIndex(of: " ") {
                name = String(body[..<space])
                encoded = String(body[body.index(after: space)...])
            } else {
                name = body
                encoded = ""
            }
            guard NoteKeyMath.isValidName(name) else { throw .malformed(.badKeyName) }
            guard !encoded.isEmpty, let raw = ByteEncoding.bytes(fromBase64: encoded) else {
                throw .malformed(.badSignatureEncoding)
            }
            guard raw.count >= 5 else { throw .malformed(.signatureTooShort) }
            let keyID = raw.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            count += 1
            guard count <= maxSignatures else { throw .tooManySignatures }

            let signature = NoteSignature(name: name, keyID: keyID, base64: encoded)
            guard let key = try verifiers.key(name: name, keyID: keyID) else {
                // Unknown key (possibly sharing a name or an ID, not both,
                // with a known one): the spec says ignore it.
                if seenUnknownLines.insert(body).inserted { unverified.append(signature) }
                continue
            }
            // Only the first line per known key counts, as in Go.
            guard seenKnown.insert("\(name)+\(keyID)").inserted else { continue }
            guard key.isValidSignature(Array(raw.dropFirst(4)), for: Array(text)) else {
                throw .invalidSignature(name: name, keyID: keyID)
            }
            verified.append(signature)
        }
        guard !verified.isEmpty else { throw .noVerifiedSignature(unverified: unverified) }
        return OpenedNote(text: String(decoding: text, as: UTF8.self), verified: verified, unverified: unverified)
    }

    /// Index of the first byte of the last "\n\n", if any.
    private static func lastDoubleNewline(in bytes: [UInt8]) -> Int? {
        var i = bytes.count - 2
        while i >= 0 {
            if bytes[i] == newline && bytes[i + 1] == newline { return i }
            i -= 1
        }
        return nil
    }
}

extension SignedNoteError: CustomStringConvertible {
    /// A phrase for error messages, e.g. "the note is malformed: no empty line separates the
    /// text from the signatures".
    package var description: String {
        switch self {
        case let .malformed(reason): return "the note is malformed: \(reason)"
        case .tooManySignatures: return "the note has more than \(SignedNote.maxSignatures) signatures"
        case let .tooLarge(bytes): return "the note is \(bytes) bytes long, more than the \(SignedNote.maxNoteBytes) a note may have"
        case let .invalidSignature(name, keyID):
            return "the signature by \(name) (key id \(NoteKeyMath.hex8(keyID))) does not verify"
        case let .ambiguousKey(name, keyID): return "two keys named \(name) share the key id \(NoteKeyMath.hex8(keyID))"
        case let .noVerifiedSignature(unverified):
            let names = unverified.map { "\($0.name)+\(NoteKeyMath.hex8($0.keyID))" }
            return names.isEmpty ? "it has no signature" : "no signature is by the key given (signed by \(names.joined(separator: ", ")))"
        case .textMustEndWithNewline: return "the text to sign is empty or does not end in a newline"
        case .noSigners: return "no key was given to sign with"
        case let .signingFailed(detail): return "signing failed: \(detail)"
        }
    }
}

extension MalformedNoteReason: CustomStringConvertible {
    /// The broken rule, as a phrase.
    package var description: String {
        switch self {
        case .invalidUTF8: return "it is not valid UTF-8"
        case .controlCharacter: return "it contains a control character other than a newline"
        case .missingSignatureSeparator: return "no empty line separates the text from the signatures"
        case .noSignatureLines: return "nothing follows the empty line that should precede the signatures"
        case .missingFinalNewline: return "the last signature line does not end in a newline"
        case .badSignaturePrefix: return "a signature line does not start with \"— \" (an em dash and a space)"
        case .badKeyName: return "a signature line's key name is empty or contains a space or '+'"
        case .badSignatureEncoding: return "a signature is empty or not canonical base64"
        case .signatureTooShort: return "a signature is shorter than 5 bytes"
        }
    }
}
