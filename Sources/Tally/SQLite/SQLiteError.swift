import CSQLite

/// An error reported by SQLite, with everything needed to understand it.
///
/// Like GRDB's `DatabaseError`, it carries the extended result code, SQLite's own message,
/// and the SQL that failed. Arguments are kept only when the caller marked them safe to show
/// (``Store/Configuration/publicStatementArguments``): they may hold customer data.
///
/// You meet it inside ``TallyError/sqlite(_:)``, for SQLite failures that are not damage
/// (``TallyError/corruptDatabase(path:detail:)``) or a foreign file
/// (``TallyError/notATallyDatabase(path:reason:)``):
///
/// ```swift
/// catch TallyError.sqlite(let error) where error.isBusy { retry() }  // busy, busy_snapshot, …
/// ```
public struct SQLiteError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A SQLite result code, primary (`SQLITE_BUSY`) or extended (`SQLITE_CONSTRAINT_UNIQUE`).
    ///
    /// A primary code used as a pattern matches every extended code under it:
    ///
    /// ```swift
    /// switch error.code {
    /// case .constraintUnique: …   // exactly SQLITE_CONSTRAINT_UNIQUE
    /// case .constraint: …         // any other constraint failure
    /// case .busy, .locked: …
    /// default: …
    /// }
    /// ```
    public struct ResultCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The C value, e.g. 2067 for `SQLITE_CONSTRAINT_UNIQUE`.
        public let rawValue: Int32

        /// Wraps a C result code.
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// The primary code of an extended one (`SQLITE_CONSTRAINT` for `SQLITE_CONSTRAINT_UNIQUE`).
        public var primary: ResultCode { ResultCode(rawValue: rawValue & 0xFF) }

        /// SQLite's name for the code, e.g. "constraint failed" (`sqlite3_errstr`).
        public var description: String { String(cString: sqlite3_errstr(rawValue)) }

        /// True when `code` is `pattern`, or an extended code of the primary code `pattern`.
        public static func ~= (pattern: ResultCode, code: ResultCode) -> Bool {
            pattern.rawValue == code.rawValue || (pattern.rawValue <= 0xFF && pattern.rawValue == code.primary.rawValue)
        }

        // Primary codes (https://sqlite.org/rescode.html).
        public static let ok = ResultCode(rawValue: SQLITE_OK)
        public static let error = ResultCode(rawValue: SQLITE_ERROR)
        public static let `internal` = ResultCode(rawValue: SQLITE_INTERNAL)
        public static let permission = ResultCode(rawValue: SQLITE_PERM)
        public static let abort = ResultCode(rawValue: SQLITE_ABORT)
        public static let busy = ResultCode(rawValue: SQLITE_BUSY)
        public static let locked = ResultCode(rawValue: SQLITE_LOCKED)
        public static let noMemory = ResultCode(rawValue: SQLITE_NOMEM)
        public static let readOnly = ResultCode(rawValue: SQLITE_READONLY)
        public static let interrupt = ResultCode(rawValue: SQLITE_INTERRUPT)
        public static let ioError = ResultCode(rawValue: SQLITE_IOERR)
        public static let corrupt = ResultCode(rawValue: SQLITE_CORRUPT)
        public static let notFound = ResultCode(rawValue: SQLITE_NOTFOUND)
        public static let full = ResultCode(rawValue: SQLITE_FULL)
        public static let cannotOpen = ResultCode(rawValue: SQLITE_CANTOPEN)
        public static let `protocol` = ResultCode(rawValue: SQLITE_PROTOCOL)
        public static let schema = ResultCode(rawValue: SQLITE_SCHEMA)
        public static let tooBig = ResultCode(rawValue: SQLITE_TOOBIG)
        public static let constraint = ResultCode(rawValue: SQLITE_CONSTRAINT)
        public static let mismatch = ResultCode(rawValue: SQLITE_MISMATCH)
        public static let misuse = ResultCode(rawValue: SQLITE_MISUSE)
        public static let range = ResultCode(rawValue: SQLITE_RANGE)
        public static let notADatabase = ResultCode(rawValue: SQLITE_NOTADB)
        public static let row = ResultCode(rawValue: SQLITE_ROW)
        public static let done = ResultCode(rawValue: SQLITE_DONE)

        // Extended codes are C macros (`SQLITE_CONSTRAINT | (n << 8)`) Swift cannot import.
        public static let constraintCheck = ResultCode(rawValue: SQLITE_CONSTRAINT | (1 << 8))
        public static let constraintForeignKey = ResultCode(rawValue: SQLITE_CONSTRAINT | (3 << 8))
        public static let constraintNotNull = ResultCode(rawValue: SQLITE_CONSTRAINT | (5 << 8))
        public static let constraintPrimaryKey = ResultCode(rawValue: SQLITE_CONSTRAINT | (6 << 8))
        public static let constraintTrigger = ResultCode(rawValue: SQLITE_CONSTRAINT | (7 << 8))
        public static let constraintUnique = ResultCode(rawValue: SQLITE_CONSTRAINT | (8 << 8))
        public static let busySnapshot = ResultCode(rawValue: SQLITE_BUSY | (2 << 8))
        public static let readOnlyDatabaseMoved = ResultCode(rawValue: SQLITE_READONLY | (4 << 8))
    }

    /// The extended result code, e.g. ``ResultCode/constraintUnique``.
    public let code: ResultCode
    /// SQLite's message (`sqlite3_errmsg`), e.g. "UNIQUE constraint failed: ledger.event_id".
    public let message: String
    /// The SQL statement that failed, if any.
    public let sql: String?
    /// The bound arguments, rendered for people, when they were marked safe to show.
    public let arguments: String?

    /// Creates an error from a result code and message.
    public init(code: ResultCode, message: String, sql: String? = nil, arguments: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
        self.arguments = arguments
    }

    init(code: Int32, message: String, sql: String? = nil, arguments: String? = nil) {
        self.init(code: ResultCode(rawValue: code), message: message, sql: sql, arguments: arguments)
    }

    /// True when the database file is damaged or is not a database at all.
    public var isCorruption: Bool {
        switch code {
        case .corrupt, .notADatabase: return true
        default: return false
        }
    }

    /// True when another connection held a lock for longer than the busy timeout.
    public var isBusy: Bool {
        switch code {
        case .busy, .locked: return true
        default: return false
        }
    }

    public var description: String {
        var text = "SQLite error \(code.rawValue) (\(code)): \(message)"
        if let sql { text += " — while executing `\(sql.trimmingWhitespace())`" }
        if let arguments { text += " with arguments \(arguments)" }
        return text + ". " + advice
    }

    /// What to do, in terms of the API (the command line adds its own advice).
    private var advice: String {
        switch code {
        case .corrupt, .notADatabase: return "The database file is damaged; restore it from a backup."
        case .busy, .locked: return "Another connection held the database for longer than the busy timeout; retry, or raise Store.Configuration.busyTimeout."
        case .full: return "The disk is full; free space and retry."
        case .readOnly, .permission: return "The database or its directory is read-only; check the permissions."
        case .cannotOpen: return "Check that the path exists and that its directory is writable."
        case .ioError: return "The disk reported an I/O error; check it and retry."
        case .constraint: return "The data breaks a rule of the schema; see the message."
        default: return "See the message above."
        }
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines (Foundation-free).
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
