import Foundation

/// The one error type Tally throws.
///
/// Every case carries what failed, where (key, stream, path, line) and enough detail for
/// ``description`` to say what to do about it. Callers switch on the cases; people read
/// ``description``; the command line maps each case to an exit code with ``exitCode``.
public enum TallyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An optimistic-concurrency check failed: `subject` (a stream or a state key) was
    /// expected at version `expected` but is at `actual`.
    case conflict(subject: String, expected: Int64, actual: Int64)
    /// An event with this `eventID` already exists with different content.
    case duplicateEvent(eventID: String, existingSeq: Int64)
    /// A state key that is not a valid path-like key.
    case invalidKey(key: String, reason: String)
    /// An argument that failed validation: `field` names it, `reason` says why.
    case invalidInput(field: String, reason: String)
    /// No state document exists under `key`.
    case notFound(key: String)
    /// A stored state document whose body no longer matches its checksum.
    case corruptState(key: String, expected: String, actual: String)
    /// The database file (or its ledger chain) is damaged.
    case corruptDatabase(path: String, detail: String)
    /// A file Tally reads (e.g. with ``AtomicFile/readVerified(path:backups:logger:syscalls:validate:)``)
    /// is damaged and no intact copy is left.
    case corruptFile(path: String, detail: String)
    /// A snapshot file that cannot be used. `line` is 1-based; 0 means the file as a whole.
    case snapshot(path: String, line: Int, reason: String)
    /// A system call failed. `step` names it (open, write, fsync, chmod, close, rename,
    /// dirsync, read, lock, mkdir, …); `errno` is the C error number.
    case io(step: String, path: String, errno: Int32)
    /// A file lock could not be taken within `seconds`.
    case lockTimeout(path: String, seconds: Double)
    /// The file is not a Tally database (not SQLite, or SQLite belonging to someone else).
    case notATallyDatabase(path: String, reason: String)
    /// The database was migrated by a newer Tally than this build.
    case schemaTooNew(path: String, found: Int, known: Int)
    /// An applied migration no longer matches the migration this build carries.
    case migrationChanged(path: String, version: Int, name: String, applied: String, embedded: String)
    /// The database needs migrations that a read-only open cannot apply.
    case migrationPending(path: String, current: Int, latest: Int)
    /// SQLite reported an error not covered by a more specific case.
    case sqlite(SQLiteError)

    /// A sentence or two: what failed, where, and what to do.
    public var description: String {
        switch self {
        case let .conflict(subject, expected, actual):
            return "version conflict on '\(subject)': expected version \(expected), found \(actual). "
                + "Re-read '\(subject)' and retry with --expect-version \(actual) (or expectedVersion: \(actual))."
        case let .duplicateEvent(eventID, existingSeq):
            return "event id '\(eventID)' is already used by ledger seq \(existingSeq) with different content. "
                + "Use a new event id, or resend exactly the original event to get it back."
        case let .invalidKey(key, reason):
            return "invalid state key '\(Self.printable(key))': \(reason). "
                + "Keys are segments of [A-Za-z0-9._-] joined by '/', at most 255 bytes, with no empty, '.' or '..' segment."
        case let .invalidInput(field, reason):
            return "invalid \(field): \(reason)."
        case let .notFound(key):
            return "no state document with key '\(key)'. List the keys with `tally list`."
        case let .corruptState(key, expected, actual):
            return "state '\(key)' is corrupt: its body hashes to \(actual) but the stored checksum is \(expected). "
                + "It was changed outside Tally; restore it from a snapshot or backup (`tally import`, `tally restore`)."
        case let .corruptDatabase(path, detail):
            return "database \(path) is damaged: \(detail). Restore it from a backup (`tally restore`) or a snapshot (`tally import`)."
        case let .corruptFile(path, detail):
            return "\(path) is damaged: \(detail). Restore it from another copy."
        case let .snapshot(path, line, reason):
            let place = line > 0 ? "\(path):\(line)" : path
            return "snapshot \(place): \(reason). Nothing was imported; fix or re-export the snapshot."
        case let .io(step, path, errno):
            return "\(step) failed for \(path): \(String(cString: strerror(errno))) (errno \(errno)). "
                + Self.ioAdvice(errno)
        case let .lockTimeout(path, seconds):
            return "could not lock \(path) within \(Self.seconds(seconds)): another process holds it. "
                + "Wait for it to finish, or raise the timeout."
        case let .notATallyDatabase(path, reason):
            return "\(path) is not a Tally database: \(reason). Point --db at a Tally database, or at a new path to create one."
        case let .schemaTooNew(path, found, known):
            return "database \(path) has schema version \(found), but this build of Tally knows only up to \(known). "
                + "Upgrade Tally; this build will not touch the file."
        case let .migrationChanged(path, version, name, applied, embedded):
            return "migration \(version) (\(name)) applied to \(path) had checksum \(applied), "
                + "but this build carries \(embedded). Applied migrations must never change: restore the original file "
                + "and add a new migration instead."
        case let .migrationPending(path, current, latest):
            return "database \(path) is at schema version \(current) but this build needs \(latest). "
                + "Run `tally migrate` (or open it read-write) first."
        case let .sqlite(error):
            return error.description
        }
    }

    /// The process exit status DESIGN.md assigns to this error:
    /// 2 bad input, 3 corruption, 4 conflict, 5 I/O or lock timeout.
    public var exitCode: Int32 {
        switch self {
        case .invalidKey, .invalidInput, .notFound, .snapshot, .notATallyDatabase,
            .schemaTooNew, .migrationChanged, .migrationPending:
            return 2
        case .corruptState, .corruptDatabase, .corruptFile:
            return 3
        case .conflict, .duplicateEvent:
            return 4
        case .io, .lockTimeout:
            return 5
        case let .sqlite(error):
            return error.exitCode
        }
    }

    private static func ioAdvice(_ errno: Int32) -> String {
        switch errno {
        case EACCES, EPERM, EROFS: return "Check the permissions of the file and its directory."
        case ENOSPC, EDQUOT: return "Free some disk space and retry."
        case ENOENT, ENOTDIR: return "Check that the path exists."
        case ELOOP: return "The path is a symbolic link; Tally refuses to write through it."
        case EEXIST: return "Something already exists at that path."
        case EIO: return "The device reported an I/O error; check the disk."
        default: return "Check the path and retry."
        }
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }

    /// Keys come from users; show control characters and NUL as escapes, never raw.
    static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
