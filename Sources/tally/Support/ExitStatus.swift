import ArgumentParser
import Tally

/// The command line's exit codes, in one place (the README's table is this enum):
/// 0 ok · 1 findings · 2 usage or bad input · 3 corruption · 4 conflict · 5 I/O or lock timeout.
enum ExitStatus: Int32 {
    case ok = 0
    /// `reconcile`, `verify` or `mirror` found (or left) differences.
    case findings = 1
    /// An unknown option, malformed input, a missing input file, not a Tally database.
    case usage = 2
    /// Damage: a document, an event, a backup or the schema changed behind Tally's back.
    case corruption = 3
    /// An expected version did not match, an event id was reused, a snapshot or a restore
    /// would lose data the database has.
    case conflict = 4
    /// A system call failed (full or read-only disk, standard output closed), or a lock
    /// was held too long.
    case io = 5

    /// Stops the command with this status (after the output it already wrote).
    var exit: ExitCode { ExitCode(rawValue) }

    /// The status for a library error.
    init(_ error: TallyError) {
        switch error {
        case .invalidKey, .invalidInput, .invalidJSON, .notFound, .snapshot, .notATallyDatabase,
             .schemaTooNew, .migrationChanged, .migrationPending:
            self = .usage
        case .corruptState, .corruptDatabase, .corruptFile, .proofRejected:
            self = .corruption
        case .conflict, .duplicateEvent, .snapshotConflict, .dataWouldBeLost:
            self = .conflict
        case .io, .lockTimeout, .unsafeFile, .consumerBusy, .replicatorAttached:
            self = .io
        case let .sqlite(error):
            switch error.code {
            case .ioError, .full, .cannotOpen, .readOnly, .busy, .locked, .permission, .noMemory: self = .io
            case .constraint: self = .conflict
            default: self = .usage
            }
        case let .postgres(code, _, _):
            switch code.prefix(2) {
            case "08", "53", "57", "58", "40": self = .io
            case "23", "P0": self = .conflict
            case "XX": self = .corruption
            default: self = .usage
            }
        case .internal:
            self = .usage
        }
    }
}

/// A failure the command line detects itself (not a library error): its exit status, a
/// stable kind for `--json`, and the one-line message.
struct CommandFailure: Error {
    let status: ExitStatus
    let kind: String
    let message: String
}

/// How the command line words a library error: the library's problem, followed by advice
/// that names this program's commands and flags where the library's names API calls.
enum ErrorWording {
    /// A short, stable name of the error for `--json` (`not_found`, `conflict`, …).
    static func kind(_ error: TallyError) -> String {
        switch error {
        case .conflict: return "conflict"
        case .duplicateEvent: return "duplicate_event"
        case .invalidKey: return "invalid_key"
        case .invalidInput: return "invalid_input"
        case .invalidJSON: return "invalid_json"
        case .notFound: return "not_found"
        case .corruptState: return "corrupt_state"
        case .corruptDatabase: return "corrupt_database"
        case .corruptFile: return "corrupt_file"
        case .snapshot: return "invalid_snapshot"
        case .snapshotConflict: return "snapshot_conflict"
        case .dataWouldBeLost: return "data_would_be_lost"
        case .unsafeFile: return "unsafe_file"
        case .io: return "io"
        case .lockTimeout: return "lock_timeout"
        case .consumerBusy: return "consumer_busy"
        case .proofRejected: return "proof_rejected"
        case .postgres: return "postgres"
        case .replicatorAttached: return "replicator_attached"
        case .notATallyDatabase: return "not_a_tally_database"
        case .schemaTooNew: return "schema_too_new"
        case .migrationChanged: return "migration_changed"
        case .migrationPending: return "migration_pending"
        case .sqlite: return "sqlite"
        case .internal: return "internal"
        }
    }

    /// The one-line message for people.
    static func message(_ error: TallyError) -> String {
        let advice = self.advice(error) ?? error.advice
        return advice.isEmpty ? error.problem + "." : error.problem + ". " + advice
    }

    /// Advice in the command line's terms, where it differs from the library's.
    private static func advice(_ error: TallyError) -> String? {
        switch error {
        case let .conflict(subject, _, actual):
            return "Re-read '\(subject)' and retry with --expect-version \(actual)."
        case .notFound:
            return "List the keys with `tally list`."
        case .corruptState:
            return "It was changed outside Tally; restore it from a snapshot (`tally import`) or a backup (`tally restore`)."
        case .corruptDatabase:
            return "Restore it from a backup (`tally restore`) or a snapshot (`tally import`)."
        case .snapshotConflict:
            return "Nothing was imported; `--mode merge` takes what is newer from each side, or import into a new database."
        case .dataWouldBeLost:
            return "Pass --force to restore anyway (the replaced database is kept beside it), or take a backup first (`tally backup DIR`)."
        case .notATallyDatabase:
            return "Point --db at a Tally database, or at a new path and run `tally init`."
        case .migrationPending:
            return "Run `tally migrate` first."
        case .lockTimeout:
            return "Wait for the other process to finish, and retry."
        case let .sqlite(sqlite) where sqlite.isBusy:
            return "Another process held the database longer than the busy timeout; retry."
        default:
            return nil
        }
    }
}
