/// The outcome of ``Store/verify(rules:progress:)``: the database checked on its own.
///
/// ## JSON schema
///
/// ```json
/// {"integrity_check": ["ok"], "foreign_key_problems": [],
///  "chain": {"events_checked": 1200, "head_seq": 1200, "head_hash": "<64 hex>", "first_break": null},
///  "documents_checked": 800, "findings": [<Finding>, …],
///  "chain_problem": null, "is_clean": true, "exit_status": 0}
/// ```
///
/// - `integrity_check`: SQLite's `PRAGMA integrity_check` lines, `["ok"]` when intact (or
///   the error that stopped it, prefixed with `error:`).
/// - `foreign_key_problems`: one sentence per row `PRAGMA foreign_key_check` returned.
/// - `chain`: ``ChainReport``; `first_break` is `null` or `{"seq": N, "reason": {…}}` with
///   the reason as Swift encodes ``ChainBreak/Reason`` (e.g. `{"hashMismatch": {"stored":
///   …, "computed": …}}`); `chain_problem` has the same as a sentence.
/// - `documents_checked`: state rows whose checksum was recomputed.
/// - `findings`: see ``Finding``: `corrupt` (a state body that does not match its checksum
///   or is not JSON, or a part of the database that could not be read), `missing` (a
///   `ledger_seq` naming no event; history without state or state without history),
///   `mismatch` (the latest `state_history` row disagrees with `state`), `rule`.
/// - `is_clean`, `exit_status`, `chain_problem`: derived; written for convenience and
///   ignored when decoding.
public struct VerifyReport: Sendable, Codable, Equatable {
    /// `PRAGMA integrity_check` output: `["ok"]`, or SQLite's messages.
    public var integrityCheck: [String]
    /// `PRAGMA foreign_key_check` rows, as sentences.
    public var foreignKeyProblems: [String]
    /// The ledger's hash chain, recomputed.
    public var chain: ChainReport
    /// State documents whose checksum was recomputed.
    public var documentsChecked: Int64
    /// Every problem found besides the three above.
    public var findings: [Finding]

    /// Creates a report.
    public init(integrityCheck: [String], foreignKeyProblems: [String], chain: ChainReport, documentsChecked: Int64,
                findings: [Finding]) {
        self.integrityCheck = integrityCheck
        self.foreignKeyProblems = foreignKeyProblems
        self.chain = chain
        self.documentsChecked = documentsChecked
        self.findings = findings
    }

    /// True when `PRAGMA integrity_check` said exactly "ok".
    public var isIntegrityOK: Bool { integrityCheck == ["ok"] }

    /// True when nothing at all was found.
    public var isClean: Bool {
        isIntegrityOK && foreignKeyProblems.isEmpty && chain.isIntact && findings.isEmpty
    }

    /// The process exit status DESIGN.md assigns: 3 for corruption (integrity check not
    /// ok, a broken ledger chain, a state body that no longer matches its checksum or a
    /// part of the database that cannot be read), 1 for other findings, 0 when clean.
    public var exitStatus: Int32 {
        if !isIntegrityOK || !chain.isIntact || findings.contains(where: { $0.kind == .corrupt }) { return 3 }
        return isClean ? 0 : 1
    }

    /// The report for people: one line per check, the findings as a table grouped by kind,
    /// and a summary line with what to do next.
    public func renderTable() -> String {
        var checks: [[String]] = []
        checks.append(["integrity_check", isIntegrityOK ? "ok" : integrityCheck.joined(separator: "; ")])
        checks.append(["foreign keys", foreignKeyProblems.isEmpty ? "ok" : foreignKeyProblems.joined(separator: "; ")])
        let chainText: String
        if let broken = chain.firstBreak {
            chainText = "BROKEN: \(broken.description)"
        } else {
            chainText = "intact, \(FindingTable.plural(chain.eventsChecked, "event")), head seq \(chain.headSeq) (\(chain.headHash.prefix(16))…)"
        }
        checks.append(["ledger chain", chainText])
        checks.append(["state documents", "\(documentsChecked) checked"])
        var lines = ["Verified the database:"] + FindingTable.align(["CHECK", "RESULT"], checks).map { "  " + $0 }
        let table = FindingTable.lines(findings)
        if !table.isEmpty {
            lines.append("")
            lines += table
        }
        lines.append("")
        switch exitStatus {
        case 0:
            lines.append("Clean: the database is intact.")
        case 3:
            lines.append("CORRUPTION found\(findings.isEmpty ? "" : " (\(FindingTable.countsByKind(findings)))"). "
                + "Restore the database from a backup (`tally restore`) or a snapshot (`tally import`), then verify again.")
        default:
            let problems = findings.count + foreignKeyProblems.count
            lines.append("\(FindingTable.plural(problems, "problem")) found\(findings.isEmpty ? "" : " (\(FindingTable.countsByKind(findings)))"). "
                + "The data was changed outside Tally or breaks a domain rule; see the details above.")
        }
        return lines.joined(separator: "\n")
    }

    enum CodingKeys: String, CodingKey {
        case chain, findings
        case integrityCheck = "integrity_check", foreignKeyProblems = "foreign_key_problems"
        case documentsChecked = "documents_checked"
    }

    private enum DerivedKeys: String, CodingKey {
        case isClean = "is_clean", exitStatus = "exit_status", chainProblem = "chain_problem"
    }

    /// Encodes the stored members and the derived `is_clean`, `exit_status` and `chain_problem`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(integrityCheck, forKey: .integrityCheck)
        try container.encode(foreignKeyProblems, forKey: .foreignKeyProblems)
        try container.encode(chain, forKey: .chain)
        try container.encode(documentsChecked, forKey: .documentsChecked)
        try container.encode(findings, forKey: .findings)
        var derived = encoder.container(keyedBy: DerivedKeys.self)
        try derived.encode(isClean, forKey: .isClean)
        try derived.encode(exitStatus, forKey: .exitStatus)
        try derived.encode(chain.firstBreak?.description, forKey: .chainProblem)
    }
}
