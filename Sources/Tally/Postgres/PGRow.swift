/// A result column: its name and the server's type OID (e.g. 20 for int8),
/// kept so callers can tell an int8 "1" from a text "1" when they need to.
package struct PGColumn: Sendable, Hashable {
    /// The column name as the server reports it (an alias if the query set one).
    package let name: String
    /// The type OID from `pg_type` (PQftype).
    package let typeOID: UInt32

    /// Creates a column description.
    package init(name: String, typeOID: UInt32) {
        self.name = name
        self.typeOID = typeOID
    }
}

/// Something that picks a column in a row: an `Int` index or a `String` name.
/// One protocol instead of two overloads per accessor keeps the row API small.
package protocol PGColumnIdentifier: Sendable {
    /// The column's index in `columns`, or nil if there is no such column.
    func columnIndex(in columns: [PGColumn]) -> Int?
}

extension Int: PGColumnIdentifier {
    /// The index itself, when in range.
    package func columnIndex(in columns: [PGColumn]) -> Int? {
        columns.indices.contains(self) ? self : nil
    }
}

extension String: PGColumnIdentifier {
    /// The first column with this exact name (like libpq's PQfnumber on a
    /// quoted name; duplicate names resolve to the first).
    package func columnIndex(in columns: [PGColumn]) -> Int? {
        columns.firstIndex { $0.name == self }
    }
}

/// One result row: values in PostgreSQL's text format, `nil` for SQL NULL.
///
/// The typed accessors return nil for NULL and throw a client-side
/// ``PGError`` (22P02) when the text does not parse, rather than returning a
/// default: a silently wrong value is worse than an error.
package struct PGRow: Sendable {
    /// Column descriptions, shared by all rows of a result.
    package let columns: [PGColumn]
    /// Raw text values, one per column; nil is SQL NULL.
    package let values: [String?]

    /// Creates a row; `values` must have one entry per column.
    package init(columns: [PGColumn], values: [String?]) {
        self.columns = columns
        self.values = values
    }

    /// The raw text of a column, nil for NULL; throws 42703 for an unknown column.
    package func string(_ column: some PGColumnIdentifier) throws -> String? {
        guard let index = column.columnIndex(in: columns) else {
            throw PGError(
                code: .undefinedColumn,
                message: "no column \(column) in row with columns \(columns.map(\.name))",
                isClientSide: true)
        }
        return values[index]
    }

    /// True if the column is SQL NULL.
    package func isNull(_ column: some PGColumnIdentifier) throws -> Bool {
        try string(column) == nil
    }

    /// The column as a 64-bit integer (int2/int4/int8, or numeric without fraction).
    package func int64(_ column: some PGColumnIdentifier) throws -> Int64? {
        try parse(column, as: "Int64") { Int64($0) }
    }

    /// The column as a double. Accepts float4/float8/numeric text, including
    /// `Infinity`, `-Infinity` and `NaN` as the server spells them.
    package func double(_ column: some PGColumnIdentifier) throws -> Double? {
        try parse(column, as: "Double") { text in
            switch text {
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            case "NaN": return .nan
            default: return Double(text)
            }
        }
    }

    /// The column as a boolean: the server sends `t`/`f`; `true`/`false` are
    /// accepted too for values produced as text.
    package func bool(_ column: some PGColumnIdentifier) throws -> Bool? {
        try parse(column, as: "Bool") { text in
            switch text {
            case "t", "true": return true
            case "f", "false": return false
            default: return nil
            }
        }
    }

    /// The column as bytes, decoding bytea's hex output (`\x…`) or legacy escape output.
    package func bytes(_ column: some PGColumnIdentifier) throws -> [UInt8]? {
        try parse(column, as: "bytea") { PGBytea.decode($0) }
    }

    private func parse<T>(
        _ column: some PGColumnIdentifier, as typeName: String, _ convert: (String) -> T?
    ) throws -> T? {
        guard let text = try string(column) else { return nil }
        guard let value = convert(text) else {
            // Show at most a prefix: the value could be large or sensitive.
            let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
            throw PGError(
                code: .invalidTextRepresentation,
                message: "column \(column) is not a valid \(typeName): \"\(shown)\"",
                isClientSide: true)
        }
        return value
    }
}

/// The complete result of one statement: columns, rows and the command tag.
///
/// Everything is copied out of libpq's PGresult (which is then freed), so the
/// value is Sendable and outlives the connection. For large results use
/// ``PGConnection/stream(_:_:_:)`` instead: this type holds every row.
package struct PGQueryResult: Sendable {
    /// Column descriptions, present even when there are no rows.
    package let columns: [PGColumn]
    /// All rows, in server order.
    package let rows: [PGRow]
    /// The command tag, e.g. `INSERT 0 1` or `SELECT 3` (PQcmdStatus).
    package let commandTag: String
    /// Rows affected by INSERT/UPDATE/DELETE/SELECT/MOVE/FETCH/COPY (PQcmdTuples), nil otherwise.
    package let affectedRows: Int?

    /// Creates a result.
    package init(columns: [PGColumn], rows: [PGRow], commandTag: String, affectedRows: Int?) {
        self.columns = columns
        self.rows = rows
        self.commandTag = commandTag
        self.affectedRows = affectedRows
    }
}
