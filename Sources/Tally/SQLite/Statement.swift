import CSQLite

/// A prepared SQL statement with an explicit lifecycle: prepare, bind, step, reset, finalize.
///
/// A statement belongs to the ``Connection`` that prepared it and, like it, must be used by
/// one thread at a time. Cached statements (``Connection/cachedStatement(_:)``) are reset
/// and cleared before each reuse; a statement is finalized by ``finalize()`` or on deinit.
package final class SQLiteStatement: DatabaseStatement {
    /// The SQL text this statement was prepared from.
    package let sql: String
    private var handle: OpaquePointer?
    private unowned let connection: SQLiteConnection
    /// The arguments last bound with ``bind(_:)-([any SQLiteBindable])``, rendered, when the
    /// connection may show them in errors.
    private var renderedArguments: String?

    init(connection: SQLiteConnection, sql: String) throws(TallyError) {
        self.connection = connection
        self.sql = sql
        var handle: OpaquePointer?
        // The tail points into the C string, which lives only inside withCString: read it there.
        let (code, tail) = sql.withCString { text -> (Int32, String) in
            var tail: UnsafePointer<CChar>?
            let code = sqlite3_prepare_v3(connection.handle, text, -1, 0, &handle, &tail)
            guard let tail, tail.pointee != 0 else { return (code, "") }
            return (code, String(cString: tail))
        }
        guard code == SQLITE_OK, let handle else {
            throw connection.error(code, sql: sql)
        }
        if !tail.isEmpty {
            if tail.contains(where: { $0 != ";" && $0 != " " && $0 != "\n" && $0 != "\t" && $0 != "\r" }) {
                sqlite3_finalize(handle)
                throw TallyError(SQLiteError(code: SQLITE_MISUSE, message: "only one statement can be prepared at a time; use Connection.execute(_:) for a script", sql: sql), path: connection.path)
            }
        }
        self.handle = handle
    }

    deinit {
        sqlite3_finalize(handle)
    }

    /// Releases the statement. Further use throws `SQLITE_MISUSE`.
    package func finalize() {
        sqlite3_finalize(handle)
        handle = nil
    }

    private func live() throws(TallyError) -> OpaquePointer {
        guard let handle else {
            throw TallyError(SQLiteError(code: SQLITE_MISUSE, message: "statement used after finalize()", sql: sql), path: connection.path)
        }
        return handle
    }

    // MARK: Binding

    /// The number of parameters (`?`, `?NNN`, `:name`, `@name`, `$name`) in the SQL.
    package var parameterCount: Int32 { sqlite3_bind_parameter_count(handle) }

    /// Binds a 64-bit integer to the 1-based parameter `index`.
    package func bind(_ value: Int64, at index: Int32) throws(TallyError) {
        try check(sqlite3_bind_int64(live(), index, value))
    }

    /// Binds a double to the 1-based parameter `index`.
    package func bind(_ value: Double, at index: Int32) throws(TallyError) {
        try check(sqlite3_bind_double(live(), index, value))
    }

    /// Binds text (UTF-8) to the 1-based parameter `index`. SQLite copies the bytes.
    package func bind(_ value: String, at index: Int32) throws(TallyError) {
        let handle = try live()
        var value = value
        let code = value.withUTF8 { bytes -> Int32 in
            guard let base = bytes.baseAddress, !bytes.isEmpty else {
                // A non-NULL pointer, so the value is an empty string rather than NULL.
                return sqlite3_bind_text(handle, index, "", 0, nil)
            }
            return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                sqlite3_bind_text(handle, index, $0, Int32(bytes.count), csqlite_transient())
            }
        }
        try check(code)
    }

    /// Binds UTF-8 bytes as text to the 1-based parameter `index`, without building a String.
    package func bindText(_ utf8: UnsafeBufferPointer<UInt8>, at index: Int32) throws(TallyError) {
        let handle = try live()
        guard let base = utf8.baseAddress, !utf8.isEmpty else {
            try check(sqlite3_bind_text(handle, index, "", 0, nil))
            return
        }
        let code = base.withMemoryRebound(to: CChar.self, capacity: utf8.count) {
            sqlite3_bind_text(handle, index, $0, Int32(utf8.count), csqlite_transient())
        }
        try check(code)
    }

    /// Binds a blob to the 1-based parameter `index`. SQLite copies the bytes.
    package func bind(_ value: [UInt8], at index: Int32) throws(TallyError) {
        let handle = try live()
        let code = value.withUnsafeBytes { bytes in
            // sqlite3_bind_blob with a NULL pointer binds NULL; use zeroblob for an empty blob.
            bytes.baseAddress == nil || bytes.isEmpty
                ? sqlite3_bind_zeroblob(handle, index, 0)
                : sqlite3_bind_blob(handle, index, bytes.baseAddress, Int32(bytes.count), csqlite_transient())
        }
        try check(code)
    }

    /// Binds SQL NULL to the 1-based parameter `index`.
    package func bindNull(at index: Int32) throws(TallyError) {
        try check(sqlite3_bind_null(live(), index))
    }

    /// Binds a value to a named parameter such as `:key`, `@key` or `$key` (include the prefix).
    package func bind(_ value: some SQLiteBindable, named name: String) throws(TallyError) {
        let index = sqlite3_bind_parameter_index(try live(), name)
        guard index > 0 else {
            throw TallyError(SQLiteError(code: SQLITE_RANGE, message: "no parameter named \(name)", sql: sql), path: connection.path)
        }
        try bind(value, at: index)
    }

    /// Binds values to parameters 1, 2, 3, … in order.
    package func bind(_ values: [any SQLiteBindable]) throws(TallyError) {
        guard values.count == Int(parameterCount) else {
            throw TallyError(SQLiteError(code: SQLITE_RANGE, message: "statement has \(parameterCount) parameters, got \(values.count) arguments", sql: sql), path: connection.path)
        }
        for (offset, value) in values.enumerated() {
            try bind(value, at: Int32(offset + 1))
        }
        if connection.publicArguments {
            renderedArguments = "[" + values.map { $0.sqliteValue.description }.joined(separator: ", ") + "]"
        }
    }

    /// Binds each text with `SQLITE_STATIC`, so SQLite reads it in place, then runs `body`.
    /// Strings are first copied into one temporary buffer (on the stack when small): their
    /// bytes are only guaranteed where they lie inside `withUTF8`. That replaces a heap
    /// allocation, a copy and a free per text by SQLite (`SQLITE_TRANSIENT`): W1's appends
    /// bind seven strings and the payload an event, and SQLite's inserts took 9 % more
    /// samples than raw C's with `SQLITE_STATIC`. The parameters are bound to NULL again
    /// before the buffer goes, so the statement never holds a pointer that outlives this call.
    package func withTexts<T>(_ texts: [(index: Int32, text: BoundText)], run body: () throws(TallyError) -> T) throws(TallyError) -> T {
        let handle = try live()
        var stringBytes = 0
        for (_, text) in texts {
            if case let .string(value?) = text { stringBytes += value.utf8.count }
        }
        return try withUnsafeTemporaryAllocation(of: CChar.self, capacity: Swift.max(1, stringBytes)) { buffer throws(TallyError) -> T in
            defer {
                for (index, _) in texts { sqlite3_bind_null(handle, index) }
            }
            // Never nil: the capacity is at least 1.
            guard let base = buffer.baseAddress else { throw TallyError.internal("no temporary buffer for binding text") }
            var used = 0
            for (index, text) in texts {
                switch text {
                case var .string(value?):
                    let start = base + used
                    let count = value.withUTF8 { bytes -> Int in
                        if let source = bytes.baseAddress {
                            UnsafeMutableRawPointer(start).copyMemory(from: source, byteCount: bytes.count)
                        }
                        return bytes.count
                    }
                    used += count
                    try check(sqlite3_bind_text(handle, index, start, Int32(count), nil))
                case .string(nil):
                    try check(sqlite3_bind_null(handle, index))
                case let .utf8(bytes):
                    // An empty buffer may have no address: point at the (valid) scratch buffer.
                    let start = bytes.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
                        ?? UnsafePointer(base)
                    try check(sqlite3_bind_text(handle, index, start, Int32(bytes.count), nil))
                }
            }
            return try body()
        }
    }

    /// Sets every parameter back to NULL.
    package func clearBindings() {
        renderedArguments = nil
        sqlite3_clear_bindings(handle)
    }

    // MARK: Stepping

    /// Advances to the next row. Returns `true` when a row is available, `false` when done.
    @discardableResult
    package func step() throws(TallyError) -> Bool {
        let code = sqlite3_step(try live())
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            // sqlite3_reset returns the same error; the connection's message describes it.
            let error = connection.sqliteError(code, sql: sql)
            throw TallyError(SQLiteError(code: error.code, message: error.message, sql: sql, arguments: renderedArguments),
                             path: connection.path)
        }
    }

    /// Rewinds the statement so it can run again; bindings are kept.
    package func reset() {
        sqlite3_reset(handle)
    }

    // MARK: Columns

    /// The number of columns in a result row.
    package var columnCount: Int32 { sqlite3_column_count(handle) }

    /// The name of the 0-based column `index`.
    package func columnName(_ index: Int32) -> String {
        sqlite3_column_name(handle, index).map { String(cString: $0) } ?? ""
    }

    /// True when the 0-based column `index` of the current row is NULL.
    package func isNull(_ index: Int32) -> Bool {
        sqlite3_column_type(handle, index) == SQLITE_NULL
    }

    /// The 0-based column `index` as a 64-bit integer (0 for NULL).
    package func int64(_ index: Int32) -> Int64 {
        sqlite3_column_int64(handle, index)
    }

    /// The 0-based column `index` as a double (0 for NULL).
    package func double(_ index: Int32) -> Double {
        sqlite3_column_double(handle, index)
    }

    /// The 0-based column `index` as text ("" for NULL).
    package func string(_ index: Int32) -> String {
        guard let text = sqlite3_column_text(handle, index) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, index))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// Calls `body` with the raw UTF-8 bytes of a text column, valid only during the call.
    /// Avoids building a `String` on hot paths (hashing, streaming export).
    package func withUTF8<T, E: Error>(_ index: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws(E) -> T) throws(E) -> T {
        let text = sqlite3_column_text(handle, index)
        let count = Int(sqlite3_column_bytes(handle, index))
        return try body(UnsafeBufferPointer(start: text, count: text == nil ? 0 : count))
    }

    /// The 0-based column `index` as bytes (empty for NULL).
    package func bytes(_ index: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, index))
        guard let bytes = sqlite3_column_blob(handle, index), count > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    /// The 0-based column `index` as a dynamically typed value.
    package func value(_ index: Int32) -> SQLiteValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER: return .integer(int64(index))
        case SQLITE_FLOAT: return .real(double(index))
        case SQLITE_TEXT: return .text(string(index))
        case SQLITE_BLOB: return .blob(bytes(index))
        default: return .null
        }
    }

    private func check(_ code: Int32) throws(TallyError) {
        guard code == SQLITE_OK else { throw connection.error(code, sql: sql) }
    }
}
