import Tally

/// The reports of `verify`, `reconcile` and `mirror` for people: the checks, the findings as
/// a table grouped by kind, and a summary line that says what to do next.
enum ReportTables {
    static func verify(_ report: VerifyReport) -> String {
        var checks: [[String]] = []
        checks.append(["integrity_check", report.isIntegrityOK ? "ok" : report.integrityCheck.joined(separator: "; ")])
        checks.append(["schema", report.schemaProblems.isEmpty ? "ok" : report.schemaProblems.joined(separator: "; ")])
        checks.append(["foreign keys", report.foreignKeyProblems.isEmpty ? "ok" : report.foreignKeyProblems.joined(separator: "; ")])
        let chain = report.chain
        let chainText: String
        if let broken = chain.firstBreak {
            chainText = "BROKEN: \(broken.description)"
        } else {
            chainText = "intact, \(FindingTable.plural(chain.eventsChecked, "event")), head seq \(chain.headSeq) (\(chain.headHash.prefix(16))…)"
        }
        checks.append(["ledger chain", chainText])
        if let root = report.merkleRoot {
            let checkpoints = report.checkpointsChecked ?? 0
            checks.append(["merkle tree", "rebuilt, root \(root.prefix(16))…" + (checkpoints > 0 ? ", \(FindingTable.plural(checkpoints, "checkpoint")) matched" : "")])
        }
        checks.append(["state documents", "\(report.documentsChecked) checked"])
        var lines = ["Verified the database:"] + FindingTable.align(["CHECK", "RESULT"], checks).map { "  " + $0 }
        let table = FindingTable.lines(report.findings)
        if !table.isEmpty {
            lines.append("")
            lines += table
        }
        lines.append("")
        if report.isClean {
            lines.append("Clean: the database is intact.")
        } else if report.isCorrupt {
            lines.append("CORRUPTION found\(report.findings.isEmpty ? "" : " (\(FindingTable.countsByKind(report.findings)))"). "
                + "Restore the database from a backup (`tally restore`) or a snapshot (`tally import`), then verify again.")
        } else {
            let problems = report.findings.count + report.foreignKeyProblems.count
            lines.append("\(FindingTable.plural(problems, "problem")) found\(report.findings.isEmpty ? "" : " (\(FindingTable.countsByKind(report.findings)))"). "
                + "The data was changed outside Tally or breaks a domain rule; see the details above.")
        }
        return lines.joined(separator: "\n")
    }

    static func reconcile(_ report: ReconcileReport) -> String {
        var lines = ["Reconciled the database with \(report.target): \(FindingTable.plural(report.documentsChecked, "document")), "
            + "\(FindingTable.plural(report.filesChecked, "file")) checked."]
        let table = FindingTable.lines(report.findings)
        if !table.isEmpty {
            lines.append("")
            lines += table
        }
        if !report.repairs.isEmpty {
            lines.append("")
            lines.append("Repairs:")
            lines += report.repairs.map { "  " + $0 }
        }
        lines.append("")
        if report.isClean {
            lines.append("Clean: the database and \(report.target) agree.")
        } else if report.repairs.isEmpty {
            lines.append("\(FindingTable.plural(report.findings.count, "finding")) (\(FindingTable.countsByKind(report.findings))). "
                + "The database is the source of truth: `tally reconcile --dir DIR --repair` rewrites a mirror from it.")
        } else {
            lines.append("\(FindingTable.plural(report.findings.count, "finding")) (\(FindingTable.countsByKind(report.findings))), "
                + "\(FindingTable.plural(report.repairs.count, "repair line")) above. Reconcile again to confirm the mirror is clean.")
        }
        return lines.joined(separator: "\n")
    }

    /// What a mirror left as it was, when it left anything.
    static func mirrorFindings(_ report: MirrorReport) -> String {
        var lines = ["", "Left as it was:"] + FindingTable.lines(report.findings)
        lines.append("")
        lines.append("\(FindingTable.plural(report.findings.count, "finding")) (\(FindingTable.countsByKind(report.findings))): "
            + "everything else was mirrored; fix these by hand, then mirror again.")
        return lines.joined(separator: "\n")
    }
}
