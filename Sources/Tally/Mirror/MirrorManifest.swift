import Crypto

/// The mirror's `MANIFEST.json`: which ledger the directory mirrors, how far, and a digest
/// of its document list that the database can recompute.
///
/// ```json
/// {
///   "documents": 5,
///   "entries_digest": "<64 hex>",
///   "format": "tally-mirror",
///   "generated_at": "2026-11-23T09:16:32.012Z",
///   "ledger_head_hash": "<64 hex>",
///   "ledger_head_seq": 10,
///   "ledger_id": "8c5b3f0e-…",
///   "version": 2
/// }
/// ```
///
/// `entries_digest` is the sum, modulo 2^256, of SHA-256(`key` TAB `version` TAB `checksum`)
/// over every document, as a 64-digit big-endian hex number. A sum rather than a hash of a
/// sorted list because it does not depend on order, so the mirror's write-through can
/// update it for the documents a commit touched without reading all the others.
package struct MirrorManifest: Sendable, Equatable, Codable {
    /// Always "tally-mirror".
    package var format = MirrorManifest.formatName
    /// Manifest format version (2 added `ledger_id` and the order-free digest).
    package var version = MirrorManifest.currentVersion
    /// The ledger this directory mirrors; a mirror of another ledger is never touched.
    package var ledgerID: String
    /// When the manifest was written.
    package var generatedAt: String
    /// The ledger head the mirror is consistent with.
    package var ledgerHeadSeq: Int64
    /// That event's hash.
    package var ledgerHeadHash: String
    /// Number of document files.
    package var documents: Int64
    /// The digest of the document list (see the type's discussion).
    package var entriesDigest: String

    static let formatName = "tally-mirror"
    static let currentVersion = 2
    /// The largest manifest Tally reads: it is a few hundred bytes; anything bigger is not one.
    static let maximumBytes = 64 * 1024

    enum CodingKeys: String, CodingKey {
        case format, version, documents
        case ledgerID = "ledger_id", generatedAt = "generated_at", ledgerHeadSeq = "ledger_head_seq"
        case ledgerHeadHash = "ledger_head_hash", entriesDigest = "entries_digest"
    }

    /// The manifest's file bytes: pretty JSON, keys sorted, a final newline.
    func rendered() -> [UInt8] {
        let value: JSONValue = [
            "format": .string(format), "version": .number(Double(version)), "ledger_id": .string(ledgerID),
            "generated_at": .string(generatedAt), "ledger_head_seq": .number(Double(ledgerHeadSeq)),
            "ledger_head_hash": .string(ledgerHeadHash), "documents": .number(Double(documents)),
            "entries_digest": .string(entriesDigest),
        ]
        return Array((value.prettyPrinted(indent: 2) + "\n").utf8)
    }

    /// Reads a manifest's bytes, or says why they are not one.
    static func parse(_ bytes: [UInt8]) -> Result<MirrorManifest, MirrorFile.Problem> {
        let value: JSONValue
        do {
            value = try JSONValue.parseStrict(utf8: bytes)
        } catch {
            return .failure(.unreadable("not valid JSON: \(error)"))
        }
        guard case let .object(members) = value else { return .failure(.unreadable("not a JSON object")) }
        guard members["format"] == .string(formatName) else {
            return .failure(.unreadable("its format is not \"\(formatName)\""))
        }
        guard case let .number(version)? = members["version"], version == Double(currentVersion) else {
            return .failure(.unreadable("its version is not \(currentVersion) (written by another version of Tally)"))
        }
        guard case let .string(ledgerID)? = members["ledger_id"],
              case let .string(generatedAt)? = members["generated_at"],
              case let .number(seq)? = members["ledger_head_seq"], seq >= 0, seq == seq.rounded(), seq < 9e15,
              case let .string(hash)? = members["ledger_head_hash"], Digest.isHex64(hash),
              case let .number(documents)? = members["documents"], documents >= 0, documents == documents.rounded(), documents < 9e15,
              case let .string(digest)? = members["entries_digest"], Digest.isHex64(digest)
        else {
            return .failure(.unreadable("missing or mistyped members (ledger_id, generated_at, ledger_head_seq, ledger_head_hash, documents, entries_digest)"))
        }
        return .success(MirrorManifest(ledgerID: ledgerID, generatedAt: generatedAt, ledgerHeadSeq: Int64(seq),
                                       ledgerHeadHash: hash, documents: Int64(documents), entriesDigest: digest))
    }
}

/// The running value of a manifest's `entries_digest`: a 256-bit sum of per-document hashes.
struct EntriesDigest: Equatable {
    /// Big-endian 64-bit limbs; limbs[0] is the most significant.
    private(set) var limbs: [UInt64] = [0, 0, 0, 0]

    init() {}

    init?(hex: String) {
        guard Digest.isHex64(hex) else { return nil }
        let characters = Array(hex.utf8)
        for limb in 0..<4 {
            guard let value = UInt64(String(decoding: characters[(limb * 16)..<(limb * 16 + 16)], as: UTF8.self), radix: 16) else {
                return nil
            }
            limbs[limb] = value
        }
    }

    var hex: String {
        limbs.map { limb in
            let digits = String(limb, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
    }

    /// The entry hash of one document.
    static func entry(key: String, version: Int64, checksum: String) -> [UInt64] {
        // `key\tversion\tchecksum` as bytes, built without string interpolation (this runs
        // once per document on every mirror and reconcile).
        var line: [UInt8] = []
        line.reserveCapacity(key.utf8.count + checksum.utf8.count + 24)
        line.append(contentsOf: key.utf8)
        line.append(UInt8(ascii: "\t"))
        if version < 0 { line.append(UInt8(ascii: "-")) }
        JSONNumberFormatter.appendDecimal(version.magnitude, to: &line)
        line.append(UInt8(ascii: "\t"))
        line.append(contentsOf: checksum.utf8)
        let digest = SHA256.hash(data: line)
        return digest.withUnsafeBytes { raw in
            (0..<4).map { limb in UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: limb * 8, as: UInt64.self)) }
        }
    }

    mutating func add(key: String, version: Int64, checksum: String) {
        let other = Self.entry(key: key, version: version, checksum: checksum)
        var carry: UInt64 = 0
        for limb in stride(from: 3, through: 0, by: -1) {
            let (partial, overflow1) = limbs[limb].addingReportingOverflow(other[limb])
            let (sum, overflow2) = partial.addingReportingOverflow(carry)
            limbs[limb] = sum
            carry = (overflow1 ? 1 : 0) + (overflow2 ? 1 : 0)
        }
    }

    mutating func subtract(key: String, version: Int64, checksum: String) {
        let other = Self.entry(key: key, version: version, checksum: checksum)
        var borrow: UInt64 = 0
        for limb in stride(from: 3, through: 0, by: -1) {
            let (partial, underflow1) = limbs[limb].subtractingReportingOverflow(other[limb])
            let (difference, underflow2) = partial.subtractingReportingOverflow(borrow)
            limbs[limb] = difference
            borrow = (underflow1 ? 1 : 0) + (underflow2 ? 1 : 0)
        }
    }
}
