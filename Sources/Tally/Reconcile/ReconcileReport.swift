/// The outcome of ``Store/reconcile(against:rules:progress:)-443di`` or
/// ``Store/repair(mirror:removeExtra:progress:)-269ox``.
///
/// ## JSON schema
///
/// ```json
/// {"target": "state/", "documents_checked": 120, "files_checked": 121,
///  "findings": [<Finding>, …], "repairs": ["rewrote state/invoices/INV-2.json …", …],
///  "is_clean": false}
/// ```
///
/// - `target`: the mirror directory or snapshot file compared with the database.
/// - `documents_checked`: database documents compared (within the snapshot's key prefix).
/// - `files_checked`: mirror files read (documents' files, extra files, temporary files;
///   not `MANIFEST.json`), or state records read from the snapshot.
/// - `findings`: see ``Finding``, in the order found (database key order, then the
///   directory walk).
/// - `repairs`: one sentence per action ``Store/repair(mirror:removeExtra:progress:)-269ox`` took
///   or declined to take; empty for a plain reconcile.
/// - `is_clean`: derived from `findings`; written for convenience and ignored when
///   decoding.
public struct ReconcileReport: Sendable, Codable, Equatable {
    /// The mirror directory or snapshot file compared with the database.
    public var target: String
    /// Database documents compared.
    public var documentsChecked: Int64
    /// Mirror files read, or snapshot state records read.
    public var filesChecked: Int64
    /// Every disagreement found.
    public var findings: [Finding]
    /// What a repair did (and what it left alone, and why); empty for a plain reconcile.
    public var repairs: [String]

    /// Creates a report.
    public init(target: String, documentsChecked: Int64 = 0, filesChecked: Int64 = 0, findings: [Finding] = [],
                repairs: [String] = []) {
        self.target = target
        self.documentsChecked = documentsChecked
        self.filesChecked = filesChecked
        self.findings = findings
        self.repairs = repairs
    }

    /// True when the database and the target agree: no findings.
    public var isClean: Bool { findings.isEmpty }

    enum CodingKeys: String, CodingKey {
        case target, findings, repairs
        case documentsChecked = "documents_checked", filesChecked = "files_checked"
    }

    private enum DerivedKeys: String, CodingKey {
        case isClean = "is_clean"
    }

    /// Encodes the stored members and the derived `is_clean`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(target, forKey: .target)
        try container.encode(documentsChecked, forKey: .documentsChecked)
        try container.encode(filesChecked, forKey: .filesChecked)
        try container.encode(findings, forKey: .findings)
        try container.encode(repairs, forKey: .repairs)
        var derived = encoder.container(keyedBy: DerivedKeys.self)
        try derived.encode(isClean, forKey: .isClean)
    }
}
