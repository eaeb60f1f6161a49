/// The current version of one state document: a JSON body under a path-like key, with a
/// version, an optional status label and the checksum of its canonical JSON.
///
/// Its JSON form (`Codable`) uses the schema's column names: `key`, `version`, `status`,
/// `body`, `checksum`, `updated_at`, `ledger_seq`.
public struct StateDocument: Codable, Sendable, Hashable {
    /// The key, e.g. `invoices/INV-1001`.
    public let key: String
    /// 1 for the first write, +1 for every later write (deletions count too). Only ever
    /// increases: an import may carry a document in at its snapshot version, or at the
    /// key's last version + 1 when the database has moved past the snapshot.
    public let version: Int64
    /// A label such as `unpaid`, `paid`, `escalated`.
    public let status: String?
    /// The document.
    public let body: JSONValue
    /// Lowercase hex SHA-256 of the RFC 8785 canonical JSON of ``body``.
    public let checksum: String
    /// When this version was written: RFC 3339 UTC with milliseconds.
    public let updatedAt: String
    /// The ledger event that caused this version, if any.
    public let ledgerSeq: Int64?

    /// Creates a document value (normally you get them from ``StateStore``).
    public init(key: String, version: Int64, status: String?, body: JSONValue, checksum: String,
                updatedAt: String, ledgerSeq: Int64?) {
        self.key = key
        self.version = version
        self.status = status
        self.body = body
        self.checksum = checksum
        self.updatedAt = updatedAt
        self.ledgerSeq = ledgerSeq
    }

    enum CodingKeys: String, CodingKey {
        case key, version, status, body, checksum
        case updatedAt = "updated_at"
        case ledgerSeq = "ledger_seq"
    }

    /// The body as an app's own `Decodable` type (see ``JSONValue/decode(_:)``).
    ///
    /// - Throws: ``TallyError/invalidInput(field:reason:)`` naming where it does not match.
    public func body<T: Decodable>(as type: T.Type) throws(TallyError) -> T {
        try JSONValueDecoder().decode(type, from: body, field: "body of '\(key)'")
    }

    /// Encodes every member, writing `null` for absent optionals.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(key, forKey: .key)
        try container.encode(version, forKey: .version)
        try container.encode(status, forKey: .status)
        try container.encode(body, forKey: .body)
        try container.encode(checksum, forKey: .checksum)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(ledgerSeq, forKey: .ledgerSeq)
    }
}

/// One row of a key's history: a version as it was written, or a deletion (tombstone).
public struct StateHistoryEntry: Codable, Sendable, Hashable {
    /// The key.
    public let key: String
    /// The version this row recorded.
    public let version: Int64
    /// The status at that version.
    public let status: String?
    /// The body at that version; nil for a deletion.
    public let body: JSONValue?
    /// The checksum at that version; nil for a deletion.
    public let checksum: String?
    /// When it was written.
    public let updatedAt: String
    /// The ledger event that caused it, if any.
    public let ledgerSeq: Int64?
    /// True when this row records the key's deletion.
    public let deleted: Bool

    enum CodingKeys: String, CodingKey {
        case key, version, status, body, checksum, deleted
        case updatedAt = "updated_at"
        case ledgerSeq = "ledger_seq"
    }
}
