/// The outcome of ``Store/verify(rules:checkpoints:progress:)-9yr21``: the database checked on its own.
///
/// ## JSON schema
///
/// ```json
/// {"integrity_check": ["ok"], "schema_problems": [], "foreign_key_problems": [],
///  "chain": {"events_checked": 1200, "head_seq": 1200, "head_hash": "<64 hex>", "first_break": null},
///  "documents_checked": 800, "findings": [<Finding>, …],
///  "chain_problem": null, "is_clean": true, "is_corrupt": false}
/// ```
///
/// - `integrity_check`: SQLite's `PRAGMA integrity_check` lines, `["ok"]` when intact (or
///   the error that stopped it, prefixed with `error:`).
/// - `foreign_key_problems`: one sentence per row `PRAGMA foreign_key_check` returned.
/// - `chain`: ``ChainReport``; `first_break` is `null` or `{"seq": N, "reason": {…}}` with
///   the reason as Swift encodes ``ChainReport/Break/Reason`` (e.g. `{"hashMismatch": {"stored":
///   …, "computed": …}}`); `chain_problem` has the same as a sentence.
/// - `documents_checked`: state rows whose checksum was recomputed.
/// - `findings`: see ``Finding``: `corrupt` (a state body that does not match its checksum
///   or is not JSON, or a part of the database that could not be read), `missing` (a
///   `ledger_seq` naming no event; history without state or state without history; a
///   consumer whose position is beyond the ledger's head),
///   `mismatch` (the latest `state_history` row disagrees with `state`), `rule`.
/// - `schema_problems`: how the schema differs from the one the migrations create.
/// - `is_clean`, `is_corrupt`, `chain_problem`: derived; written for convenience and
///   ignored when decoding.
public struct VerifyReport: Sendable, Codable, Equatable {
    /// `PRAGMA integrity_check` output: `["ok"]`, or SQLite's messages.
    public var integrityCheck: [String]
    /// How the schema differs from the one Tally's migrations create (a dropped or changed
    /// table, index, view or trigger; a trigger of someone else's), one sentence each.
    public var schemaProblems: [String]
    /// `PRAGMA foreign_key_check` rows, as sentences.
    public var foreignKeyProblems: [String]
    /// The ledger's hash chain, recomputed.
    public var chain: ChainReport
    /// State documents whose checksum was recomputed.
    public var documentsChecked: Int64
    /// Every problem found besides the three above.
    public var findings: [Finding]
    /// The Merkle root of the tree rebuilt from the events (hex); nil when the ledger
    /// could not be read to the end.
    public var merkleRoot: String?
    /// Checkpoints compared with the rebuilt tree: those stored in the database and those
    /// passed to ``Store/verify(rules:checkpoints:progress:)-9yr21``.
    public var checkpointsChecked: Int64?

    /// Creates a report.
    public init(integrityCheck: [String], schemaProblems: [String] = [], foreignKeyProblems: [String], chain: ChainReport,
                documentsChecked: Int64, findings: [Finding]) {
        self.integrityCheck = integrityCheck
        self.schemaProblems = schemaProblems
        self.foreignKeyProblems = foreignKeyProblems
        self.chain = chain
        self.documentsChecked = documentsChecked
        self.findings = findings
    }

    /// True when `PRAGMA integrity_check` said exactly "ok".
    public var isIntegrityOK: Bool { integrityCheck == ["ok"] }

    /// True when nothing at all was found.
    public var isClean: Bool {
        isIntegrityOK && schemaProblems.isEmpty && foreignKeyProblems.isEmpty && chain.isIntact && findings.isEmpty
    }

    /// True for damage, as opposed to other findings: the integrity check not ok, a schema
    /// changed behind Tally's back, a broken (or cut) ledger chain, a state body that no
    /// longer matches its checksum, or a part of the database that cannot be read.
    public var isCorrupt: Bool {
        !isIntegrityOK || !schemaProblems.isEmpty || !chain.isIntact || findings.contains(where: { $0.kind == .corrupt })
    }

    enum CodingKeys: String, CodingKey {
        case chain, findings
        case integrityCheck = "integrity_check", schemaProblems = "schema_problems", foreignKeyProblems = "foreign_key_problems"
        case documentsChecked = "documents_checked", merkleRoot = "merkle_root", checkpointsChecked = "checkpoints_checked"
    }

    private enum DerivedKeys: String, CodingKey {
        case isClean = "is_clean", isCorrupt = "is_corrupt", chainProblem = "chain_problem"
    }

    /// Encodes the stored members and the derived `is_clean`, `is_corrupt` and `chain_problem`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(integrityCheck, forKey: .integrityCheck)
        try container.encode(schemaProblems, forKey: .schemaProblems)
        try container.encode(foreignKeyProblems, forKey: .foreignKeyProblems)
        try container.encode(chain, forKey: .chain)
        try container.encode(documentsChecked, forKey: .documentsChecked)
        try container.encode(findings, forKey: .findings)
        try container.encode(merkleRoot, forKey: .merkleRoot)
        try container.encode(checkpointsChecked, forKey: .checkpointsChecked)
        var derived = encoder.container(keyedBy: DerivedKeys.self)
        try derived.encode(isClean, forKey: .isClean)
        try derived.encode(isCorrupt, forKey: .isCorrupt)
        try derived.encode(chain.firstBreak?.description, forKey: .chainProblem)
    }
}
