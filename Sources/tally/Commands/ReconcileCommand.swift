import ArgumentParser
import Tally

/// `tally reconcile`: compares the database with a mirror directory or a snapshot, and
/// optionally repairs the mirror from the database.
struct ReconcileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Compare the database with a state-file mirror or a snapshot; optionally repair the mirror.",
        discussion: """
            Findings: missing (in the database, no file), extra (file, not in the database), stale (older version), \
            mismatch (same version, different content; or a file ahead of the database), corrupt (unreadable, bad \
            JSON, checksum not matching its body), orphan_temp (temporary file of an interrupted write), unsafe (a \
            link, FIFO or device where a file belongs). MANIFEST.json is checked too.
            --repair rewrites missing, stale, mismatched and corrupt files and the manifest from the database \
            (atomically), removes orphaned temporary files older than a minute and, with --remove-extra, files whose \
            key the database does not have. It reports what it found and what it did.
            Exit status: 0 clean, 1 findings (also after a repair: reconcile again to confirm), 2 bad usage, \
            3 corruption, 5 I/O error.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("A mirror directory written by `tally mirror`.", valueName: "DIR"), completion: .directory)
    var dir: String?

    @Option(name: .long, help: ArgumentHelp("A snapshot file written by `tally export`.", valueName: "FILE"),
            completion: .file(extensions: ["jsonl"]))
    var snapshot: String?

    @Flag(name: .long, help: "Rewrite the mirror's missing, stale, mismatched and corrupt files from the database (--dir only).")
    var repair = false

    @Flag(name: .long, help: "With --repair, also remove mirror files whose key the database does not have.")
    var removeExtra = false

    func validate() throws {
        guard (dir == nil) != (snapshot == nil) else {
            throw ValidationError("Give exactly one of --dir DIR or --snapshot FILE.")
        }
        if repair && dir == nil {
            throw ValidationError("--repair works on a mirror directory (--dir); a snapshot is rewritten with `tally export`.")
        }
        if removeExtra && !repair {
            throw ValidationError("--remove-extra only makes sense with --repair.")
        }
    }

    func run() throws {
        // Read-only: reconciling never changes the database, not even by migrating it.
        let store = try global.openStoreForReading()
        let report: ReconcileReport
        if let dir {
            switch System.statInfo(dir) {
            case let .success(info) where info.kind != .directory:
                throw TallyError.invalidInput(field: "--dir", reason: "\(dir) is not a directory; name a mirror directory")
            case .failure(.noSuchFile):
                throw TallyError.invalidInput(field: "--dir", reason: "\(dir) does not exist; check the path, or create the mirror with `tally mirror \(dir)`")
            default:
                break
            }
            report = repair
                ? try store.repair(mirror: dir, removeExtra: removeExtra)
                : try store.reconcile(against: .directory(dir))
        } else if let snapshot {
            try Input.requireReadable(snapshot, field: "--snapshot")
            report = try store.reconcile(against: .snapshot(snapshot))
        } else {
            throw ValidationError("Give exactly one of --dir DIR or --snapshot FILE.")
        }
        let status: ExitStatus = report.isClean ? .ok : .findings
        if global.json {
            try Console.out.json(report, exitStatus: status)
        } else if !global.quiet || !report.isClean {
            try Console.out.line(ReportTables.reconcile(report))
        }
        if status != .ok { throw status.exit }
    }
}
