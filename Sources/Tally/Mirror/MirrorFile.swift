/// One file of the state-file mirror: `DIR/<key>.json`, pretty JSON with the document's
/// key, version, status, checksum, updated_at, ledger_seq and body (keys sorted).
///
/// The same type renders a file (``render(_:)``) and reads one back (``parse(_:expectedKey:)``),
/// so the mirror writer and the reconciliation checker cannot drift apart.
package enum MirrorFile {
    /// The manifest's file name at the mirror's root.
    package static let manifestName = "MANIFEST.json"
    /// The suffix of every document file.
    package static let suffix = ".json"

    /// The bytes of the mirror file for `document`.
    package static func render(_ document: StateDocument) -> [UInt8] {
        render(key: document.key, version: document.version, status: document.status, checksum: document.checksum,
               updatedAt: document.updatedAt, ledgerSeq: document.ledgerSeq) { out in
            JSONPrettyPrinter.write(document.body, indent: indentation, level: 1, to: &out)
        }
    }

    /// The bytes of the mirror file for a stored row, laid out from its canonical body bytes
    /// without parsing them (the same bytes as ``render(_:)`` of the row's document).
    static func render(_ stored: StateTable.CanonicalRow) -> [UInt8] {
        let row = stored.row
        return render(key: row.key, version: row.version, status: row.status, checksum: row.checksum,
                      updatedAt: row.updatedAt, ledgerSeq: row.ledgerSeq) { out in
            stored.body.withUnsafeBytes { JSONPrettyPrinter.reindent(canonical: $0, indent: indentation, level: 1, to: &out) }
        }
    }

    private static let indentation = 2

    /// The file: one JSON object, its members in canonical (RFC 8785) order, laid out as
    /// ``JSONValue/prettyPrinted(indent:)`` lays out objects, and a final newline.
    private static func render(key: String, version: Int64, status: String?, checksum: String, updatedAt: String,
                               ledgerSeq: Int64?, body: (inout [UInt8]) -> Void) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        CanonicalJSON.appendASCII("{\n  \"body\": ", to: &out)
        body(&out)
        CanonicalJSON.appendASCII(",\n  \"checksum\": ", to: &out)
        CanonicalJSON.appendQuoted(checksum, to: &out)
        CanonicalJSON.appendASCII(",\n  \"key\": ", to: &out)
        CanonicalJSON.appendQuoted(key, to: &out)
        CanonicalJSON.appendASCII(",\n  \"ledger_seq\": ", to: &out)
        if let ledgerSeq { JSONNumberFormatter.append(Double(ledgerSeq), to: &out) } else { CanonicalJSON.appendASCII("null", to: &out) }
        CanonicalJSON.appendASCII(",\n  \"status\": ", to: &out)
        if let status { CanonicalJSON.appendQuoted(status, to: &out) } else { CanonicalJSON.appendASCII("null", to: &out) }
        CanonicalJSON.appendASCII(",\n  \"updated_at\": ", to: &out)
        CanonicalJSON.appendQuoted(updatedAt, to: &out)
        CanonicalJSON.appendASCII(",\n  \"version\": ", to: &out)
        JSONNumberFormatter.append(Double(version), to: &out)
        CanonicalJSON.appendASCII("\n}\n", to: &out)
        return out
    }

    /// Why a file cannot be taken as a mirror of its document.
    package enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        /// Not valid JSON, or not an object with the expected members.
        case unreadable(String)
        /// The body does not hash to the checksum written beside it.
        case checksumMismatch(recorded: String, actual: String)
        /// The key inside the file is not the one its path stands for.
        case keyMismatch(inFile: String)

        package var description: String {
            switch self {
            case let .unreadable(detail): return detail
            case let .checksumMismatch(recorded, actual): return "its body hashes to \(actual) but the file records \(recorded)"
            case let .keyMismatch(inFile): return "it holds key '\(inFile)', not the key its path stands for"
            }
        }
    }

    /// Reads a mirror file's bytes into a document, checking its own checksum and that it
    /// holds `expectedKey`. Returns the problem instead of throwing: callers report it.
    package static func parse(_ bytes: some Collection<UInt8>, expectedKey: String) -> Result<StateDocument, Problem> {
        let value: JSONValue
        do {
            value = try JSONValue.parseStrict(utf8: Array(bytes))
        } catch {
            return .failure(.unreadable("not valid JSON: \(error)"))
        }
        guard case let .object(members) = value else { return .failure(.unreadable("not a JSON object")) }
        guard case let .string(key)? = members["key"],
              case let .number(version)? = members["version"], version >= 1, version == version.rounded(),
              case let .string(checksum)? = members["checksum"],
              case let .string(updatedAt)? = members["updated_at"],
              let body = members["body"]
        else {
            return .failure(.unreadable("missing or mistyped members (key, version, checksum, updated_at, body)"))
        }
        let status: String?
        switch members["status"] {
        case nil, .null?: status = nil
        case let .string(text)?: status = text
        default: return .failure(.unreadable("status must be a string or null"))
        }
        let ledgerSeq: Int64?
        switch members["ledger_seq"] {
        case nil, .null?: ledgerSeq = nil
        case let .number(seq)? where seq == seq.rounded() && seq >= 1 && seq < 9e15: ledgerSeq = Int64(seq)
        default: return .failure(.unreadable("ledger_seq must be a positive integer or null"))
        }
        guard key == expectedKey else { return .failure(.keyMismatch(inFile: key)) }
        let actual = (try? CanonicalJSON.bytes(body)).map { Digest.sha256Hex($0) } ?? "(not canonicalizable)"
        guard actual == checksum else { return .failure(.checksumMismatch(recorded: checksum, actual: actual)) }
        return .success(StateDocument(key: key, version: Int64(version), status: status, body: body, checksum: checksum,
                                      updatedAt: updatedAt, ledgerSeq: ledgerSeq))
    }

    /// Maps a path relative to the mirror root (`invoices/INV-1.json`) back to its key, or
    /// nil when the path cannot be a document file.
    package static func key(forRelativePath path: String) -> String? {
        guard path.hasSuffix(suffix), path != manifestName else { return nil }
        let key = String(path.dropLast(suffix.count))
        return (try? SafePath.validateKey(key)) == nil ? nil : key
    }
}
