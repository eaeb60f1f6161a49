#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Turns an app's `Encodable` value into a ``JSONValue`` directly, without going through
/// Foundation's `JSONEncoder` and text, so that what Tally hashes is decided by Tally's own
/// rules, the same on every platform:
///
/// - integers must fit in a double exactly (|n| ≤ 2^53), else the encode fails with advice
///   to encode the field as a string (a rounded ID is worse than an error);
/// - `Double`/`Float` must be finite;
/// - `Decimal` becomes a number only when the double holds the same decimal digits (as
///   RFC 8785 would print them), else it fails;
/// - `Date` becomes Tally's timestamp text (`2026-11-23T08:30:20.249Z`, UTC, milliseconds),
///   `Data` base64 text, `URL` its absolute string.
struct JSONValueEncoder {
    /// Encodes `value`.
    ///
    /// - Throws: ``TallyError/invalidInput(field:reason:)`` naming the coding path.
    func encode(_ value: some Encodable, field: String) throws(TallyError) -> JSONValue {
        let root = EncodingBox()
        do {
            try EncodingCore(box: root, codingPath: []).encodeValue(value)
        } catch let error as TallyError {
            throw error
        } catch let error as EncodingProblem {
            throw TallyError.invalidInput(field: field, reason: error.description)
        } catch {
            throw TallyError.invalidInput(field: field, reason: "it cannot be encoded: \(error)")
        }
        return root.resolved()
    }
}

/// Why a value cannot be encoded, and where.
struct EncodingProblem: Error, CustomStringConvertible {
    let path: [any CodingKey]
    let reason: String

    var description: String { "\(CodingPathText.render(path)): \(reason)" }
}

/// Renders coding paths as JSONPath (`$.items[2].price`).
enum CodingPathText {
    static func render(_ path: [any CodingKey]) -> String {
        var text = "$"
        for key in path {
            if let index = key.intValue { text += "[\(index)]" } else { text += ".\(key.stringValue)" }
        }
        return text
    }
}

/// One node of the value being built; containers fill it in place.
final class EncodingBox {
    enum Content {
        case empty
        case value(JSONValue)
        case object([String: EncodingBox])
        case array([EncodingBox])
    }

    var content: Content = .empty

    func resolved() -> JSONValue {
        switch content {
        case .empty: return .object([:])  // a type that encoded nothing at all
        case let .value(value): return value
        case let .object(members): return .object(members.mapValues { $0.resolved() })
        case let .array(elements): return .array(elements.map { $0.resolved() })
        }
    }
}

/// The `Encoder` the standard library's `Encodable` conformances talk to.
private struct EncodingCore: Encoder {
    let box: EncodingBox
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = box.content {} else { box.content = .object([:]) }
        return KeyedEncodingContainer(KeyedContainer<Key>(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = box.content {} else { box.content = .array([]) }
        return UnkeyedContainer(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleContainer(box: box, codingPath: codingPath)
    }

    /// Encodes a value into `box`, handling the Foundation types whose own conformances
    /// would produce something other than plain JSON.
    func encodeValue(_ value: some Encodable) throws {
        switch value {
        case let value as JSONValue: box.content = .value(value)
        case let date as Date: box.content = .value(.string(Timestamp.format(date)))
        case let data as Data: box.content = .value(.string(data.base64EncodedString()))
        case let url as URL: box.content = .value(.string(url.absoluteString))
        case let decimal as Decimal: box.content = .value(.number(try Self.exactDouble(decimal, path: codingPath)))
        default: try value.encode(to: self)
        }
    }

    static func exactDouble(_ decimal: Decimal, path: [any CodingKey]) throws -> Double {
        let text = "\(decimal)"
        guard let double = Double(text), double.isFinite else {
            throw EncodingProblem(path: path, reason: "the Decimal \(text) is not a finite number")
        }
        guard DecimalText.sameNumber(text, JSONNumberFormatter.string(double)) else {
            throw EncodingProblem(
                path: path,
                reason: "the Decimal \(text) has more digits than a JSON number (an IEEE-754 double) holds "
                    + "(it would be stored as \(JSONNumberFormatter.string(double))); encode it as a String")
        }
        return double
    }

    static func number(_ value: some BinaryInteger, path: [any CodingKey]) throws -> JSONValue {
        guard value.magnitude <= 9_007_199_254_740_992 else {
            throw EncodingProblem(
                path: path,
                reason: "the integer \(value) is beyond ±2^53, which a JSON number (an IEEE-754 double) cannot hold "
                    + "exactly; encode it as a String (for example an ID)")
        }
        return .number(Double(value))
    }

    static func number(_ value: Double, path: [any CodingKey]) throws -> JSONValue {
        guard value.isFinite else {
            throw EncodingProblem(path: path, reason: "\(value) is not a JSON number; encode nil or a String instead")
        }
        return .number(value)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: EncodingBox
    let codingPath: [any CodingKey]

    private func child(_ key: Key) -> EncodingBox { child(named: key.stringValue) }

    private func child(named name: String) -> EncodingBox {
        guard case var .object(members) = box.content else { return EncodingBox() }
        if let existing = members[name] { return existing }
        let created = EncodingBox()
        members[name] = created
        box.content = .object(members)
        return created
    }

    private func set(_ value: JSONValue, for key: Key) { child(key).content = .value(value) }

    mutating func encodeNil(forKey key: Key) throws { set(.null, for: key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(.bool(value), for: key) }
    mutating func encode(_ value: String, forKey key: Key) throws { set(.string(value), for: key) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        set(try EncodingCore.number(value, path: codingPath + [key]), for: key)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        set(try EncodingCore.number(Double(value), path: codingPath + [key]), for: key)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(try EncodingCore.number(value, path: codingPath + [key]), for: key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { set(.number(Double(value)), for: key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { set(.number(Double(value)), for: key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { set(.number(Double(value)), for: key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(try EncodingCore.number(value, path: codingPath + [key]), for: key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { set(try EncodingCore.number(value, path: codingPath + [key]), for: key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { set(.number(Double(value)), for: key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { set(.number(Double(value)), for: key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { set(.number(Double(value)), for: key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { set(try EncodingCore.number(value, path: codingPath + [key]), for: key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try EncodingCore(box: child(key), codingPath: codingPath + [key]).encodeValue(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                        forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        EncodingCore(box: child(key), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        EncodingCore(box: child(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        EncodingCore(box: child(named: "super"), codingPath: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        EncodingCore(box: child(key), codingPath: codingPath + [key])
    }
}

private struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { return nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let box: EncodingBox
    let codingPath: [any CodingKey]

    var count: Int {
        if case let .array(elements) = box.content { return elements.count }
        return 0
    }

    private func append() -> EncodingBox {
        let created = EncodingBox()
        if case var .array(elements) = box.content {
            elements.append(created)
            box.content = .array(elements)
        }
        return created
    }

    private var nextPath: [any CodingKey] { codingPath + [IndexKey(count)] }

    mutating func encodeNil() throws { append().content = .value(.null) }
    mutating func encode(_ value: Bool) throws { append().content = .value(.bool(value)) }
    mutating func encode(_ value: String) throws { append().content = .value(.string(value)) }
    mutating func encode(_ value: Double) throws { let path = nextPath; append().content = .value(try EncodingCore.number(value, path: path)) }
    mutating func encode(_ value: Float) throws { let path = nextPath; append().content = .value(try EncodingCore.number(Double(value), path: path)) }
    mutating func encode(_ value: Int) throws { let path = nextPath; append().content = .value(try EncodingCore.number(value, path: path)) }
    mutating func encode(_ value: Int8) throws { append().content = .value(.number(Double(value))) }
    mutating func encode(_ value: Int16) throws { append().content = .value(.number(Double(value))) }
    mutating func encode(_ value: Int32) throws { append().content = .value(.number(Double(value))) }
    mutating func encode(_ value: Int64) throws { let path = nextPath; append().content = .value(try EncodingCore.number(value, path: path)) }
    mutating func encode(_ value: UInt) throws { let path = nextPath; append().content = .value(try EncodingCore.number(value, path: path)) }
    mutating func encode(_ value: UInt8) throws { append().content = .value(.number(Double(value))) }
    mutating func encode(_ value: UInt16) throws { append().content = .value(.number(Double(value))) }
    mutating func encode(_ value: UInt32) throws { append().content = .value(.number(Double(value))) }
    mutating func encode(_ value: UInt64) throws { let path = nextPath; append().content = .value(try EncodingCore.number(value, path: path)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        let path = nextPath
        try EncodingCore(box: append(), codingPath: path).encodeValue(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = nextPath
        return EncodingCore(box: append(), codingPath: path).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = nextPath
        return EncodingCore(box: append(), codingPath: path).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let path = nextPath
        return EncodingCore(box: append(), codingPath: path)
    }
}

private struct SingleContainer: SingleValueEncodingContainer {
    let box: EncodingBox
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { box.content = .value(.null) }
    mutating func encode(_ value: Bool) throws { box.content = .value(.bool(value)) }
    mutating func encode(_ value: String) throws { box.content = .value(.string(value)) }
    mutating func encode(_ value: Double) throws { box.content = .value(try EncodingCore.number(value, path: codingPath)) }
    mutating func encode(_ value: Float) throws { box.content = .value(try EncodingCore.number(Double(value), path: codingPath)) }
    mutating func encode(_ value: Int) throws { box.content = .value(try EncodingCore.number(value, path: codingPath)) }
    mutating func encode(_ value: Int8) throws { box.content = .value(.number(Double(value))) }
    mutating func encode(_ value: Int16) throws { box.content = .value(.number(Double(value))) }
    mutating func encode(_ value: Int32) throws { box.content = .value(.number(Double(value))) }
    mutating func encode(_ value: Int64) throws { box.content = .value(try EncodingCore.number(value, path: codingPath)) }
    mutating func encode(_ value: UInt) throws { box.content = .value(try EncodingCore.number(value, path: codingPath)) }
    mutating func encode(_ value: UInt8) throws { box.content = .value(.number(Double(value))) }
    mutating func encode(_ value: UInt16) throws { box.content = .value(.number(Double(value))) }
    mutating func encode(_ value: UInt32) throws { box.content = .value(.number(Double(value))) }
    mutating func encode(_ value: UInt64) throws { box.content = .value(try EncodingCore.number(value, path: codingPath)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try EncodingCore(box: box, codingPath: codingPath).encodeValue(value)
    }
}

/// Comparing decimal numbers by their digits, for "does this double hold exactly this
/// decimal?" (`Decimal` values, `--quantity`).
package enum DecimalText {
    /// Whether two decimal literals (optional sign, digits, optional fraction and exponent)
    /// denote the same number: same sign, same significant digits, same magnitude.
    package static func sameNumber(_ a: String, _ b: String) -> Bool {
        guard let left = normalize(a), let right = normalize(b) else { return false }
        return left == right
    }

    /// (negative, significant digits without leading/trailing zeros, decimal exponent of
    /// the first digit), with zero normalized to (false, "", 0).
    static func normalize(_ text: String) -> (Bool, [UInt8], Int)? {
        var bytes = Array(text.utf8)
        var negative = false
        if bytes.first == UInt8(ascii: "-") || bytes.first == UInt8(ascii: "+") {
            negative = bytes.first == UInt8(ascii: "-")
            bytes.removeFirst()
        }
        var exponent = 0
        if let e = bytes.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            guard let value = Int(String(decoding: bytes[(e + 1)...], as: UTF8.self)), value.magnitude < 100_000 else { return nil }
            exponent = value
            bytes.removeSubrange(e...)
        }
        var digits: [UInt8] = []
        var pointPosition: Int?
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                guard pointPosition == nil else { return nil }
                pointPosition = digits.count
            } else if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                digits.append(byte)
            } else {
                return nil
            }
        }
        guard !digits.isEmpty else { return nil }
        var integerDigits = pointPosition ?? digits.count
        while digits.first == UInt8(ascii: "0") {
            digits.removeFirst()
            integerDigits -= 1
        }
        while digits.last == UInt8(ascii: "0") { digits.removeLast() }
        if digits.isEmpty { return (false, [], 0) }
        return (negative, digits, integerDigits + exponent)
    }
}
