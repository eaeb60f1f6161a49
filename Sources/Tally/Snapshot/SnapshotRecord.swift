/// One parsed line of a snapshot being imported: its members, and where it is, so every
/// typed read fails with an error that names the file, the line and the member.
struct SnapshotRecord: Sendable {
    /// The JSON object's members.
    let members: [String: JSONValue]
    /// The snapshot's name in errors.
    let path: String
    /// The record's line number (1 is the header).
    let line: Int

    /// An error about this record.
    func fail(_ reason: String) -> TallyError {
        TallyError.snapshot(path: path, line: line, reason: reason)
    }

    subscript(_ name: String) -> JSONValue? { members[name] }

    /// Member `name` as a `String`, `Int64` or `Double`; fails when it is missing or of another type.
    func field<T>(_ name: String, as type: T.Type, context: String = "") throws(TallyError) -> T {
        guard let value = members[name] else { throw fail("missing member \"\(context)\(name)\"") }
        guard let typed: T = Self.convert(value) else {
            throw fail("member \"\(context)\(name)\" must be \(Self.describe(T.self)), found \(Self.kind(of: value))")
        }
        return typed
    }

    /// Member `name`, or nil when it is missing or `null`.
    func optionalField<T>(_ name: String, as type: T.Type) throws(TallyError) -> T? {
        guard let value = members[name], value != .null else { return nil }
        return try field(name, as: type)
    }

    /// Member `name` as a SHA-256 in 64 lowercase hex digits.
    func hash(_ name: String, context: String = "") throws(TallyError) -> String {
        let text = try field(name, as: String.self, context: context)
        guard Digest.isHex64(text) else { throw fail("member \"\(context)\(name)\" must be 64 lowercase hex digits") }
        return text
    }

    /// The member `name` as a nested record (e.g. the header's `ledger_head`), or nil when it is
    /// missing or not an object.
    func object(_ name: String) -> SnapshotRecord? {
        guard case let .object(members)? = members[name] else { return nil }
        return SnapshotRecord(members: members, path: path, line: line)
    }

    private static func convert<T>(_ value: JSONValue) -> T? {
        switch value {
        case let .string(text) where T.self == String.self:
            return text as? T
        case let .number(number) where T.self == Int64.self:
            guard number == number.rounded(), abs(number) <= 9_007_199_254_740_992 else { return nil }
            return Int64(number) as? T
        case let .number(number) where T.self == Double.self:
            return number as? T
        default:
            return nil
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        type == String.self ? "a string" : type == Int64.self ? "an integer" : "a number"
    }

    private static func kind(of value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "a boolean"
        case let .number(number): return number == number.rounded() ? "the number \(Int64(exactly: number).map(String.init) ?? "\(number)")" : "the number \(number)"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
