/// A JSON value, exactly the six kinds RFC 8259 defines.
///
/// State documents and ledger payloads are stored as `JSONValue` rather than as `Codable`
/// types so that Tally can hash them (canonical JSON (RFC 8785)) without knowing the app's types,
/// and so that a document written by one version of an app stays readable by the next.
///
/// ```swift
/// let payload: JSONValue = ["sku": "A1", "n": 2, "tags": ["x", "y"], "note": nil]
/// payload["sku"]?.stringValue   // "A1"
/// ```
///
/// Numbers are `Double` because that is what RFC 8785 (and every JavaScript reader) can
/// represent; Tally's strict parser refuses integers a double cannot hold exactly instead of
/// silently rounding them.
///
/// Equality follows Swift: strings (and object keys) compare by Unicode canonical
/// equivalence, and `0` equals `-0`. Two values that are equal therefore always describe
/// the same data, but their canonical bytes can still differ when their strings use
/// different normalization forms.
public enum JSONValue: Sendable, Hashable {
    /// The literal `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number. Only finite values can be encoded; `.number(.nan)` is constructible but
    /// canonical JSON (RFC 8785) refuses it.
    case number(Double)
    /// A string of Unicode scalars.
    case string(String)
    /// An ordered list of values.
    case array([JSONValue])
    /// Members by name. JSON objects are unordered, and Tally's strict parser rejects duplicate
    /// names, so a dictionary loses nothing.
    case object([String: JSONValue])
}

// MARK: - Literals

extension JSONValue: ExpressibleByNilLiteral {
    /// Creates ``null`` from `nil`, so optional-looking members read naturally in literals.
    public init(nilLiteral: ()) {
        self = .null
    }
}

extension JSONValue: ExpressibleByBooleanLiteral {
    /// Creates a ``bool(_:)`` value from `true` or `false`.
    public init(booleanLiteral value: Bool) {
        self = .bool(value)
    }
}

extension JSONValue: ExpressibleByIntegerLiteral {
    /// Creates a ``number(_:)`` from an integer literal.
    ///
    /// Literals beyond ±2^53 are rounded to the nearest double, as any JSON number is;
    /// write such values as strings.
    public init(integerLiteral value: Int) {
        self = .number(Double(value))
    }
}

extension JSONValue: ExpressibleByFloatLiteral {
    /// Creates a ``number(_:)`` from a floating-point literal.
    public init(floatLiteral value: Double) {
        self = .number(value)
    }
}

extension JSONValue: ExpressibleByStringLiteral {
    /// Creates a ``string(_:)`` from a string literal.
    public init(stringLiteral value: String) {
        self = .string(value)
    }
}

extension JSONValue: ExpressibleByArrayLiteral {
    /// Creates an ``array(_:)`` from an array literal.
    public init(arrayLiteral elements: JSONValue...) {
        self = .array(elements)
    }
}

extension JSONValue: ExpressibleByDictionaryLiteral {
    /// Creates an ``object(_:)`` from a dictionary literal.
    ///
    /// A literal that repeats a key keeps the last value, as assigning the members one by
    /// one would; it does not trap, because a typo in a literal should not crash a server.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

// MARK: - Accessors

extension JSONValue {
    /// The member named `key` when this is an object; `nil` when the member is missing or
    /// this is not an object (a present `null` member is `.null`, not `nil`).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members[key]
    }

    /// The element at `index` when this is an array and the index is in range; otherwise
    /// `nil`, so that probing untrusted documents never traps.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    /// Whether this is ``null``.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The Boolean, when this is ``bool(_:)``.
    public var boolValue: Bool? {
        guard case .bool(let value) = self else { return nil }
        return value
    }

    /// The number, when this is ``number(_:)``.
    public var doubleValue: Double? {
        guard case .number(let value) = self else { return nil }
        return value
    }

    /// The number as an `Int`, when this is a ``number(_:)`` holding an integer that `Int`
    /// represents exactly (no truncation of `2.5`, no clamping of `1e300`).
    public var intValue: Int? {
        guard case .number(let value) = self else { return nil }
        return Int(exactly: value)
    }

    /// The string, when this is ``string(_:)``.
    public var stringValue: String? {
        guard case .string(let value) = self else { return nil }
        return value
    }

    /// The elements, when this is ``array(_:)``.
    public var arrayValue: [JSONValue]? {
        guard case .array(let value) = self else { return nil }
        return value
    }

    /// The members, when this is ``object(_:)``.
    public var objectValue: [String: JSONValue]? {
        guard case .object(let value) = self else { return nil }
        return value
    }
}

// MARK: - Codable

extension JSONValue: Codable {
    /// Decodes whatever plain JSON value the decoder holds, so that `JSONValue` can be a
    /// member of an app's own `Codable` types ("any JSON here").
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Order matters: Bool before Double so `true` never becomes 1, and the containers
        // last because trying them is the most expensive.
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected a JSON value (null, Boolean, number, string, array or object)")
        }
    }

    /// Encodes the plain JSON value (no wrapping enum case names).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Converts an app's `Encodable` value into a `JSONValue` with Tally's own encoder
    /// (never through Foundation's number formatting), so apps can store their own types as
    /// state documents and payloads and the checksum is the same on every platform.
    ///
    /// Integers beyond ±2^53 fail (encode IDs as strings), as do non-finite numbers and
    /// `Decimal`s a double cannot hold digit for digit. `Date` becomes Tally's timestamp text
    /// (`2026-11-23T08:30:20.249Z`), `Data` base64, `URL` its absolute string.
    ///
    /// - Throws: ``TallyError/invalidInput(field:reason:)`` naming the coding path.
    public init(encoding value: some Encodable) throws(TallyError) {
        self = try JSONValueEncoder().encode(value, field: "value")
    }

    /// Converts this value into an app's `Decodable` type, the inverse of
    /// ``init(encoding:)``.
    ///
    /// - Throws: ``TallyError/invalidInput(field:reason:)`` naming the coding path and what
    ///   did not match.
    public func decode<T: Decodable>(_ type: T.Type) throws(TallyError) -> T {
        try JSONValueDecoder().decode(type, from: self, field: "value")
    }

    /// The RFC 8785 (JCS) canonical form: the exact text whose SHA-256 is a state
    /// document's checksum.
    ///
    /// - Throws: ``TallyError/invalidInput(field:reason:)`` for NaN, infinities, or nesting
    ///   deeper than ``maximumDepth``.
    public func canonicalText() throws(TallyError) -> String {
        do {
            return try CanonicalJSON.encode(self)
        } catch {
            throw TallyError.invalidInput(field: "value", reason: error.description)
        }
    }

    /// The deepest nesting of arrays and objects Tally accepts in a state document or a
    /// ledger payload: `[[1]]` has depth 2. Enforced wherever a value is accepted (put,
    /// append, import), with room below the parser's limit of 512 for every wrapper Tally
    /// writes around a document, so anything accepted can be exported, imported, mirrored
    /// and printed.
    public static let maximumDepth = 256
}
