import Tally

/// The demo's only calls into the reconciliation API (`Sources/Tally/Reconcile`), kept in
/// one file so that adapting the demo to that API's final shape touches nothing else.
enum DemoReconcileSteps {
    /// One finding, reduced to what the demo prints.
    struct Line {
        let kind: String
        let key: String
        let path: String
        let detail: String
    }

    /// The outcome of a step: clean or not, the findings, and the library's own table.
    struct Outcome {
        let isClean: Bool
        let findings: [Line]
        let table: String
    }

    /// Compares the mirror directory with the database.
    static func reconcile(_ store: Store, mirror: String) throws -> Outcome {
        outcome(try store.reconcile(against: .directory(mirror)))
    }

    /// Rewrites the mirror files that disagree with the database; returns what it fixed.
    static func repair(_ store: Store, mirror: String) throws -> Outcome {
        outcome(try store.repair(mirror: mirror))
    }

    /// Checks the database alone (integrity, chain, checksums).
    static func verify(_ store: Store) throws -> Outcome {
        let report = try store.verify()
        return Outcome(isClean: report.isClean, findings: [], table: report.renderTable())
    }

    private static func outcome(_ report: ReconcileReport) -> Outcome {
        Outcome(isClean: report.isClean,
                findings: report.findings.map { Line(kind: $0.kind.rawValue, key: $0.key ?? "-", path: $0.path ?? "-", detail: $0.detail) },
                table: report.renderTable())
    }
}
