import Foundation

/// A value as SQLite stores it: one of its five storage classes.
///
/// Used where a value's type is only known at run time (generic rows, arguments built from
/// user input). Hot paths bind typed values directly through ``Statement``.
public enum SQLiteValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)

    public var description: String {
        switch self {
        case .null: return "NULL"
        case let .integer(value): return String(value)
        case let .real(value): return String(value)
        case let .text(value): return "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
        case let .blob(value): return "x'" + value.map { String(format: "%02x", $0) }.joined() + "'"
        }
    }
}

/// A Swift value that can be bound to a statement parameter.
public protocol SQLiteBindable: Sendable {
    /// The value in SQLite's terms.
    var sqliteValue: SQLiteValue { get }
}

extension Int64: SQLiteBindable {
    public var sqliteValue: SQLiteValue { .integer(self) }
}

extension Int: SQLiteBindable {
    public var sqliteValue: SQLiteValue { .integer(Int64(self)) }
}

extension Double: SQLiteBindable {
    public var sqliteValue: SQLiteValue { .real(self) }
}

extension String: SQLiteBindable {
    public var sqliteValue: SQLiteValue { .text(self) }
}

extension Data: SQLiteBindable {
    public var sqliteValue: SQLiteValue { .blob(self) }
}

extension Bool: SQLiteBindable {
    public var sqliteValue: SQLiteValue { .integer(self ? 1 : 0) }
}

extension SQLiteValue: SQLiteBindable {
    public var sqliteValue: SQLiteValue { self }
}

extension Optional: SQLiteBindable where Wrapped: SQLiteBindable {
    public var sqliteValue: SQLiteValue { self?.sqliteValue ?? .null }
}
