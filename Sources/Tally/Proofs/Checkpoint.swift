/// A signed statement, in the C2SP `tlog-checkpoint` signed-note format, that the ledger
/// had `size` events with Merkle root `rootHash`:
///
/// ```
/// tally/0f3c…-…          ← origin: the ledger's identity
/// 1042                   ← size: number of events
/// n3Fq…=                 ← the RFC 9162 Merkle root, base64
///
/// — tally/0f3c…-… Ab12…  ← Ed25519 signature line
/// ```
///
/// Publish checkpoints somewhere the database's owner cannot rewrite (a ticket, an email,
/// a transparency log, a witness). Later, anyone holding one can check that the ledger
/// still contains exactly those events (``Store/verify(rules:checkpoints:progress:)-9yr21``), that
/// an event is in it (``InclusionProof``) and that a later checkpoint extends it
/// (``ConsistencyProof``) — the last two without the database.
///
/// Checkpoint values come from ``Store/signCheckpoint(with:)``, ``Store/checkpoints()`` or
/// ``init(signedNote:publicKey:)``, which checks the signature: a `Checkpoint` is always
/// one whose signature was verified (or that the store signed itself).
public struct Checkpoint: Sendable, Hashable, Codable {
    /// `tally/<ledger id>`.
    public let origin: String
    /// The number of events the checkpoint covers.
    public let size: Int64
    /// The Merkle root of events 1…size, in lowercase hex.
    public let rootHash: String
    /// The signed note, verbatim (what to publish).
    public let signedNote: String

    enum CodingKeys: String, CodingKey {
        case origin, size
        case rootHash = "root_hash", signedNote = "signed_note"
    }

    /// The ledger identity the origin names, or nil for an origin not made by Tally.
    public var ledgerID: String? {
        origin.hasPrefix(Self.originPrefix) ? String(origin.dropFirst(Self.originPrefix.count)) : nil
    }

    /// Opens a signed checkpoint and verifies its signature with `publicKey` (the text of a
    /// `.pub` file written by ``SigningKey/publicKeyText``): the key's name must be the
    /// checkpoint's origin and its signature must verify.
    ///
    /// - Throws: ``TallyError/proofRejected(reason:)`` for a bad signature, a note not
    ///   signed by that key, or a malformed note or key.
    public init(signedNote: String, publicKey: String) throws(TallyError) {
        let key: NoteVerifierKey
        do {
            key = try NoteVerifierKey(parsing: publicKey.trimmingTrailingNewlines())
        } catch {
            throw TallyError.proofRejected(reason: "the public key is not a note verifier key (NAME+HASH+BASE64): \(error)")
        }
        let note: CheckpointNote
        do {
            note = try CheckpointNote.verify(note: signedNote, verifiers: NoteVerifiers([key]))
        } catch {
            throw TallyError.proofRejected(reason: "the checkpoint's signature does not verify with the key \(key.name): \(error)")
        }
        self.init(note: note, signedNote: signedNote)
    }

    /// Parses a signed checkpoint *without* checking its signature, for tools that say so
    /// (`verify-proof` without a public key).
    package init(unverifiedNote signedNote: String) throws(TallyError) {
        guard let separator = signedNote.firstRange(of: "\n\n") else {
            throw TallyError.proofRejected(reason: "the text is not a signed note (no empty line before the signatures)")
        }
        do {
            let body = String(signedNote[..<separator.lowerBound]) + "\n"
            self.init(note: try CheckpointNote(parsingBody: body), signedNote: signedNote)
        } catch {
            throw TallyError.proofRejected(reason: "the checkpoint body is malformed: \(error)")
        }
    }

    init(note: CheckpointNote, signedNote: String) {
        origin = note.origin
        size = note.size
        rootHash = note.root.hex
        self.signedNote = signedNote
    }

    static let originPrefix = "tally/"

    /// An Ed25519 key that signs checkpoints, in the format of Go's `golang.org/x/mod/sumdb/note`
    /// (so Go's tools read Tally's checkpoints and keys): the private form
    /// `PRIVATE+KEY+<name>+<key id>+<base64>` and the public form `<name>+<key id>+<base64>`.
    /// The name is the ledger's origin, `tally/<ledger id>`.
    ///
    /// Keep the private form out of the database and out of backups of it: whoever holds it
    /// can sign a rewritten history.
    public struct SigningKey: Sendable {
        let signer: NoteSigner

        /// The key's name: the origin of the ledger it signs for.
        public var name: String { signer.name }
        /// The secret form, for a file only its owner can read.
        public var privateKeyText: String { signer.encoded }
        /// The public form, to give to whoever checks the checkpoints.
        public var publicKeyText: String { signer.verifierKey.encoded }

        /// A new random key for the ledger `ledgerID` (see ``Store/ledgerID()``).
        public static func generate(forLedger ledgerID: String) throws(TallyError) -> SigningKey {
            do {
                return SigningKey(signer: try NoteSigner.generate(name: Checkpoint.originPrefix + ledgerID))
            } catch {
                throw TallyError.invalidInput(field: "ledger id", reason: "'\(TallyError.printable(ledgerID))' cannot name a key: \(error)")
            }
        }

        /// Reads the secret form written by ``privateKeyText``.
        ///
        /// - Throws: ``TallyError/invalidInput(field:reason:)`` when it is not one (the
        ///   message never repeats the text: it may be a secret).
        public init(privateKeyText text: String) throws(TallyError) {
            do {
                signer = try NoteSigner(parsing: text.trimmingTrailingNewlines())
            } catch {
                throw TallyError.invalidInput(field: "private key", reason: "it is not a note signing key (PRIVATE+KEY+NAME+HASH+BASE64): \(error)")
            }
        }

        init(signer: NoteSigner) {
            self.signer = signer
        }
    }
}

extension String {
    /// Without the newlines a key file ends with.
    func trimmingTrailingNewlines() -> String {
        var text = self
        while text.last == "\n" || text.last == "\r" { text.removeLast() }
        return text
    }
}
