/// One disagreement found by ``Store/reconcile(against:rules:progress:)-443di`` or
/// ``Store/verify(rules:checkpoints:progress:)-9yr21``.
///
/// ## JSON schema
///
/// Every member is always present; absent values are `null`:
///
/// ```json
/// {"kind": "stale", "key": "invoices/INV-1", "path": "state/invoices/INV-1.json",
///  "database_version": 3, "file_version": 2,
///  "database_checksum": "<64 hex>", "file_checksum": "<64 hex>",
///  "detail": "the file has version 2 but the database has version 3; …"}
/// ```
///
/// - `kind`: one of ``Kind`` as a string (`missing`, `extra`, `stale`, `mismatch`,
///   `corrupt`, `orphan_temp`, `unsafe`, `rule`).
/// - `key`: the state key, or `null` when the finding is not about one document.
/// - `path`: the file the finding is about — a mirror file, `SNAPSHOT:LINE` for a snapshot
///   record (the snapshot's path alone for a document it lacks) — or `null` for findings
///   about the database alone.
/// - `database_version`, `database_checksum`: the document as the database has it.
/// - `file_version`, `file_checksum`: the document as the file (or snapshot record) has
///   it; for a corrupt file, what could still be read from it.
/// - `detail`: one sentence for people: what differs, and what to do about it.
public struct Finding: Sendable, Codable, Equatable {
    /// What kind of disagreement a finding is.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Reconcile: the database has the document, the mirror or snapshot does not.
        /// Verify: something the database refers to does not exist (a `ledger_seq` that
        /// names no event, a state row without history, a history that says a key exists
        /// when `state` has no row for it, events a consumer already processed).
        case missing
        /// The mirror or snapshot has a document (or a file) the database does not.
        case extra
        /// The file holds an older version of the document than the database.
        case stale
        /// Same version, different content (checksum, status, `updated_at`, `ledger_seq`);
        /// also a file *ahead* of the database. Verify: `state_history` disagrees with `state`.
        case mismatch
        /// Unreadable, not valid JSON, a body that does not match its own checksum, or a
        /// file holding another key than its path stands for — in a file, or in the database.
        case corrupt
        /// A temporary file `.NAME.tmp-XXXXXX` left behind by an interrupted atomic write.
        case orphanTemp = "orphan_temp"
        /// Something Tally will not read or replace where a mirror file belongs: a symbolic
        /// link, a FIFO, a socket, a device, or a file over the size limit. Remove it (or
        /// replace it with a regular file); Tally never follows links or opens special files.
        case unsafe
        /// A ``DomainRule`` reported a problem; the detail starts with the rule's name.
        case rule
    }

    /// What kind of disagreement this is.
    public var kind: Kind
    /// The state key concerned, if the finding is about one document.
    public var key: String?
    /// The file concerned (a mirror file, `SNAPSHOT:LINE`), nil for the database alone.
    public var path: String?
    /// The document's version in the database.
    public var databaseVersion: Int64?
    /// The document's version in the file or snapshot record.
    public var fileVersion: Int64?
    /// The document's checksum in the database.
    public var databaseChecksum: String?
    /// The document's checksum recorded in the file or snapshot record.
    public var fileChecksum: String?
    /// A sentence for people: what differs and what to do.
    public var detail: String

    /// Creates a finding.
    public init(kind: Kind, key: String? = nil, path: String? = nil, databaseVersion: Int64? = nil,
                fileVersion: Int64? = nil, databaseChecksum: String? = nil, fileChecksum: String? = nil,
                detail: String) {
        self.kind = kind
        self.key = key
        self.path = path
        self.databaseVersion = databaseVersion
        self.fileVersion = fileVersion
        self.databaseChecksum = databaseChecksum
        self.fileChecksum = fileChecksum
        self.detail = detail
    }

    enum CodingKeys: String, CodingKey {
        case kind, key, path, detail
        case databaseVersion = "database_version", fileVersion = "file_version"
        case databaseChecksum = "database_checksum", fileChecksum = "file_checksum"
    }

    /// Encodes every member, writing `null` for absent ones, so the schema has a fixed shape.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(key, forKey: .key)
        try container.encode(path, forKey: .path)
        try container.encode(databaseVersion, forKey: .databaseVersion)
        try container.encode(fileVersion, forKey: .fileVersion)
        try container.encode(databaseChecksum, forKey: .databaseChecksum)
        try container.encode(fileChecksum, forKey: .fileChecksum)
        try container.encode(detail, forKey: .detail)
    }
}
