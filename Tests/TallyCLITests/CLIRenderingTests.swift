import Testing
@testable import Tally
@testable import tally

/// The tables `tally` prints for people, checked line by line (the library hands out the
/// reports; the command line renders them).
@Suite("CLI: report tables group findings by kind, align them and end with advice")
struct CLIRenderingTests {
    private let finding = Finding(kind: .orphanTemp, key: nil, path: "m/.a.json.tmp-ABCDEF", detail: "left over")
    private let stale = Finding(kind: .stale, key: "invoices/INV-1", path: "m/invoices/INV-1.json", databaseVersion: 2,
                                fileVersion: 1, databaseChecksum: String(repeating: "a", count: 64),
                                fileChecksum: String(repeating: "b", count: 64), detail: "older")

    @Test("the reconcile table groups findings by kind, aligns the columns and ends with a summary")
    func table() throws {
        let report = ReconcileReport(target: "m", documentsChecked: 3, filesChecked: 4, findings: [finding, stale])
        let lines = ReportTables.reconcile(report).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "Reconciled the database with m: 3 documents, 4 files checked.")
        let header = try #require(lines.firstIndex { $0.hasPrefix("KIND") })
        // stale comes before orphan_temp (kind order), whatever the order found.
        #expect(lines[header + 1].hasPrefix("stale "))
        #expect(lines[header + 2].hasPrefix("orphan_temp "))
        let detailColumn = try #require(lines[header].firstRange(of: "DETAIL")).lowerBound.utf16Offset(in: lines[header])
        #expect(lines[header + 1].utf16.count > detailColumn)
        #expect(String(lines[header + 1].dropFirst(detailColumn)) == "older")
        #expect(String(lines[header + 2].dropFirst(detailColumn)) == "left over")
        #expect(lines.last == "2 findings (1 stale, 1 orphan_temp). The database is the source of truth: "
            + "`tally reconcile --dir DIR --repair` rewrites a mirror from it.")
        #expect(ReportTables.reconcile(ReconcileReport(target: "m")).hasSuffix("Clean: the database and m agree."))
    }

    @Test("the verify table says BROKEN for a broken chain and CORRUPTION in its summary")
    func verifyTable() {
        let chain = ChainReport(eventsChecked: 5, headSeq: 5, headHash: String(repeating: "c", count: 64),
                                firstBreak: ChainReport.Break(seq: 3, reason: .gap(expected: 2)))
        let report = VerifyReport(integrityCheck: ["ok"], foreignKeyProblems: [], chain: chain, documentsChecked: 1, findings: [])
        let text = ReportTables.verify(report)
        #expect(text.contains("BROKEN: ledger chain breaks at seq 3"))
        #expect(text.contains("CORRUPTION found"))
    }

    @Test("every library error maps to the README's exit code and a stable kind")
    func exitStatuses() {
        #expect(ExitStatus(.notFound(key: "k")) == .usage)
        #expect(ExitStatus(.corruptState(key: "k", expected: "a", actual: "b")) == .corruption)
        #expect(ExitStatus(.conflict(subject: "k", expected: 1, actual: 2)) == .conflict)
        #expect(ExitStatus(.snapshotConflict(path: "s", reason: "r")) == .conflict)
        #expect(ExitStatus(.dataWouldBeLost(path: "p", detail: "d")) == .conflict)
        #expect(ExitStatus(.io(step: "write", path: "p", errno: 28)) == .io)
        #expect(ExitStatus(.unsafeFile(path: "p", reason: "r")) == .io)
        #expect(ErrorWording.kind(.notFound(key: "k")) == "not_found")
        #expect(ErrorWording.message(.conflict(subject: "k", expected: 1, actual: 2)).contains("--expect-version 2"))
    }
}
