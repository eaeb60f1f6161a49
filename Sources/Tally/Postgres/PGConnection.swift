import CLibPQ

/// Transaction isolation levels, as accepted by `BEGIN ISOLATION LEVEL …`.
package enum PGIsolationLevel: String, Sendable, CaseIterable {
    /// PostgreSQL's default: each statement sees data committed before it began.
    case readCommitted = "READ COMMITTED"
    /// One snapshot for the whole transaction; concurrent updates raise 40001.
    case repeatableRead = "REPEATABLE READ"
    /// Serializable snapshot isolation; anomalies raise 40001 (retry the transaction).
    case serializable = "SERIALIZABLE"
}

/// The connection's transaction state, from PQtransactionStatus.
package enum PGTransactionStatus: Sendable, Equatable {
    /// No transaction open.
    case idle
    /// A command is in progress (only seen from inside a streaming callback).
    case active
    /// Inside a healthy transaction block.
    case inTransaction
    /// Inside a failed transaction block: every statement fails until ROLLBACK.
    case inError
    /// The connection is bad or closed.
    case unknown
}

/// One connection to PostgreSQL through libpq.
///
/// Not thread-safe, and deliberately not `Sendable`: libpq allows one thread
/// at a time per PGconn, so a connection is owned by one thread (or task) at
/// a time; concurrency means one connection per thread. All `PQ*` calls of
/// the package live in this file, so the rules of libpq (clear every
/// PGresult, drain results until NULL, finish every PGconn) are checked in
/// one place.
///
/// Strings are exchanged as UTF-8: the connection forces
/// `client_encoding=UTF8`, whatever the conninfo says, because Swift strings
/// are Unicode and a server-side conversion to another encoding could fail or
/// lose characters.
package final class PGConnection {
    /// libpq's functions (loaded on the first connection, see ``LibPQ``).
    private let libpq: LibPQ
    /// The libpq handle; nil once closed.
    private var handle: OpaquePointer?

    /// When true, errors carry the statement's parameter values (text form).
    /// Off by default because errors are logged and values may be personal
    /// data or secrets; turn on while debugging.
    package var includeParametersInErrors = false

    /// Receives server notices and warnings (RAISE NOTICE, "there is no
    /// transaction in progress", …). Nil discards them; libpq's default would
    /// print them to stderr, which a library must not do.
    package var noticeHandler: ((String) -> Void)?

    /// Most statements kept prepared by ``queryPrepared(_:_:)`` before the
    /// oldest is deallocated, so dynamic SQL cannot grow the server's memory unbounded.
    package var preparedStatementCapacity = 64

    /// SQL text (plus parameter type signature) → server-side statement name.
    private var preparedStatements: [String: String] = [:]
    /// Keys of `preparedStatements`, oldest first, for eviction.
    private var preparedOrder: [String] = []
    private var nextStatementNumber = 0
    private var savepointDepth = 0
    /// SQLSTATE of a "terminating connection" warning (57P01/57P02/57P03),
    /// kept until the error it explains is built.
    private var shutdownNoticeCode: PGErrorCode?
    /// Passwords found in the conninfo, scrubbed from reconnect errors too.
    private let passwords: [String]

    /// Connects, blocking until the connection is made or fails.
    ///
    /// - Parameter conninfo: a libpq connection string, either key=value
    ///   (`host=/tmp/pg1 port=5432 dbname=tally user=postgres`) or a URI
    ///   (`postgresql:///tally?host=/tmp/pg1&port=5432&user=postgres`; a
    ///   socket directory goes in the `host` query parameter, or
    ///   percent-encoded in the host part). A bare word is taken as a database name.
    /// - Throws: ``PGError`` with code 08001 and libpq's message. Any password
    ///   from the conninfo is removed from the message; if the conninfo cannot
    ///   even be parsed and may contain a password, the message is withheld.
    ///   Also 08001 when libpq itself cannot be loaded (``LibPQ/shared()``).
    package init(conninfo: String) throws {
        let libpq = try LibPQ.shared()
        self.libpq = libpq
        let passwords = try Self.validateConninfo(conninfo, libpq: libpq)
        // PQconnectdbParams with expand_dbname=1 parses `conninfo` exactly as
        // PQconnectdb would; entries after it override it (libpq processes the
        // arrays in order), which is how client_encoding is forced to UTF8.
        let keywords = ["dbname", "client_encoding", "fallback_application_name"]
        let values = [conninfo, "UTF8", "tally"]
        let connection = Self.withCStringArray(keywords) { keywordPointers in
            Self.withCStringArray(values) { valuePointers in
                libpq.PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else {
            // Only when libpq could not even allocate a PGconn.
            throw PGError(
                code: .sqlclientUnableToEstablishSQLConnection,
                message: "libpq could not allocate a connection (out of memory)",
                isConnectionLoss: true, isClientSide: true)
        }
        guard libpq.PQstatus(connection) == CONNECTION_OK else {
            let message = Self.redact(Self.text(libpq.PQerrorMessage(connection)), passwords: passwords)
            libpq.PQfinish(connection)
            throw PGError(
                code: .sqlclientUnableToEstablishSQLConnection,
                message: message.isEmpty ? "connection failed" : message,
                isConnectionLoss: true, isClientSide: true)
        }
        handle = connection
        self.passwords = passwords
        installNoticeReceiver()
    }

    deinit {
        if let handle { libpq.PQfinish(handle) }
    }

    // MARK: - Connection state

    /// True while libpq considers the connection healthy (PQstatus ==
    /// CONNECTION_OK). It does not probe the server: a server that died
    /// since the last call is only noticed by the next statement.
    package var isConnected: Bool {
        guard let handle else { return false }
        return libpq.PQstatus(handle) == CONNECTION_OK
    }

    /// The transaction state as of the last result (PQtransactionStatus).
    package var transactionStatus: PGTransactionStatus {
        guard let handle else { return .unknown }
        switch libpq.PQtransactionStatus(handle) {
        case PQTRANS_IDLE: return .idle
        case PQTRANS_ACTIVE: return .active
        case PQTRANS_INTRANS: return .inTransaction
        case PQTRANS_INERROR: return .inError
        default: return .unknown
        }
    }

    /// The server's process id for this session (PQbackendPID), useful for
    /// `pg_terminate_backend` in tests and for correlating server logs.
    package var backendPID: Int32 {
        guard let handle else { return 0 }
        return libpq.PQbackendPID(handle)
    }

    /// Closes the connection and reopens it with the same parameters
    /// (PQreset), e.g. after a connection-loss error once the server is back.
    /// Prepared statements and session state are gone afterwards, so the
    /// statement cache is emptied.
    ///
    /// - Throws: 08001 if the server still cannot be reached; the connection
    ///   stays bad and `reset()` may be called again later.
    package func reset() throws {
        let handle = try liveHandle()
        forgetSessionState()
        libpq.PQreset(handle)
        guard libpq.PQstatus(handle) == CONNECTION_OK else {
            throw PGError(
                code: .sqlclientUnableToEstablishSQLConnection,
                message: Self.redact(Self.text(libpq.PQerrorMessage(handle)), passwords: passwords),
                isConnectionLoss: true, isClientSide: true)
        }
    }

    /// Closes the connection (PQfinish). Later calls throw 08003. Calling it
    /// twice is harmless; `deinit` closes a connection that was not closed.
    package func close() {
        if let handle { libpq.PQfinish(handle) }
        handle = nil
        forgetSessionState()
    }

    // MARK: - Statements

    /// Runs a script: one or more SQL statements separated by semicolons,
    /// without parameters (PQexec, simple query protocol). Results are
    /// discarded; the first failing statement stops the script and throws.
    ///
    /// Outside a transaction the statements of one script run as one
    /// implicit transaction, as with any multi-statement simple query.
    package func execute(_ sql: String) throws {
        let handle = try liveHandle()
        try Self.checkNoNUL(sql, what: "SQL")
        let result = libpq.PQexec(handle, sql)
        defer { libpq.PQclear(result) }
        try checkResult(result, handle: handle, sql: sql, parameters: nil)
        // PQexec returns only the last result; with COPY in a script it may
        // leave the connection in COPY state, which checkResult has handled.
    }

    /// Runs one statement with parameters (`$1`, `$2`, …) and returns all rows
    /// (PQexecParams, text format both ways).
    ///
    /// Parameters are never interpolated into the SQL, so they need no quoting.
    /// The whole result is held in memory; use ``stream(_:_:_:)`` for large results.
    @discardableResult
    package func query(_ sql: String, _ parameters: [PGValue?] = []) throws -> PGQueryResult {
        let handle = try liveHandle()
        try Self.checkNoNUL(sql, what: "SQL")
        let result = try Self.withEncodedParameters(parameters) { count, types, values in
            libpq.PQexecParams(handle, sql, count, types, values, nil, nil, 0)
        }
        defer { libpq.PQclear(result) }
        try checkResult(result, handle: handle, sql: sql, parameters: parameters)
        return readResult(result)
    }

    /// Like ``query(_:_:)``, through a server-side prepared statement that is
    /// created on first use and reused for the same SQL text (PQprepare once,
    /// then PQexecPrepared). Saves parsing and planning for hot statements.
    ///
    /// The cache is per connection and cleared by ``reset()``. If the server
    /// reports that the statement is gone (26000) or that its result type
    /// changed after DDL (0A000), the entry is dropped, so the next call
    /// prepares again; the failing call itself still throws.
    @discardableResult
    package func queryPrepared(_ sql: String, _ parameters: [PGValue?] = []) throws -> PGQueryResult {
        let handle = try liveHandle()
        try Self.checkNoNUL(sql, what: "SQL")
        // Parameter types are fixed at prepare time, so they are part of the key.
        let key = parameters.map { String($0?.typeOID ?? 0) }.joined(separator: ",") + "\u{0}" + sql
        let name: String
        if let existing = preparedStatements[key] {
            name = existing
        } else {
            nextStatementNumber += 1
            let newName = "tally_stmt_\(nextStatementNumber)"
            let types = parameters.map { $0?.typeOID ?? 0 }
            let prepared = types.withUnsafeBufferPointer { typeBuffer in
                libpq.PQprepare(handle, newName, sql, Int32(types.count), typeBuffer.baseAddress)
            }
            defer { libpq.PQclear(prepared) }
            try checkResult(prepared, handle: handle, sql: sql, parameters: nil)
            remember(key: key, name: newName, handle: handle)
            name = newName
        }
        let result = try Self.withEncodedParameters(parameters) { count, _, values in
            libpq.PQexecPrepared(handle, name, count, values, nil, nil, 0)
        }
        defer { libpq.PQclear(result) }
        do {
            try checkResult(result, handle: handle, sql: sql, parameters: parameters)
        } catch let error as PGError {
            if error.code == .invalidSQLStatementName || error.code == .featureNotSupported {
                preparedStatements[key] = nil
                preparedOrder.removeAll { $0 == key }
            }
            throw error
        }
        return readResult(result)
    }

    /// Runs one statement and hands each row to `body` as it arrives, in
    /// libpq's single-row mode, so memory stays bounded whatever the result size.
    ///
    /// If `body` throws, the query is cancelled (PQcancel), the remaining
    /// results are drained so the connection stays usable, and the error is
    /// rethrown. Inside a transaction, the cancel aborts the transaction, as
    /// any failed statement does.
    ///
    /// `body` must not run statements on this connection: libpq allows one
    /// command at a time, so they would fail ("another command is already in
    /// progress"). Collect what you need and act after `stream` returns.
    ///
    /// - Returns: the number of rows delivered to `body`.
    @discardableResult
    package func stream(
        _ sql: String, _ parameters: [PGValue?] = [], _ body: (PGRow) throws -> Void
    ) throws -> Int {
        let handle = try liveHandle()
        try Self.checkNoNUL(sql, what: "SQL")
        let sent = try Self.withEncodedParameters(parameters) { count, types, values in
            libpq.PQsendQueryParams(handle, sql, count, types, values, nil, nil, 0)
        }
        guard sent == 1 else {
            throw makeError(result: nil, handle: handle, sql: sql, parameters: parameters)
        }
        // Must directly follow PQsendQueryParams; it only fails if called too late.
        _ = libpq.PQsetSingleRowMode(handle)

        var columns: [PGColumn]?
        var delivered = 0
        var failure: (any Error)?
        // Always read until PQgetResult returns NULL: libpq requires it before
        // the next command, and it frees the row buffers as we go.
        while let result = libpq.PQgetResult(handle) {
            defer { libpq.PQclear(result) }
            let status = libpq.PQresultStatus(result)
            switch status {
            case PGRES_SINGLE_TUPLE:
                guard failure == nil else { continue }  // draining after a cancel
                let rowColumns = columns ?? readColumns(result)
                columns = rowColumns
                let row = PGRow(columns: rowColumns, values: readValues(result, row: 0, count: rowColumns.count))
                do {
                    try body(row)
                    delivered += 1
                } catch {
                    failure = error
                    cancelCurrentQuery(handle)
                }
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                continue
            case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
                abandonCopy(handle, status: status)
                if failure == nil { failure = Self.copyUnsupported(sql: sql) }
            default:
                // The caller's own error wins over the 57014 its cancel caused.
                if failure == nil {
                    failure = makeError(result: result, handle: handle, sql: sql, parameters: parameters)
                }
            }
        }
        if let failure { throw failure }
        return delivered
    }

    // MARK: - Transactions

    /// Runs `body` in a transaction: BEGIN, then COMMIT if `body` returns, or
    /// ROLLBACK if it throws (the error is rethrown).
    ///
    /// - A body that catches a statement error and carries on leaves the
    ///   transaction aborted, where COMMIT would silently roll back; this is
    ///   detected, rolled back, and reported as 25P02 instead of pretending success.
    /// - If the connection is lost during COMMIT, the thrown error has
    ///   ``PGError/commitOutcomeUnknown`` set: the commit may have happened.
    /// - Throws 25001 if a transaction is already open: nest with ``savepoint(_:)``.
    ///
    /// 40001/40P01 errors are rethrown, not retried: only the caller knows
    /// whether re-running `body` is safe.
    @discardableResult
    package func transaction<T>(
        isolation: PGIsolationLevel = .readCommitted, readOnly: Bool = false,
        _ body: (PGConnection) throws -> T
    ) throws -> T {
        _ = try liveHandle()
        guard transactionStatus == .idle else {
            throw PGError(
                code: .activeSQLTransaction,
                message: "transaction() called while a transaction is open; use savepoint() to nest",
                isClientSide: true)
        }
        try execute("BEGIN ISOLATION LEVEL \(isolation.rawValue)\(readOnly ? " READ ONLY" : "")")
        let value: T
        do {
            value = try body(self)
        } catch {
            rollbackQuietly()
            throw error
        }
        if transactionStatus == .inError {
            rollbackQuietly()
            throw PGError(
                code: .inFailedSQLTransaction,
                message: "the transaction was aborted by a statement error that the body caught; it was rolled back",
                isClientSide: true)
        }
        let tag: String
        do {
            tag = try query("COMMIT").commandTag
        } catch var error as PGError {
            if error.isConnectionLoss { error.commitOutcomeUnknown = true }
            throw error
        }
        // COMMIT of an aborted transaction answers ROLLBACK without an error.
        if tag == "ROLLBACK" {
            throw PGError(
                code: .inFailedSQLTransaction, message: "COMMIT rolled back an aborted transaction",
                sql: "COMMIT", isClientSide: true)
        }
        return value
    }

    /// Runs `body` inside a savepoint: on error, only the work since the
    /// savepoint is rolled back and the enclosing transaction stays usable;
    /// the error is rethrown. Outside a transaction it behaves as
    /// ``transaction(isolation:readOnly:_:)`` with the defaults.
    @discardableResult
    package func savepoint<T>(_ body: (PGConnection) throws -> T) throws -> T {
        _ = try liveHandle()
        if transactionStatus == .idle {
            return try transaction(body)
        }
        savepointDepth += 1
        defer { savepointDepth -= 1 }
        // Depth-based names: unique among the open savepoints, reusable after release.
        let name = "tally_sp_\(savepointDepth)"
        try execute("SAVEPOINT \(name)")
        let value: T
        do {
            value = try body(self)
        } catch {
            rollbackToSavepointQuietly(name)
            throw error
        }
        if transactionStatus == .inError {
            rollbackToSavepointQuietly(name)
            throw PGError(
                code: .inFailedSQLTransaction,
                message: "the savepoint was aborted by a statement error that the body caught; it was rolled back",
                isClientSide: true)
        }
        try execute("RELEASE SAVEPOINT \(name)")
        return value
    }

    // MARK: - Notifications

    /// Subscribes this session to `channel` (LISTEN); `channel` must be an identifier.
    package func listen(_ channel: String) throws {
        guard !channel.isEmpty, channel.utf8.allSatisfy({ (0x61...0x7A).contains($0) || $0 == 0x5F }) else {
            throw PGError(code: .syntaxError, message: "channel name \(channel) is not a plain identifier", isClientSide: true)
        }
        try execute("LISTEN \(channel)")
    }

    /// Waits up to `seconds` for notifications on the channels this session listens to;
    /// returns how many arrived (they carry nothing Tally needs: the wake-up is the point).
    package func waitForNotifications(seconds: Double) throws -> Int {
        let handle = try liveHandle()
        var count = drainNotifications(handle)
        if count > 0 { return count }
        let socket = libpq.PQsocket(handle)
        guard socket >= 0 else {
            throw PGError(code: .connectionFailure, message: "the connection has no socket", isConnectionLoss: true, isClientSide: true)
        }
        guard System.waitReadable(socket, seconds: seconds) else { return 0 }
        guard libpq.PQconsumeInput(handle) == 1 else {
            throw makeError(result: nil, handle: handle, sql: "LISTEN", parameters: nil)
        }
        count = drainNotifications(handle)
        return count
    }

    private func drainNotifications(_ handle: OpaquePointer) -> Int {
        var count = 0
        while let notification = libpq.PQnotifies(handle) {
            libpq.PQfreemem(UnsafeMutableRawPointer(notification))
            count += 1
        }
        return count
    }

    // MARK: - Private: libpq plumbing

    private func liveHandle() throws -> OpaquePointer {
        guard let handle else {
            throw PGError(
                code: .connectionDoesNotExist, message: "the connection is closed",
                isConnectionLoss: true, isClientSide: true)
        }
        return handle
    }

    private func forgetSessionState() {
        preparedStatements.removeAll()
        preparedOrder.removeAll()
        savepointDepth = 0
    }

    private func remember(key: String, name: String, handle: OpaquePointer) {
        preparedStatements[key] = name
        preparedOrder.append(key)
        // Evict the oldest. DEALLOCATE is skipped in a failed transaction (it
        // would fail too); the statement then lingers until the session ends.
        while preparedOrder.count > max(preparedStatementCapacity, 1) {
            let oldKey = preparedOrder.removeFirst()
            guard let oldName = preparedStatements.removeValue(forKey: oldKey) else { continue }
            if libpq.PQtransactionStatus(handle) != PQTRANS_INERROR {
                libpq.PQclear(libpq.PQexec(handle, "DEALLOCATE \(oldName)"))
            }
        }
    }

    private func rollbackQuietly() {
        guard let handle, libpq.PQstatus(handle) == CONNECTION_OK,
            libpq.PQtransactionStatus(handle) != PQTRANS_IDLE
        else { return }
        libpq.PQclear(libpq.PQexec(handle, "ROLLBACK"))
    }

    private func rollbackToSavepointQuietly(_ name: String) {
        guard let handle, libpq.PQstatus(handle) == CONNECTION_OK else { return }
        libpq.PQclear(libpq.PQexec(handle, "ROLLBACK TO SAVEPOINT \(name)"))
        libpq.PQclear(libpq.PQexec(handle, "RELEASE SAVEPOINT \(name)"))
    }

    /// Asks the server to stop the running query. Best effort: if the query
    /// already finished, draining the results handles it anyway.
    private func cancelCurrentQuery(_ handle: OpaquePointer) {
        guard let cancel = libpq.PQgetCancel(handle) else { return }
        defer { libpq.PQfreeCancel(cancel) }
        var buffer = [CChar](repeating: 0, count: 256)
        _ = libpq.PQcancel(cancel, &buffer, Int32(buffer.count))
    }

    /// Gets libpq out of COPY state, which PGClient does not support, so the
    /// connection remains usable.
    private func abandonCopy(_ handle: OpaquePointer, status: ExecStatusType) {
        if status == PGRES_COPY_IN {
            _ = libpq.PQputCopyEnd(handle, "COPY FROM STDIN is not supported by PGClient")
        } else {
            var buffer: UnsafeMutablePointer<CChar>?
            while libpq.PQgetCopyData(handle, &buffer, 0) >= 0 {
                if let data = buffer { libpq.PQfreemem(data) }
                buffer = nil
            }
        }
    }

    private static func copyUnsupported(sql: String) -> PGError {
        PGError(
            code: .featureNotSupported, message: "COPY is not supported by PGClient",
            sql: sql, isClientSide: true)
    }

    /// Throws unless `result` is a success. Leaves PQclear to the caller.
    private func checkResult(
        _ result: OpaquePointer?, handle: OpaquePointer, sql: String, parameters: [PGValue?]?
    ) throws {
        guard let result else {
            throw makeError(result: nil, handle: handle, sql: sql, parameters: parameters)
        }
        let status = libpq.PQresultStatus(result)
        switch status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_SINGLE_TUPLE:
            return
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            abandonCopy(handle, status: status)
            while let extra = libpq.PQgetResult(handle) { libpq.PQclear(extra) }
            throw Self.copyUnsupported(sql: sql)
        default:
            throw makeError(result: result, handle: handle, sql: sql, parameters: parameters)
        }
    }

    private func makeError(
        result: OpaquePointer?, handle: OpaquePointer, sql: String?, parameters: [PGValue?]?
    ) -> PGError {
        let sqlstate = field(result, TALLY_PG_DIAG_SQLSTATE)
        let severity = field(result, TALLY_PG_DIAG_SEVERITY_NONLOCALIZED)
        let fatal = severity == "FATAL" || severity == "PANIC"
        if (sqlstate == nil || fatal) && libpq.PQstatus(handle) == CONNECTION_OK {
            // libpq 15 can return "server closed the connection unexpectedly"
            // while PQstatus still says CONNECTION_OK (observed after
            // `pg_ctl stop -m immediate`: the status turns BAD only on the
            // next call). PQconsumeInput reads without blocking; on a closed
            // socket it sees EOF and marks the connection bad, so callers
            // learn of the loss from this error rather than the next one.
            _ = libpq.PQconsumeInput(handle)
        }
        let lost = libpq.PQstatus(handle) == CONNECTION_BAD
        var message = field(result, TALLY_PG_DIAG_MESSAGE_PRIMARY)
        if message == nil, let result { message = Self.text(libpq.PQresultErrorMessage(result)) }
        if message?.isEmpty ?? true { message = Self.text(libpq.PQerrorMessage(handle)) }
        // A backend killed by a shutdown first sends a WARNING with 57P01 /
        // 57P02; when libpq then reports the lost socket without a code,
        // that warning's code says why.
        let shutdownCode = lost ? shutdownNoticeCode : nil
        shutdownNoticeCode = nil
        let code: PGErrorCode = sqlstate.map(PGErrorCode.init(rawValue:))
            ?? shutdownCode ?? (lost ? .connectionFailure : .internalError)
        return PGError(
            code: code,
            message: message ?? "unknown error",
            detail: field(result, TALLY_PG_DIAG_MESSAGE_DETAIL),
            hint: field(result, TALLY_PG_DIAG_MESSAGE_HINT),
            severity: severity,
            schemaName: field(result, TALLY_PG_DIAG_SCHEMA_NAME),
            tableName: field(result, TALLY_PG_DIAG_TABLE_NAME),
            columnName: field(result, TALLY_PG_DIAG_COLUMN_NAME),
            constraintName: field(result, TALLY_PG_DIAG_CONSTRAINT_NAME),
            sql: sql,
            parameters: includeParametersInErrors ? parameters?.map { $0?.textRepresentation } : nil,
            isConnectionLoss: lost || fatal || code.errorClass == "08",
            isClientSide: sqlstate == nil)
    }

    private func installNoticeReceiver() {
        guard let handle else { return }
        // The receiver gets `self` unretained: libpq calls it only from inside
        // calls made through this connection, while `self` is alive.
        let context = Unmanaged.passUnretained(self).toOpaque()
        _ = libpq.PQsetNoticeReceiver(
            handle,
            { context, result in
                guard let context, let result else { return }
                let connection = Unmanaged<PGConnection>.fromOpaque(context).takeUnretainedValue()
                if let code = connection.field(result, TALLY_PG_DIAG_SQLSTATE), code.hasPrefix("57P") {
                    connection.shutdownNoticeCode = PGErrorCode(rawValue: code)
                }
                guard let handler = connection.noticeHandler else { return }
                handler(PGConnection.text(connection.libpq.PQresultErrorMessage(result)))
            },
            context)
    }

    // MARK: - Private: conversions

    private static func text(_ pointer: UnsafePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        var string = String(cString: pointer)
        // libpq messages end in "\n"; multi-host failures have several lines.
        while let last = string.last, last.isWhitespace { string.removeLast() }
        return string
    }

    private func field(_ result: OpaquePointer?, _ code: Int) -> String? {
        guard let result, let pointer = libpq.PQresultErrorField(result, Int32(code)) else { return nil }
        return String(cString: pointer)
    }

    private func readColumns(_ result: OpaquePointer) -> [PGColumn] {
        (0..<libpq.PQnfields(result)).map { index in
            PGColumn(name: Self.text(libpq.PQfname(result, index)), typeOID: libpq.PQftype(result, index))
        }
    }

    private func readValues(_ result: OpaquePointer, row: Int32, count: Int) -> [String?] {
        (0..<Int32(count)).map { column -> String? in
            if libpq.PQgetisnull(result, row, column) == 1 { return nil }
            let length = Int(libpq.PQgetlength(result, row, column))
            guard let pointer = libpq.PQgetvalue(result, row, column) else { return "" }
            // Length-based, not NUL-terminated: exact even if a value contained NUL.
            return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
        }
    }

    private func readResult(_ result: OpaquePointer?) -> PGQueryResult {
        guard let result else {
            return PGQueryResult(columns: [], rows: [], commandTag: "", affectedRows: nil)
        }
        let columns = readColumns(result)
        let rows = (0..<libpq.PQntuples(result)).map { row in
            PGRow(columns: columns, values: readValues(result, row: row, count: columns.count))
        }
        return PGQueryResult(
            columns: columns, rows: rows,
            commandTag: Self.text(libpq.PQcmdStatus(result)),
            affectedRows: Int(Self.text(libpq.PQcmdTuples(result))))
    }

    /// libpq takes C strings, which end at the first NUL: a NUL inside the SQL
    /// or a text parameter would silently truncate it, so refuse it instead
    /// (PostgreSQL text cannot hold NUL anyway).
    private static func checkNoNUL(_ string: String, what: String) throws {
        if string.utf8.contains(0) {
            throw PGError(
                code: .characterNotInRepertoire,
                message: "\(what) contains a NUL character, which PostgreSQL text cannot hold",
                isClientSide: true)
        }
    }

    /// Encodes parameters into one contiguous NUL-separated buffer and calls
    /// `body` with libpq's arrays (count, type OIDs, value pointers; NULL for SQL NULL).
    private static func withEncodedParameters<R>(
        _ parameters: [PGValue?],
        _ body: (Int32, UnsafePointer<UInt32>?, UnsafePointer<UnsafePointer<CChar>?>?) throws -> R
    ) throws -> R {
        // The protocol's parameter count is a 16-bit field.
        guard parameters.count <= 65_535 else {
            throw PGError(
                code: .tooManyArguments,
                message: "\(parameters.count) parameters; PostgreSQL accepts at most 65535",
                isClientSide: true)
        }
        var storage: [CChar] = []
        var offsets: [Int?] = []
        var types: [UInt32] = []
        offsets.reserveCapacity(parameters.count)
        types.reserveCapacity(parameters.count)
        for parameter in parameters {
            guard let parameter else {
                offsets.append(nil)
                types.append(0)
                continue
            }
            let text = parameter.textRepresentation
            try checkNoNUL(text, what: "a parameter")
            offsets.append(storage.count)
            storage.append(contentsOf: text.utf8.map { CChar(bitPattern: $0) })
            storage.append(0)
            types.append(parameter.typeOID)
        }
        return try storage.withUnsafeBufferPointer { buffer in
            let pointers: [UnsafePointer<CChar>?] = offsets.map { offset in
                guard let offset, let base = buffer.baseAddress else { return nil }
                return base + offset
            }
            return try pointers.withUnsafeBufferPointer { pointerBuffer in
                try types.withUnsafeBufferPointer { typeBuffer in
                    try body(Int32(parameters.count), typeBuffer.baseAddress, pointerBuffer.baseAddress)
                }
            }
        }
    }

    /// Calls `body` with a NULL-terminated array of C strings, as PQconnectdbParams wants.
    private static func withCStringArray<R>(
        _ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R
    ) -> R {
        var storage: [CChar] = []
        var offsets: [Int] = []
        for string in strings {
            offsets.append(storage.count)
            storage.append(contentsOf: string.utf8.map { CChar(bitPattern: $0) })
            storage.append(0)
        }
        return storage.withUnsafeBufferPointer { buffer in
            var pointers: [UnsafePointer<CChar>?] = offsets.map { offset in
                buffer.baseAddress.map { $0 + offset }
            }
            pointers.append(nil)
            return pointers.withUnsafeBufferPointer { pointerBuffer in
                body(pointerBuffer.baseAddress)
            }
        }
    }

    /// Parses the conninfo like libpq will, to report syntax errors without
    /// echoing secrets, and returns the password(s) it contains so they can be
    /// scrubbed from libpq's connect error message.
    private static func validateConninfo(_ conninfo: String, libpq: LibPQ) throws -> [String] {
        try checkNoNUL(conninfo, what: "the connection string")
        let isURI = conninfo.hasPrefix("postgresql://") || conninfo.hasPrefix("postgres://")
        // A bare database name is not a connection string (no '='): nothing to parse.
        guard isURI || conninfo.contains("=") else { return [] }
        var errorPointer: UnsafeMutablePointer<CChar>?
        guard let options = libpq.PQconninfoParse(conninfo, &errorPointer) else {
            let message = text(errorPointer)
            if let errorPointer { libpq.PQfreemem(errorPointer) }
            let mayHoldPassword = conninfo.lowercased().contains("password") || (isURI && uriHasUserInfoPassword(conninfo))
            throw PGError(
                code: .sqlclientUnableToEstablishSQLConnection,
                message: mayHoldPassword
                    ? "invalid connection string (libpq's message withheld: the string may contain a password)"
                    : "invalid connection string: \(message)",
                isConnectionLoss: true, isClientSide: true)
        }
        defer { libpq.PQconninfoFree(options) }
        var passwords: [String] = []
        var option = options
        while let keyword = option.pointee.keyword {
            if String(cString: keyword) == "password", let value = option.pointee.val {
                let password = String(cString: value)
                if !password.isEmpty { passwords.append(password) }
            }
            option += 1
        }
        return passwords
    }

    /// `scheme://user:secret@host…`: a colon in the userinfo part means a password.
    private static func uriHasUserInfoPassword(_ uri: String) -> Bool {
        guard let schemeEnd = uri.firstRange(of: "://") else { return false }
        let rest = uri[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        guard let at = authority.lastIndex(of: "@") else { return false }
        return authority[..<at].contains(":")
    }

    private static func redact(_ message: String, passwords: [String]) -> String {
        var result = message
        for password in passwords {
            result = result.replacing(password, with: "********")
        }
        return result
    }
}

