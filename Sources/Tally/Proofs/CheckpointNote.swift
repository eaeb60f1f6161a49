/// Why a checkpoint was refused (c2sp.org/tlog-checkpoint).
package enum CheckpointError: Error, Equatable, Sendable {
    /// The body does not end in a newline.
    case missingFinalNewline
    /// Fewer than the three mandatory lines.
    case tooFewLines
    /// An empty line at this 1-based position: the spec requires every
    /// line, extension lines included, to be non-empty.
    case emptyLine(Int)
    /// A character below U+0020 other than the line-ending newline.
    case controlCharacter
    /// The origin is empty or contains a Unicode space or '+'.
    case invalidOrigin
    /// The size line is not canonical decimal (digits only, no sign, no
    /// leading zeros) or exceeds `Int64.max`; or a negative size was given.
    case invalidSize(String)
    /// The root line is not canonical padded base64 of exactly 32 bytes.
    case invalidRootHash
    /// An extension line given to the initializer contains a newline.
    case invalidExtension
    /// The signed note around the body was refused.
    case note(SignedNoteError)
    /// No verified signature is by a key named like the origin.
    case noSignatureFromOrigin
}

/// A transparency log checkpoint: the signed statement "the log `origin`
/// has `size` leaves with root `root`".
///
/// Body, each line ending in "\n": origin, size in decimal, base64 root,
/// then optional extension lines.
package struct CheckpointNote: Hashable, Sendable {
    /// The log's identity. Tally requires it to also be a valid note key
    /// name, since the log's key should carry the origin as its name.
    package let origin: String
    /// Number of leaves.
    package let size: Int64
    /// MTH of the first `size` leaves.
    package let root: Hash32
    /// Opaque, non-empty extra lines (not auditable; best left empty).
    package let extensions: [String]

    /// Creates a checkpoint, checking that it will serialize to a body that
    /// `init(parsingBody:)` accepts.
    package init(origin: String, size: Int64, root: Hash32, extensions: [String] = []) throws(CheckpointError) {
        guard Self.isValidOrigin(origin) else { throw .invalidOrigin }
        guard size >= 0 else { throw .invalidSize(String(size)) }
        for (offset, line) in extensions.enumerated() {
            guard !line.isEmpty else { throw .emptyLine(offset + 4) }
            guard !line.utf8.contains(UInt8(ascii: "\n")) else { throw .invalidExtension }
            guard !line.utf8.contains(where: { $0 < 0x20 }) else { throw .controlCharacter }
        }
        self.origin = origin
        self.size = size
        self.root = root
        self.extensions = extensions
    }

    /// The note text: "<origin>\n<size>\n<base64 root>\n" plus extension lines.
    package var body: String {
        ([origin, String(size), root.base64] + extensions).map { $0 + "\n" }.joined()
    }

    /// Parses a checkpoint body strictly.
    package init(parsingBody body: String) throws(CheckpointError) {
        let bytes = Array(body.utf8)
        guard bytes.last == UInt8(ascii: "\n") else { throw .missingFinalNewline }
        guard !bytes.contains(where: { $0 < 0x20 && $0 != UInt8(ascii: "\n") }) else { throw .controlCharacter }
        // Split the bytes, not the Characters, so no grapheme clustering
        // can merge a newline into a neighbour. The final newline leaves one
        // empty piece at the end, dropped here.
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .dropLast().map { String(decoding: $0, as: UTF8.self) }
        // Empty lines are checked first so that "origin\n\n…" reports the
        // blank line rather than a confusing size error.
        if let blank = lines.firstIndex(where: \.isEmpty) { throw .emptyLine(blank + 1) }
        guard lines.count >= 3 else { throw .tooFewLines }
        guard let size = Self.parseSize(lines[1]) else { throw .invalidSize(lines[1]) }
        let root: Hash32
        do {
            root = try Hash32(base64: lines[2])
        } catch {
            throw .invalidRootHash
        }
        try self.init(origin: lines[0], size: size, root: root, extensions: Array(lines.dropFirst(3)))
    }

    /// Signs the body with `signer` (and any `cosigners`) as a signed note.
    package func signedNote(signer: NoteSigner, cosigners: [NoteSigner] = []) throws(CheckpointError) -> String {
        do {
            return try SignedNote.sign(text: body, signers: [signer] + cosigners)
        } catch {
            throw .note(error)
        }
    }

    /// Opens a signed checkpoint, verifying signatures against `verifiers`,
    /// and parses its body.
    ///
    /// With `requireOriginSignature` (the default), at least one verified
    /// signature must be by a key whose name equals the origin. Otherwise a
    /// trusted key of some *other* role (a witness, another log) would be
    /// enough to make any body "verified" for this log.
    package static func verify(
        note: String, verifiers: NoteVerifiers, requireOriginSignature: Bool = true
    ) throws(CheckpointError) -> CheckpointNote {
        let opened: OpenedNote
        do {
            opened = try SignedNote.open(note, verifiers: verifiers)
        } catch {
            throw .note(error)
        }
        let checkpoint = try CheckpointNote(parsingBody: opened.text)
        if requireOriginSignature {
            guard opened.verified.contains(where: { $0.name == checkpoint.origin }) else {
                throw .noSignatureFromOrigin
            }
        }
        return checkpoint
    }

    /// Origin rule: non-empty (spec MUST) and, stricter than the spec's
    /// SHOULD, no Unicode spaces and no '+', i.e. usable as a key name.
    static func isValidOrigin(_ origin: String) -> Bool {
        NoteKeyMath.isValidName(origin) && !origin.utf8.contains(where: { $0 < 0x20 })
    }

    /// Canonical decimal: "0", or a non-zero digit followed by digits;
    /// no sign; fits in Int64.
    static func parseSize(_ text: String) -> Int64? {
        let digits = Array(text.utf8)
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        guard digits[0] != UInt8(ascii: "0") || digits.count == 1 else { return nil }
        var value: Int64 = 0
        for digit in digits {
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(Int64(digit - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value
    }
}

extension CheckpointError: CustomStringConvertible {
    /// The broken rule, as a phrase.
    package var description: String {
        switch self {
        case .missingFinalNewline: return "the checkpoint body does not end in a newline"
        case .tooFewLines: return "the checkpoint has fewer than its three lines (origin, size, root hash)"
        case let .emptyLine(line): return "line \(line) of the checkpoint is empty"
        case .controlCharacter: return "the checkpoint contains a control character"
        case .invalidOrigin: return "the checkpoint's origin is empty or contains a space or '+'"
        case let .invalidSize(text): return "the checkpoint's size '\(TallyError.printable(text))' is not a canonical decimal number"
        case .invalidRootHash: return "the checkpoint's root hash is not padded base64 of 32 bytes"
        case .invalidExtension: return "an extension line contains a newline"
        case let .note(error): return error.description
        case .noSignatureFromOrigin: return "no verified signature is by a key named like the checkpoint's origin"
        }
    }
}
