/// The one error type Tally throws.
///
/// Every case carries what failed and where (key, stream, path, line), so that
/// ``description`` can say what to do about it. Callers switch on the cases; people read
/// ``description``, which is ``problem`` followed by ``advice``. The advice speaks of the
/// API (`expectedVersion:`, ``Store/restore(from:to:options:)``); the `tally` command line
/// puts its own flags in its place.
public enum TallyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An optimistic-concurrency check failed: `subject` (a stream or a state key) was
    /// expected at version `expected` but is at `actual`.
    case conflict(subject: String, expected: Int64, actual: Int64)
    /// An event with this `eventID` already exists with different content.
    case duplicateEvent(eventID: String, existingSeq: Int64)
    /// A state key that is not a valid path-like key, or that cannot be mirrored to a file.
    case invalidKey(key: String, reason: String)
    /// An argument that failed validation: `field` names it, `reason` says why.
    case invalidInput(field: String, reason: String)
    /// JSON text that is not valid JSON: `source` says where it came from, `reason` what
    /// is wrong, `line` and `column` (1-based) where.
    case invalidJSON(source: String, reason: String, line: Int, column: Int)
    /// No state document exists under `key`.
    case notFound(key: String)
    /// A stored state document whose body no longer matches its checksum.
    case corruptState(key: String, expected: String, actual: String)
    /// The database file, its ledger chain or its schema is damaged.
    case corruptDatabase(path: String, detail: String)
    /// A file Tally reads is damaged and no intact copy of it is left.
    case corruptFile(path: String, detail: String)
    /// A snapshot file that cannot be used. `line` is 1-based; 0 means the file as a whole.
    case snapshot(path: String, line: Int, reason: String)
    /// A snapshot that is valid but disagrees with the database (its ledger is behind or
    /// has diverged, or it belongs to another ledger). Nothing was imported. (Documents
    /// both sides changed in a merge are not this error: they are listed in
    /// ``Store/ImportReport/conflicts`` and the rest is imported.)
    case snapshotConflict(path: String, reason: String)
    /// Going on would discard data the database at `path` has (a restore over a database
    /// that is ahead of the backup). Nothing was changed.
    case dataWouldBeLost(path: String, detail: String)
    /// A path where Tally expects a regular file holds something it will not open: a
    /// symbolic link, a FIFO, a socket, a device, or a file over the size limit.
    case unsafeFile(path: String, reason: String)
    /// A system call failed. `step` names it (open, write, fsync, chmod, close, rename,
    /// dirsync, read, lock, mkdir, …); `errno` is the C error number.
    case io(step: String, path: String, errno: Int32)
    /// A lock could not be taken within `seconds`: another connection or process holds it.
    case lockTimeout(path: String, seconds: Double)
    /// A Merkle proof or a signed checkpoint did not check out: the ledger it speaks for is
    /// not the one it claims (or the proof was made for another checkpoint).
    case proofRejected(reason: String)
    /// A replicator (Litestream) is attached to the database, and `operation` is one it
    /// cannot live with: a truncating checkpoint never completes while it holds its read
    /// transaction (and stalls writers meanwhile); replacing the file under it corrupts the
    /// replica.
    case replicatorAttached(path: String, operation: String, process: String, pid: Int32)
    /// A ``Consumer`` of this name is running elsewhere (another process, or another
    /// `Consumer` value in this one): two runs of one consumer would process events twice.
    case consumerBusy(name: String, lockPath: String)
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
    /// PostgreSQL (or libpq) reported an error: its SQLSTATE (`23505`, `08006`, …), the
    /// message, and the statement.
    case postgres(code: String, message: String, sql: String?)
    /// A bug in Tally: something that must not happen did. Please report it with the detail.
    case `internal`(String)

    /// A sentence or two: what failed, where, and what to do.
    public var description: String {
        let advice = self.advice
        return advice.isEmpty ? problem : problem + ". " + advice
    }

    /// What failed and where, without advice and without a final period.
    public var problem: String {
        switch self {
        case let .conflict(subject, expected, actual):
            return "version conflict on '\(Self.printable(subject))': expected version \(expected), found \(actual)"
        case let .duplicateEvent(eventID, existingSeq):
            return "event id '\(Self.printable(eventID))' is already used by ledger seq \(existingSeq) with different content"
        case let .invalidKey(key, reason):
            return "invalid state key '\(Self.printable(key))': \(reason)"
        case let .invalidInput(field, reason):
            return "invalid \(field): \(reason)"
        case let .invalidJSON(source, reason, line, column):
            return "\(source) is not valid JSON: \(reason) at line \(line), column \(column)"
        case let .notFound(key):
            return "no state document with key '\(Self.printable(key))'"
        case let .corruptState(key, expected, actual):
            return "state '\(Self.printable(key))' is corrupt: its body hashes to \(actual) but the stored checksum is \(expected)"
        case let .corruptDatabase(path, detail):
            return "database \(path) is damaged: \(detail)"
        case let .corruptFile(path, detail):
            return "\(path) is damaged: \(detail)"
        case let .snapshot(path, line, reason):
            return "snapshot \(line > 0 ? "\(path):\(line)" : path): \(reason)"
        case let .snapshotConflict(path, reason):
            return "snapshot \(path) conflicts with the database: \(reason)"
        case let .unsafeFile(path, reason):
            return "\(path): \(reason)"
        case let .dataWouldBeLost(path, detail):
            return "refusing to replace \(path): \(detail)"
        case let .io(step, path, errno):
            return "\(step) failed for \(path): \(Errno.message(errno)) (errno \(errno))"
        case let .lockTimeout(path, seconds):
            return "could not lock \(path) within \(Self.seconds(seconds)): another connection or process holds it"
        case let .proofRejected(reason):
            return "proof rejected: \(reason)"
        case let .replicatorAttached(path, operation, process, pid):
            return "\(process) (pid \(pid)) is replicating \(path), so \(operation) is refused: it holds a read transaction open all the time"
        case let .consumerBusy(name, lockPath):
            return "consumer '\(Self.printable(name))' is running elsewhere: another process (or another Consumer in this one) holds \(lockPath)"
        case let .notATallyDatabase(path, reason):
            return "\(path) is not a Tally database: \(reason)"
        case let .schemaTooNew(path, found, known):
            return "database \(path) has schema version \(found), but this build of Tally knows only up to \(known)"
        case let .migrationChanged(path, version, name, applied, embedded):
            return "migration \(version) (\(name)) applied to \(path) had checksum \(applied), but this build carries \(embedded)"
        case let .migrationPending(path, current, latest):
            return "database \(path) is at schema version \(current) but this build needs \(latest)"
        case let .sqlite(error):
            return "SQLite error \(error.code.rawValue) (\(error.code)): \(error.message)"
                + (error.sql.map { " — while executing `\($0.trimmingWhitespace())`" } ?? "")
                + (error.arguments.map { " with arguments \($0)" } ?? "")
        case let .postgres(code, message, sql):
            return "PostgreSQL error \(code): \(message)" + (sql.map { " — while executing `\($0.trimmingWhitespace())`" } ?? "")
        case let .internal(detail):
            return "internal error in Tally: \(detail)"
        }
    }

    /// What to do about it, in terms of the library's API ("" when the problem says it all).
    public var advice: String {
        switch self {
        case let .conflict(subject, _, actual):
            return "Re-read '\(Self.printable(subject))' and retry with expectedVersion: \(actual)."
        case .duplicateEvent:
            return "Use a new event id, or resend exactly the original event to get it back."
        case .invalidKey:
            return "Keys are segments of [A-Za-z0-9._-] joined by '/', at most 255 bytes, with no empty, '.' or '..' segment, "
                + "and each segment short enough to be a file name."
        case .invalidInput:
            return ""
        case .invalidJSON:
            return "Fix the JSON and retry."
        case .notFound:
            return "List the keys with StateStore.list()."
        case .corruptState:
            return "It was changed outside Tally; restore it from a snapshot or a backup."
        case .corruptDatabase:
            return "Restore the database from a backup or a snapshot."
        case .corruptFile:
            return "Restore it from another copy."
        case .snapshot:
            return "Nothing was imported; fix or re-export the snapshot."
        case .snapshotConflict:
            return "Nothing was imported."
        case .dataWouldBeLost:
            return "Restore with Store.RestoreOptions.force to discard it anyway (the replaced database is kept beside it), or back the database up first."
        case .unsafeFile:
            return "Tally never follows links or opens special files there; remove or replace it with a regular file."
        case let .io(_, _, errno):
            return Self.ioAdvice(errno)
        case .lockTimeout:
            return "Wait for it to finish, or raise the timeout."
        case .replicatorAttached:
            return "It checkpoints the WAL itself. To restore or truncate anyway: stop it, do it, reset its state for this database (`litestream reset`) and start it again, so it begins with a fresh snapshot."
        case .proofRejected:
            return "Do not trust the event or the ledger state it vouches for until it is explained."
        case .consumerBusy:
            return "Stop the other run first, or wait for it; the lock is released when its process ends, even by a crash."
        case .notATallyDatabase:
            return "Open a Tally database, or a new path to create one."
        case .schemaTooNew:
            return "Upgrade Tally; this build will not touch the file."
        case .migrationChanged:
            return "Applied migrations must never change: restore the original migration and add a new one instead."
        case .migrationPending:
            return "Open it read-write once to migrate it."
        case let .sqlite(error):
            switch error.code {
            case .busy, .locked: return "Another connection held the database longer than the busy timeout; retry, or raise Store.Configuration.busyTimeout."
            case .full: return "The disk is full; free space and retry."
            case .readOnly, .permission: return "The database or its directory is read-only; check the permissions."
            case .cannotOpen: return "Check that the path exists and that its directory is writable."
            case .ioError: return "The disk reported an I/O error; check it and retry."
            case .constraint: return "The data breaks a rule of the schema; see the message."
            default: return ""
            }
        case let .postgres(code, _, _):
            switch code.prefix(2) {
            case "08", "57": return "The connection to the server failed; check that it runs and retry (an append with an event id can be resent safely)."
            case "23", "P0": return "The data breaks a rule of the schema; see the message."
            case "40": return "The transaction conflicted with another; retry it."
            case "53": return "The server is out of a resource (disk, memory, connections); free it and retry."
            case "42": return "Check that the database was created by Tally and is up to date."
            default: return ""
            }
        case .internal:
            return "Please report this bug with the message above."
        }
    }

    /// True for damage: a corrupt database, state document or file.
    public var isCorruption: Bool {
        switch self {
        case .corruptState, .corruptDatabase, .corruptFile, .proofRejected: return true
        default: return false
        }
    }

    private static func ioAdvice(_ number: Int32) -> String {
        switch Errno(number) {
        case .permissionDenied, .notPermitted, .readOnlyFileSystem: return "Check the permissions of the file and its directory."
        case .noSpace, .quotaExceeded: return "Free some disk space and retry."
        case .noSuchFile: return "Check that the path exists."
        case .notDirectory: return "A part of the path that must be a directory is a file; check the path."
        case .tooManySymbolicLinks: return "The path is a symbolic link; Tally refuses to write through it."
        case .fileExists: return "Something already exists at that path."
        case .isDirectory: return "It is a directory; name a file."
        case .ioError: return "The device reported an I/O error; check the disk."
        case .brokenPipe: return "The reader went away."
        case .badFileDescriptor: return "The descriptor is not open for this (a closed standard input or output?); open it and retry."
        default: return "Check the path and retry."
        }
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() && value.magnitude < 1e15 ? "\(Int64(value)) s" : "\(value) s"
    }

    /// Names and keys come from users; show control characters as escapes, never raw.
    package static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value) {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension TallyError {
    /// Wraps a SQLite error, turning damage into ``corruptDatabase(path:detail:)`` and "not a
    /// database" into ``notATallyDatabase(path:reason:)`` so callers see one vocabulary.
    package init(_ error: SQLiteError, path: String) {
        switch error.code {
        case .notADatabase:
            self = .notATallyDatabase(path: path, reason: "it is not an SQLite database (\(error.message))")
        case .corrupt:
            self = .corruptDatabase(path: path, detail: "\(error.message) (SQLite code \(error.code.rawValue))")
        default:
            self = .sqlite(error)
        }
    }

    /// The SQLite error inside, when this is one.
    package var sqliteError: SQLiteError? {
        if case let .sqlite(error) = self { return error }
        return nil
    }

    /// True for a busy or locked database.
    package var isBusy: Bool { sqliteError?.isBusy ?? false }

    /// The same error about `path` instead of the temporary file it was found in.
    package func renamingPath(to path: String) -> TallyError {
        switch self {
        case let .corruptDatabase(_, detail): return .corruptDatabase(path: path, detail: detail)
        case let .notATallyDatabase(_, reason): return .notATallyDatabase(path: path, reason: reason)
        case let .schemaTooNew(_, found, known): return .schemaTooNew(path: path, found: found, known: known)
        case let .migrationPending(_, current, latest): return .migrationPending(path: path, current: current, latest: latest)
        default: return self
        }
    }
}
