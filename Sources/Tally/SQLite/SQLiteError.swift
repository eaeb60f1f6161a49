import Foundation
import CSQLite

/// An error reported by SQLite, with everything needed to understand it.
///
/// Like GRDB's `DatabaseError`, it carries the primary and extended result codes, SQLite's
/// own message, and the SQL that failed. Arguments are kept only when the caller marked
/// them safe to show (they may hold customer data).
public struct SQLiteError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The primary result code, e.g. `SQLITE_CONSTRAINT` (19).
    public var resultCode: Int32 { extendedResultCode & 0xFF }
    /// The extended result code, e.g. `SQLITE_CONSTRAINT_UNIQUE` (2067).
    public let extendedResultCode: Int32
    /// SQLite's message (`sqlite3_errmsg`), e.g. "UNIQUE constraint failed: ledger.event_id".
    public let message: String
    /// The SQL statement that failed, if any.
    public let sql: String?
    /// The bound arguments, rendered for people, when they were safe to show.
    public let arguments: String?

    /// Creates an error from a result code and message.
    public init(code: Int32, message: String, sql: String? = nil, arguments: String? = nil) {
        self.extendedResultCode = code
        self.message = message
        self.sql = sql
        self.arguments = arguments
    }

    /// Which rule a constraint violation broke.
    public enum Constraint: String, Sendable {
        case unique, primaryKey, check, notNull, foreignKey, trigger, other
    }

    /// The kind of constraint violation, or `nil` when this is not one.
    ///
    /// Distinguishes a UNIQUE clash (e.g. a reused event id) from a CHECK failure (bad data)
    /// from a trigger's `RAISE` (e.g. "ledger is append-only").
    public var constraint: Constraint? {
        guard resultCode == SQLITE_CONSTRAINT else { return nil }
        // The extended codes are C macros Swift cannot import: SQLITE_CONSTRAINT | (n << 8).
        switch extendedResultCode >> 8 {
        case 8: return .unique  // SQLITE_CONSTRAINT_UNIQUE
        case 6: return .primaryKey  // SQLITE_CONSTRAINT_PRIMARYKEY
        case 1: return .check  // SQLITE_CONSTRAINT_CHECK
        case 5: return .notNull  // SQLITE_CONSTRAINT_NOTNULL
        case 3: return .foreignKey  // SQLITE_CONSTRAINT_FOREIGNKEY
        case 7: return .trigger  // SQLITE_CONSTRAINT_TRIGGER
        default: return .other
        }
    }

    /// True when the database file is damaged or is not a database at all.
    public var isCorruption: Bool {
        resultCode == SQLITE_CORRUPT || resultCode == SQLITE_NOTADB
    }

    /// True when another connection held a lock for longer than the busy timeout.
    public var isBusy: Bool { resultCode == SQLITE_BUSY || resultCode == SQLITE_LOCKED }

    /// The exit status DESIGN.md assigns: 3 corruption, 5 I/O or busy, 4 constraint, else 2.
    public var exitCode: Int32 {
        if isCorruption { return 3 }
        switch resultCode {
        case SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_BUSY,
            SQLITE_LOCKED, SQLITE_PERM, SQLITE_NOMEM:
            return 5
        case SQLITE_CONSTRAINT:
            return 4
        default:
            return 2
        }
    }

    /// SQLite's name for the extended code, e.g. "SQLITE_CONSTRAINT_UNIQUE" → via `sqlite3_errstr`.
    public var codeDescription: String {
        String(cString: sqlite3_errstr(extendedResultCode))
    }

    public var description: String {
        var text = "SQLite error \(extendedResultCode) (\(codeDescription)): \(message)"
        if let sql { text += " — while executing `\(sql.trimmingCharacters(in: .whitespacesAndNewlines))`" }
        if let arguments { text += " with arguments \(arguments)" }
        text += ". " + advice
        return text
    }

    private var advice: String {
        if isCorruption { return "The database file is damaged; restore it from a backup (`tally restore`)." }
        switch resultCode {
        case SQLITE_BUSY, SQLITE_LOCKED: return "Another process is writing; retry, or raise the busy timeout."
        case SQLITE_FULL: return "The disk is full; free space and retry."
        case SQLITE_READONLY, SQLITE_PERM: return "The database or its directory is read-only; check permissions."
        case SQLITE_CANTOPEN: return "Check that the path exists and its directory is writable."
        case SQLITE_IOERR: return "The disk reported an I/O error; check it and retry."
        case SQLITE_CONSTRAINT: return "The data breaks a rule of the schema; see the message."
        default: return "See the message above."
        }
    }
}
