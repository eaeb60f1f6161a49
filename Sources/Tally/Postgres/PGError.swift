/// A PostgreSQL SQLSTATE: five characters, the first two naming the class.
///
/// Modelled on GRDB's `ResultCode`: an open set of values (the server may send
/// codes this file does not list) with named statics for the codes Tally
/// branches on. Compare with `==`, or with ``errorClass`` for a whole class:
///
///     catch let error as PGError where error.code == .uniqueViolation { … }
///
/// See the PostgreSQL manual, appendix "PostgreSQL Error Codes".
package struct PGErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The five-character code, e.g. `"23505"`.
    package let rawValue: String

    /// Wraps a code as sent by the server. Not validated: an unknown code must
    /// still round-trip so that callers can log it.
    package init(rawValue: String) { self.rawValue = rawValue }

    /// Allows `let code: PGErrorCode = "23505"`.
    package init(stringLiteral value: String) { self.rawValue = value }

    /// The two-character class, e.g. `"23"` (integrity constraint violation).
    /// Branch on the class when any code of it calls for the same handling.
    package var errorClass: String { String(rawValue.prefix(2)) }

    /// The raw code, so that interpolating a code prints `23505`.
    package var description: String { rawValue }

    // MARK: Class 08 — connection exception

    /// 08000 connection_exception.
    package static let connectionException: PGErrorCode = "08000"
    /// 08001 sqlclient_unable_to_establish_sqlconnection. PGClient also uses it
    /// for every failed connect, because libpq reports those without a SQLSTATE.
    package static let sqlclientUnableToEstablishSQLConnection: PGErrorCode = "08001"
    /// 08003 connection_does_not_exist. PGClient uses it for calls on a closed connection.
    package static let connectionDoesNotExist: PGErrorCode = "08003"
    /// 08006 connection_failure. PGClient uses it when libpq reports a lost
    /// connection without a server-sent code ("server closed the connection unexpectedly").
    package static let connectionFailure: PGErrorCode = "08006"
    /// 08P01 protocol_violation.
    package static let protocolViolation: PGErrorCode = "08P01"

    // MARK: Class 0A — feature not supported

    /// 0A000 feature_not_supported; also "cached plan must not change result type".
    package static let featureNotSupported: PGErrorCode = "0A000"

    // MARK: Class 22 — data exception

    /// 22001 string_data_right_truncation.
    package static let stringDataRightTruncation: PGErrorCode = "22001"
    /// 22003 numeric_value_out_of_range.
    package static let numericValueOutOfRange: PGErrorCode = "22003"
    /// 22012 division_by_zero.
    package static let divisionByZero: PGErrorCode = "22012"
    /// 22021 character_not_in_repertoire (e.g. a NUL character in text).
    package static let characterNotInRepertoire: PGErrorCode = "22021"
    /// 22P02 invalid_text_representation. PGClient also uses it when a typed
    /// accessor cannot parse a column's text.
    package static let invalidTextRepresentation: PGErrorCode = "22P02"

    // MARK: Class 23 — integrity constraint violation

    /// 23001 restrict_violation.
    package static let restrictViolation: PGErrorCode = "23001"
    /// 23502 not_null_violation.
    package static let notNullViolation: PGErrorCode = "23502"
    /// 23503 foreign_key_violation.
    package static let foreignKeyViolation: PGErrorCode = "23503"
    /// 23505 unique_violation.
    package static let uniqueViolation: PGErrorCode = "23505"
    /// 23514 check_violation.
    package static let checkViolation: PGErrorCode = "23514"
    /// 23P01 exclusion_violation.
    package static let exclusionViolation: PGErrorCode = "23P01"

    // MARK: Class 25 — invalid transaction state

    /// 25001 active_sql_transaction. PGClient uses it when `transaction` is
    /// called while a transaction is already open.
    package static let activeSQLTransaction: PGErrorCode = "25001"
    /// 25006 read_only_sql_transaction: a write in a READ ONLY transaction or on a hot standby.
    package static let readOnlySQLTransaction: PGErrorCode = "25006"
    /// 25P01 no_active_sql_transaction.
    package static let noActiveSQLTransaction: PGErrorCode = "25P01"
    /// 25P02 in_failed_sql_transaction. PGClient uses it when a transaction
    /// body swallowed a statement error, so that COMMIT would only have rolled back.
    package static let inFailedSQLTransaction: PGErrorCode = "25P02"
    /// 25P03 idle_in_transaction_session_timeout.
    package static let idleInTransactionSessionTimeout: PGErrorCode = "25P03"

    // MARK: Class 26 — invalid SQL statement name

    /// 26000 invalid_sql_statement_name (a prepared statement that does not exist).
    package static let invalidSQLStatementName: PGErrorCode = "26000"

    // MARK: Class 40 — transaction rollback

    /// 40000 transaction_rollback.
    package static let transactionRollback: PGErrorCode = "40000"
    /// 40001 serialization_failure: retry the whole transaction.
    package static let serializationFailure: PGErrorCode = "40001"
    /// 40P01 deadlock_detected: retry the whole transaction.
    package static let deadlockDetected: PGErrorCode = "40P01"

    // MARK: Class 42 — syntax error or access rule violation

    /// 42501 insufficient_privilege.
    package static let insufficientPrivilege: PGErrorCode = "42501"
    /// 42601 syntax_error.
    package static let syntaxError: PGErrorCode = "42601"
    /// 42703 undefined_column. PGClient also uses it for an unknown column name in a row accessor.
    package static let undefinedColumn: PGErrorCode = "42703"
    /// 42883 undefined_function.
    package static let undefinedFunction: PGErrorCode = "42883"
    /// 42P01 undefined_table.
    package static let undefinedTable: PGErrorCode = "42P01"
    /// 42P07 duplicate_table.
    package static let duplicateTable: PGErrorCode = "42P07"

    // MARK: Class 53/54/55 — resources, limits, object state

    /// 53100 disk_full.
    package static let diskFull: PGErrorCode = "53100"
    /// 53200 out_of_memory.
    package static let outOfMemory: PGErrorCode = "53200"
    /// 53300 too_many_connections.
    package static let tooManyConnections: PGErrorCode = "53300"
    /// 54023 too_many_arguments. PGClient uses it for more than 65,535 parameters (a protocol limit).
    package static let tooManyArguments: PGErrorCode = "54023"
    /// 55P03 lock_not_available (NOWAIT, lock_timeout).
    package static let lockNotAvailable: PGErrorCode = "55P03"

    // MARK: Class 57 — operator intervention

    /// 57014 query_canceled (PQcancel, statement_timeout).
    package static let queryCanceled: PGErrorCode = "57014"
    /// 57P01 admin_shutdown: the server is shutting down (fast/immediate) or the backend was terminated.
    package static let adminShutdown: PGErrorCode = "57P01"
    /// 57P02 crash_shutdown: another backend crashed and the server is resetting.
    package static let crashShutdown: PGErrorCode = "57P02"
    /// 57P03 cannot_connect_now: the server is starting up or in recovery.
    package static let cannotConnectNow: PGErrorCode = "57P03"

    // MARK: Class P0 / XX — PL/pgSQL and internal

    /// P0001 raise_exception: `RAISE EXCEPTION` without an explicit ERRCODE.
    package static let raiseException: PGErrorCode = "P0001"
    /// P0004 assert_failure.
    package static let assertFailure: PGErrorCode = "P0004"
    /// XX000 internal_error. PGClient also uses it for a libpq-side failure
    /// that is not a connection loss and carries no SQLSTATE.
    package static let internalError: PGErrorCode = "XX000"
}

/// An error from PostgreSQL or from libpq, with what a caller needs to decide
/// what to do next: the SQLSTATE, the server's message fields, the SQL that
/// failed, and whether the connection is gone.
///
/// Parameter values are left out unless the connection's
/// ``PGConnection/includeParametersInErrors`` is set, because errors end up in
/// logs and parameters may hold personal data or secrets.
package struct PGError: Error, Sendable, CustomStringConvertible {
    /// The SQLSTATE sent by the server, or one synthesized by PGClient when
    /// the server sent none (see ``isClientSide``).
    package var code: PGErrorCode
    /// The primary message (the server's `M` field, or libpq's message).
    package var message: String
    /// The server's optional DETAIL, e.g. which key collided.
    package var detail: String?
    /// The server's optional HINT.
    package var hint: String?
    /// The non-localized severity: `ERROR`, `FATAL` or `PANIC`, when the server sent one.
    package var severity: String?
    /// Schema of the object the error is about, when the server reports it.
    package var schemaName: String?
    /// Table of the object the error is about (constraint violations).
    package var tableName: String?
    /// Column the error is about (e.g. not-null violations).
    package var columnName: String?
    /// Constraint that was violated, so callers need not parse messages.
    package var constraintName: String?
    /// The SQL that failed, if the error came from a statement.
    package var sql: String?
    /// The statement's parameters as sent (text form, nil for NULL); present
    /// only when ``PGConnection/includeParametersInErrors`` is on.
    package var parameters: [String?]?
    /// True when the connection is unusable after this error (PQstatus is
    /// CONNECTION_BAD, or the server sent FATAL/PANIC or a class 08 code), or
    /// when connecting failed. The caller must `reset()` or reconnect; a
    /// statement that was in flight may or may not have run.
    package var isConnectionLoss: Bool
    /// True when PGClient or libpq made this error up (no server-sent SQLSTATE):
    /// connect failures, lost connections, misuse, unparseable column text.
    package var isClientSide: Bool
    /// True when the connection was lost while COMMIT was in flight: the
    /// transaction may or may not have committed. Re-read by an idempotency
    /// key before retrying (see NOTES.md).
    package var commitOutcomeUnknown: Bool

    /// Memberwise initializer, public so that tests and higher layers can
    /// build errors of the same shape.
    package init(
        code: PGErrorCode, message: String, detail: String? = nil, hint: String? = nil,
        severity: String? = nil, schemaName: String? = nil, tableName: String? = nil,
        columnName: String? = nil, constraintName: String? = nil, sql: String? = nil,
        parameters: [String?]? = nil, isConnectionLoss: Bool = false, isClientSide: Bool = false,
        commitOutcomeUnknown: Bool = false
    ) {
        self.code = code
        self.message = message
        self.detail = detail
        self.hint = hint
        self.severity = severity
        self.schemaName = schemaName
        self.tableName = tableName
        self.columnName = columnName
        self.constraintName = constraintName
        self.sql = sql
        self.parameters = parameters
        self.isConnectionLoss = isConnectionLoss
        self.isClientSide = isClientSide
        self.commitOutcomeUnknown = commitOutcomeUnknown
    }

    /// True for the two codes after which re-running the whole transaction is
    /// the documented remedy: serialization failure and deadlock.
    package var isRetryableTransactionFailure: Bool {
        code == .serializationFailure || code == .deadlockDetected
    }

    /// One line for logs: code, message, detail, hint, SQL, and parameters
    /// only if they were captured.
    package var description: String {
        var text = "PostgreSQL error \(code.rawValue): \(message)"
        if let detail { text += " — DETAIL: \(detail)" }
        if let hint { text += " — HINT: \(hint)" }
        if let sql { text += " — SQL: \(sql)" }
        if let parameters {
            let rendered = parameters.map { $0.map { "'\($0)'" } ?? "NULL" }.joined(separator: ", ")
            text += " — parameters: [\(rendered)]"
        }
        if commitOutcomeUnknown {
            text += " (connection lost during COMMIT: outcome unknown)"
        } else if isConnectionLoss {
            text += " (connection lost)"
        }
        return text
    }
}
