#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Turns a ``JSONValue`` back into an app's `Decodable` type, the inverse of
/// ``JSONValueEncoder``: `Date` from Tally's timestamp text, `Data` from base64, `URL` from a
/// string, `Decimal` from the number's RFC 8785 digits (so 0.1 reads as exactly 0.1), and
/// integers only from numbers that are integral and in range.
struct JSONValueDecoder {
    /// Decodes `type` from `value`.
    ///
    /// - Throws: ``TallyError/invalidInput(field:reason:)`` naming the coding path and what
    ///   did not match.
    func decode<T: Decodable>(_ type: T.Type, from value: JSONValue, field: String) throws(TallyError) -> T {
        do {
            return try DecodingCore(value: value, codingPath: []).decodeValue(type)
        } catch let error as DecodingProblem {
            throw TallyError.invalidInput(field: field, reason: error.description)
        } catch let error as DecodingError {
            throw TallyError.invalidInput(field: field, reason: Self.describe(error))
        } catch {
            throw TallyError.invalidInput(field: field, reason: "it cannot be decoded as \(T.self): \(error)")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case let .typeMismatch(type, context):
            return "\(CodingPathText.render(context.codingPath)): expected \(type): \(context.debugDescription)"
        case let .valueNotFound(type, context):
            return "\(CodingPathText.render(context.codingPath)): expected \(type), found null"
        case let .keyNotFound(key, context):
            return "\(CodingPathText.render(context.codingPath + [key])): missing"
        case let .dataCorrupted(context):
            return "\(CodingPathText.render(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

/// Why a value does not decode, and where.
struct DecodingProblem: Error, CustomStringConvertible {
    let path: [any CodingKey]
    let reason: String

    var description: String { "\(CodingPathText.render(path)): \(reason)" }
}

private struct DecodingCore: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case let .object(members) = value else {
            throw DecodingProblem(path: codingPath, reason: "expected an object, found \(Self.kind(value))")
        }
        return KeyedDecodingContainer(KeyedReader<Key>(members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case let .array(elements) = value else {
            throw DecodingProblem(path: codingPath, reason: "expected an array, found \(Self.kind(value))")
        }
        return UnkeyedReader(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleReader(value: value, codingPath: codingPath)
    }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if type == JSONValue.self, let result = value as? T { return result }
        if type == Date.self {
            guard case let .string(text) = value, let millis = Timestamp.milliseconds(text) else {
                throw DecodingProblem(path: codingPath, reason: "expected a timestamp such as 2026-01-02T03:04:05.678Z, found \(Self.kind(value))")
            }
            if let result = Date(timeIntervalSince1970: Double(millis) / 1000) as? T { return result }
        }
        if type == Data.self {
            guard case let .string(text) = value, let data = Data(base64Encoded: text) else {
                throw DecodingProblem(path: codingPath, reason: "expected base64 text, found \(Self.kind(value))")
            }
            if let result = data as? T { return result }
        }
        if type == URL.self {
            guard case let .string(text) = value, let url = URL(string: text) else {
                throw DecodingProblem(path: codingPath, reason: "expected a URL string, found \(Self.kind(value))")
            }
            if let result = url as? T { return result }
        }
        if type == Decimal.self {
            guard case let .number(number) = value, let decimal = Decimal(string: JSONNumberFormatter.string(number)) else {
                throw DecodingProblem(path: codingPath, reason: "expected a number, found \(Self.kind(value))")
            }
            if let result = decimal as? T { return result }
        }
        return try T(from: self)
    }

    static func kind(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "a Boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    static func integer<I: FixedWidthInteger>(_ value: JSONValue, as type: I.Type, path: [any CodingKey]) throws -> I {
        guard case let .number(number) = value else {
            throw DecodingProblem(path: path, reason: "expected an integer, found \(kind(value))")
        }
        guard number == number.rounded(), let integer = I(exactly: number) else {
            throw DecodingProblem(path: path, reason: "\(JSONNumberFormatter.string(number)) is not an integer that fits \(I.self)")
        }
        return integer
    }

    static func double(_ value: JSONValue, path: [any CodingKey]) throws -> Double {
        guard case let .number(number) = value else {
            throw DecodingProblem(path: path, reason: "expected a number, found \(kind(value))")
        }
        guard number.isFinite else {
            throw DecodingProblem(path: path, reason: "\(number) is not a JSON number")
        }
        return number
    }

    /// A number as a `Float`, refusing one beyond `Float`'s range (it would become an
    /// infinity); within it, the nearest `Float`, as Foundation's decoder gives.
    static func float(_ value: JSONValue, path: [any CodingKey]) throws -> Float {
        let number = try double(value, path: path)
        let narrowed = Float(number)
        guard narrowed.isFinite else {
            throw DecodingProblem(path: path, reason: "\(JSONNumberFormatter.string(number)) is beyond the range of Float")
        }
        return narrowed
    }

    static func string(_ value: JSONValue, path: [any CodingKey]) throws -> String {
        guard case let .string(text) = value else {
            throw DecodingProblem(path: path, reason: "expected a string, found \(kind(value))")
        }
        return text
    }

    static func bool(_ value: JSONValue, path: [any CodingKey]) throws -> Bool {
        guard case let .bool(flag) = value else {
            throw DecodingProblem(path: path, reason: "expected a Boolean, found \(kind(value))")
        }
        return flag
    }
}

private struct KeyedReader<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    private func member(_ key: Key) throws -> JSONValue {
        guard let value = members[key.stringValue] else {
            throw DecodingProblem(path: codingPath + [key], reason: "missing")
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool { try member(key) == .null }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try DecodingCore.bool(member(key), path: codingPath + [key]) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try DecodingCore.string(member(key), path: codingPath + [key]) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try DecodingCore.double(member(key), path: codingPath + [key]) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try DecodingCore.float(member(key), path: codingPath + [key]) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try DecodingCore.integer(member(key), as: type, path: codingPath + [key]) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try DecodingCore.integer(member(key), as: type, path: codingPath + [key]) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try DecodingCore.integer(member(key), as: type, path: codingPath + [key]) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try DecodingCore.integer(member(key), as: type, path: codingPath + [key]) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try DecodingCore.integer(member(key), as: type, path: codingPath + [key]) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try DecodingCore.integer(member(key), as: type, path: codingPath + [key]) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try DecodingCore.integer(member(key), as: type, path: codingPath + [key]) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try DecodingCore.integer(member(key), as: type, path: codingPath + [key]) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try DecodingCore.integer(member(key), as: type, path: codingPath + [key]) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try DecodingCore.integer(member(key), as: type, path: codingPath + [key]) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try DecodingCore(value: member(key), codingPath: codingPath + [key]).decodeValue(type)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try DecodingCore(value: member(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try DecodingCore(value: member(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        DecodingCore(value: members["super"] ?? .null, codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        DecodingCore(value: members[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

private struct ElementKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { return nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct UnkeyedReader: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next() throws -> (JSONValue, [any CodingKey]) {
        let path = codingPath + [ElementKey(currentIndex)]
        guard !isAtEnd else { throw DecodingProblem(path: path, reason: "the array has only \(elements.count) elements") }
        defer { currentIndex += 1 }
        return (elements[currentIndex], path)
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, elements[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { let (v, p) = try next(); return try DecodingCore.bool(v, path: p) }
    mutating func decode(_ type: String.Type) throws -> String { let (v, p) = try next(); return try DecodingCore.string(v, path: p) }
    mutating func decode(_ type: Double.Type) throws -> Double { let (v, p) = try next(); return try DecodingCore.double(v, path: p) }
    mutating func decode(_ type: Float.Type) throws -> Float { let (v, p) = try next(); return try DecodingCore.float(v, path: p) }
    mutating func decode(_ type: Int.Type) throws -> Int { let (v, p) = try next(); return try DecodingCore.integer(v, as: type, path: p) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { let (v, p) = try next(); return try DecodingCore.integer(v, as: type, path: p) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { let (v, p) = try next(); return try DecodingCore.integer(v, as: type, path: p) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { let (v, p) = try next(); return try DecodingCore.integer(v, as: type, path: p) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { let (v, p) = try next(); return try DecodingCore.integer(v, as: type, path: p) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { let (v, p) = try next(); return try DecodingCore.integer(v, as: type, path: p) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { let (v, p) = try next(); return try DecodingCore.integer(v, as: type, path: p) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { let (v, p) = try next(); return try DecodingCore.integer(v, as: type, path: p) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { let (v, p) = try next(); return try DecodingCore.integer(v, as: type, path: p) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { let (v, p) = try next(); return try DecodingCore.integer(v, as: type, path: p) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (v, p) = try next()
        return try DecodingCore(value: v, codingPath: p).decodeValue(type)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (v, p) = try next()
        return try DecodingCore(value: v, codingPath: p).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (v, p) = try next()
        return try DecodingCore(value: v, codingPath: p).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (v, p) = try next()
        return DecodingCore(value: v, codingPath: p)
    }
}

private struct SingleReader: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool { value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try DecodingCore.bool(value, path: codingPath) }
    func decode(_ type: String.Type) throws -> String { try DecodingCore.string(value, path: codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try DecodingCore.double(value, path: codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try DecodingCore.float(value, path: codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try DecodingCore.integer(value, as: type, path: codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try DecodingCore.integer(value, as: type, path: codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try DecodingCore.integer(value, as: type, path: codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try DecodingCore.integer(value, as: type, path: codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try DecodingCore.integer(value, as: type, path: codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try DecodingCore.integer(value, as: type, path: codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try DecodingCore.integer(value, as: type, path: codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try DecodingCore.integer(value, as: type, path: codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try DecodingCore.integer(value, as: type, path: codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try DecodingCore.integer(value, as: type, path: codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try DecodingCore(value: value, codingPath: codingPath).decodeValue(type)
    }
}
