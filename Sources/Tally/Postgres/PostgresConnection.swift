/// A PostgreSQL connection behind the database seam: what ``SQLiteConnection`` is for a
/// file, on a server. Tally's tables run their SQL through it unchanged apart from the
/// placeholders (`?` and `?NNN` become `$n`, outside quotes and comments) and the few
/// statements that give a PostgreSQL spelling (``InternalSQL/postgres``).
///
/// - Tally's own statements (``statement(_:)``) run as server-side prepared statements,
///   their whole (small) result fetched at once.
/// - Other queries (``prepare(_:)``), which may return many rows (an export, a verify),
///   stream through a cursor inside the transaction, 1,000 rows at a time.
/// - Read transactions are REPEATABLE READ, READ ONLY: one snapshot for every statement,
///   as SQLite's read transactions are. Write transactions are READ COMMITTED; appends
///   serialize on the ledger's head row.
///
/// Errors become ``TallyError/postgres(code:message:sql:)``, with the connection string
/// (password removed) as the place.
package final class PostgresConnection: DatabaseConnection {
    let client: PGConnection
    /// The connection string without its password.
    package let path: String
    package var dialect: SQLDialect { .postgres }
    /// Tally's own statements by ``InternalSQL/id``, and other SQL by text (see ``StatementCaches``).
    private var statements = StatementCaches<PostgresStatement>(capacity: 64)
    private var savepointDepth = 0
    private var cursorNumber = 0
    var lastChanges = 0
    /// Statements that set up each session (synchronous_commit, lock_timeout), run again
    /// after a reconnect.
    private let sessionSetup: String?

    /// Connects to `conninfo` (a `postgresql://` URI or `key=value` string), then runs
    /// `sessionSetup`, which is run again whenever the connection is re-established.
    package init(conninfo: String, sessionSetup: String? = nil) throws(TallyError) {
        path = Self.displayName(conninfo)
        self.sessionSetup = sessionSetup
        do {
            client = try PGConnection(conninfo: conninfo)
        } catch {
            throw Self.translate(error, sql: nil, place: Self.displayName(conninfo))
        }
        if let sessionSetup { try execute(sessionSetup) }
    }

    /// Reconnects a connection the server dropped (a restart, a failover: with several
    /// hosts and `target_session_attrs=read-write` in the connection string, libpq finds
    /// the new primary), between transactions only: inside one, the loss is the
    /// transaction's error to report.
    func ensureConnected() throws(TallyError) {
        guard !client.isConnected, !isInTransaction else { return }
        do {
            try client.reset()
        } catch {
            throw Self.translate(error, sql: nil, place: path)
        }
        statements.removeAll()
        if let sessionSetup { try execute(sessionSetup) }
    }

    /// `conninfo` with any password replaced, for messages and logs.
    package static func displayName(_ conninfo: String) -> String {
        var text = conninfo
        // URI user:password@ and key=value password=…
        if let at = text.firstIndex(of: "@"), let scheme = text.firstRange(of: "://"), scheme.upperBound < at,
           let colon = text[scheme.upperBound..<at].firstIndex(of: ":") {
            text.replaceSubrange(text.index(after: colon)..<at, with: "***")
        }
        return text.replacing(#/password=[^ &]*/#, with: "password=***")
    }

    package func prepare(_ sql: String) throws(TallyError) -> any DatabaseStatement {
        PostgresStatement(connection: self, sql: Self.numberPlaceholders(sql), streaming: true)
    }

    package func statement(_ sql: InternalSQL) throws(TallyError) -> any DatabaseStatement {
        try statements.statement(sql) { () throws(TallyError) in
            PostgresStatement(connection: self, sql: sql.postgres ?? Self.numberPlaceholders(sql.sql), streaming: false)
        }
    }

    package func cachedStatement(_ sql: String) throws(TallyError) -> any DatabaseStatement {
        try statements.statement(sql) { () throws(TallyError) in
            PostgresStatement(connection: self, sql: Self.numberPlaceholders(sql), streaming: false)
        }
    }

    package func execute(_ sql: String) throws(TallyError) {
        do {
            try client.execute(sql)
        } catch {
            throw Self.translate(error, sql: sql, place: path)
        }
    }

    package var changes: Int { lastChanges }

    /// Not counted on PostgreSQL (nothing relies on it there: see `otherCommitsVersion()`).
    package var totalChanges: Int64 { 0 }

    /// PostgreSQL has no `data_version`; appends read (and lock) the chain's head every time.
    package func otherCommitsVersion() throws(TallyError) -> Int64? { nil }

    package var isInTransaction: Bool {
        switch client.transactionStatus {
        case .inTransaction, .inError, .active: return true
        case .idle, .unknown: return false
        }
    }

    package func begin(_ kind: TransactionKind) throws(TallyError) {
        try ensureConnected()
        switch kind {
        case .deferred: try execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        case .immediate: try execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        case .exclusive:
            throw TallyError.invalidInput(field: "transaction", reason: "an exclusive transaction is an SQLite operation (restore); PostgreSQL has none")
        }
    }

    package func commit() throws(TallyError) {
        let tag: String
        do {
            tag = try client.query("COMMIT").commandTag
        } catch {
            throw Self.translate(error, sql: "COMMIT", place: path)
        }
        // COMMIT of a transaction a statement error aborted answers ROLLBACK, quietly.
        if tag == "ROLLBACK" {
            throw TallyError.postgres(code: PGErrorCode.inFailedSQLTransaction.rawValue,
                                      message: "the transaction was aborted by an earlier error and rolled back", sql: "COMMIT")
        }
    }

    package func rollback() {
        guard isInTransaction else { return }
        _ = try? client.execute("ROLLBACK")
    }

    package func savepoint<T>(_ body: () throws(TallyError) -> T) throws(TallyError) -> T {
        savepointDepth += 1
        defer { savepointDepth -= 1 }
        let name = "tally_savepoint_\(savepointDepth)"
        try execute("SAVEPOINT \(name)")
        do {
            let result = try body()
            try execute("RELEASE SAVEPOINT \(name)")
            return result
        } catch {
            if isInTransaction { _ = try? client.execute("ROLLBACK TO SAVEPOINT \(name)") }
            throw error
        }
    }

    /// A fresh cursor name for a streaming statement.
    func nextCursorName() -> String {
        cursorNumber += 1
        return "tally_cursor_\(cursorNumber)"
    }

    // MARK: Placeholders

    /// Rewrites SQLite's `?` and `?NNN` placeholders as PostgreSQL's `$n`, leaving quoted
    /// strings, quoted identifiers, dollar-quoted bodies and comments alone.
    package static func numberPlaceholders(_ sql: String) -> String {
        let bytes = Array(sql.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 8)
        var index = 0
        var next = 1
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                // A quoted string or identifier; a doubled quote stays inside.
                out.append(byte)
                index += 1
                while index < bytes.count {
                    out.append(bytes[index])
                    if bytes[index] == byte {
                        if index + 1 < bytes.count, bytes[index + 1] == byte {
                            out.append(byte)
                            index += 2
                            continue
                        }
                        index += 1
                        break
                    }
                    index += 1
                }
            case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "-"):
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") {
                    out.append(bytes[index])
                    index += 1
                }
            case UInt8(ascii: "?"):
                index += 1
                var digits: [UInt8] = []
                while index < bytes.count, (0x30...0x39).contains(bytes[index]) {
                    digits.append(bytes[index])
                    index += 1
                }
                out.append(UInt8(ascii: "$"))
                if digits.isEmpty {
                    out.append(contentsOf: String(next).utf8)
                    next += 1
                } else {
                    out.append(contentsOf: digits)
                }
            default:
                out.append(byte)
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Errors

    /// A libpq or server error as Tally's.
    static func translate(_ error: any Error, sql: String?, place: String) -> TallyError {
        if let error = error as? TallyError { return error }
        guard let error = error as? PGError else { return .internal("PostgreSQL: \(error)") }
        var message = error.message
        if let detail = error.detail, !detail.isEmpty { message += " (\(detail))" }
        if error.isConnectionLoss { message += "; the connection to \(place) was lost" }
        if error.commitOutcomeUnknown { message += "; the commit may or may not have happened" }
        return .postgres(code: error.code.rawValue, message: message, sql: sql)
    }
}

/// A statement on a ``PostgresConnection``: parameters are collected as they are bound,
/// and the statement runs at the first ``step()``.
package final class PostgresStatement: DatabaseStatement {
    package let sql: String
    private unowned let connection: PostgresConnection
    /// Whether results stream through a cursor (inside a transaction), for large results.
    private let streaming: Bool
    private var parameters: [PGValue?] = []
    private var rows: [PGRow] = []
    private var columns: [PGColumn] = []
    private var position = -1
    private var executed = false
    private var cursor: String?
    private var cursorDone = false
    private static let pageSize = 1_000

    init(connection: PostgresConnection, sql: String, streaming: Bool) {
        self.connection = connection
        self.sql = sql
        self.streaming = streaming
    }

    deinit {
        closeCursor()
    }

    // MARK: Binding

    private func set(_ value: PGValue?, at index: Int32) throws(TallyError) {
        guard index >= 1 else {
            throw TallyError.internal("parameter index \(index) is not 1-based in `\(sql)`")
        }
        let slot = Int(index) - 1
        if parameters.count <= slot { parameters += Array(repeating: nil, count: slot + 1 - parameters.count) }
        parameters[slot] = value
    }

    package func bind(_ value: Int64, at index: Int32) throws(TallyError) { try set(.int(value), at: index) }
    package func bind(_ value: Double, at index: Int32) throws(TallyError) { try set(.double(value), at: index) }
    package func bind(_ value: String, at index: Int32) throws(TallyError) { try set(.text(value), at: index) }
    package func bindText(_ utf8: UnsafeBufferPointer<UInt8>, at index: Int32) throws(TallyError) {
        try set(.text(String(decoding: utf8, as: UTF8.self)), at: index)
    }
    package func bind(_ value: [UInt8], at index: Int32) throws(TallyError) { try set(.bytea(value), at: index) }
    package func bindNull(at index: Int32) throws(TallyError) { try set(nil, at: index) }

    package func bind(_ values: [any SQLiteBindable]) throws(TallyError) {
        for (offset, value) in values.enumerated() {
            try bind(value, at: Int32(offset + 1))
        }
    }

    package func clearBindings() {
        parameters.removeAll(keepingCapacity: true)
    }

    // MARK: Stepping

    @discardableResult
    package func step() throws(TallyError) -> Bool {
        if !executed { try execute() }
        position += 1
        if position < rows.count { return true }
        guard cursor != nil, !cursorDone else { return false }
        try fetchPage()
        position = 0
        return !rows.isEmpty
    }

    private func execute() throws(TallyError) {
        try connection.ensureConnected()
        executed = true
        position = -1
        let isQuery = Self.returnsRows(sql)
        do {
            if streaming, isQuery, connection.isInTransaction {
                let name = connection.nextCursorName()
                try connection.client.query("DECLARE \(name) NO SCROLL CURSOR FOR \(sql)", parameters)
                cursor = name
                cursorDone = false
                try fetchPage()
                return
            }
            let result = try connection.client.queryPrepared(sql, parameters)
            rows = result.rows
            columns = result.columns
            connection.lastChanges = isQuery ? 0 : (result.affectedRows ?? 0)
        } catch {
            throw PostgresConnection.translate(error, sql: sql, place: connection.path)
        }
    }

    private func fetchPage() throws(TallyError) {
        guard let cursor else { return }
        do {
            let result = try connection.client.query("FETCH \(Self.pageSize) FROM \(cursor)")
            rows = result.rows
            if !result.columns.isEmpty { columns = result.columns }
            if rows.count < Self.pageSize { cursorDone = true }
        } catch {
            throw PostgresConnection.translate(error, sql: sql, place: connection.path)
        }
    }

    private func closeCursor() {
        if let cursor, connection.isInTransaction {
            _ = try? connection.client.execute("CLOSE \(cursor)")
        }
        cursor = nil
    }

    package func reset() {
        closeCursor()
        executed = false
        rows = []
        position = -1
    }

    package func finalize() {
        reset()
    }

    /// Whether the statement returns rows (a query, or a write with RETURNING).
    private static func returnsRows(_ sql: String) -> Bool {
        let head = sql.drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "(" }.prefix(6).uppercased()
        return head.hasPrefix("SELECT") || head.hasPrefix("WITH") || head.hasPrefix("VALUES")
    }

    // MARK: Columns

    package var columnCount: Int32 { Int32(columns.count) }

    private func text(_ index: Int32) -> String? {
        guard position >= 0, position < rows.count, Int(index) < rows[position].values.count else { return nil }
        return rows[position].values[Int(index)]
    }

    package func isNull(_ index: Int32) -> Bool { text(index) == nil }
    package func int64(_ index: Int32) -> Int64 { text(index).flatMap { Int64($0) } ?? 0 }
    package func double(_ index: Int32) -> Double {
        guard let text = text(index) else { return 0 }
        switch text {
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        case "NaN": return .nan
        default: return Double(text) ?? 0
        }
    }
    package func string(_ index: Int32) -> String { text(index) ?? "" }

    package func withUTF8<T, E: Error>(_ index: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws(E) -> T) throws(E) -> T {
        var value = text(index) ?? ""
        // (Not `withUTF8`'s own closure: it rethrows untyped errors.)
        var result: Result<T, E>?
        value.withUTF8 { buffer in
            do throws(E) {
                result = .success(try body(buffer))
            } catch {
                result = .failure(error)
            }
        }
        switch result {
        case let .success(value)?: return value
        case let .failure(error)?: throw error
        case nil: return try body(UnsafeBufferPointer(start: nil, count: 0))
        }
    }

    package func bytes(_ index: Int32) -> [UInt8] {
        guard let text = text(index) else { return [] }
        return PGBytea.decode(text) ?? []
    }

    package func value(_ index: Int32) -> SQLiteValue {
        guard let text = text(index) else { return .null }
        let type = Int(index) < columns.count ? columns[Int(index)].typeOID : 25
        switch type {
        case 20, 21, 23, 26: return Int64(text).map(SQLiteValue.integer) ?? .text(text)  // int8, int2, int4, oid
        case 700, 701, 1700: return .real(double(index))                             // float4, float8, numeric
        case 16: return .integer(text == "t" ? 1 : 0)                                 // bool
        case 17: return .blob(PGBytea.decode(text) ?? [])                             // bytea
        default: return .text(text)
        }
    }
}
