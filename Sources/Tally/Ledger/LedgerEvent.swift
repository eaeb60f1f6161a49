

/// One stored ledger event: an immutable, hash-chained record of something that happened
/// to a stream (a charge, a payment, an escalation).
///
/// Its JSON form (`Codable`) uses the column names of the schema and is the `event`
/// record of a snapshot: `seq`, `event_id`, `stream`, `stream_version`, `kind`, `amount`,
/// `currency`, `quantity`, `payload`, `recorded_at`, `prev_hash`, `hash`.
public struct LedgerEvent: Codable, Sendable, Hashable {
    /// Position in the ledger: 1, 2, 3, … without gaps, never reused.
    public let seq: Int64
    /// Idempotency key: resending an event with the same id returns the stored one.
    public let eventID: String
    /// The stream the event belongs to, e.g. `invoice/INV-1001`.
    public let stream: String
    /// Position within its stream: 1, 2, 3, … (optimistic concurrency).
    public let streamVersion: Int64
    /// What happened: `charge`, `payment`, `escalated`, …
    public let kind: String
    /// Amount in minor units of `currency` (cents for EUR), signed; nil when not monetary.
    public let amount: Int64?
    /// ISO 4217 code, three uppercase letters; set whenever `amount` is.
    public let currency: String?
    /// A non-monetary quantity (units used, hours), if any.
    public let quantity: Double?
    /// Free-form details, a JSON object.
    public let payload: JSONValue
    /// When it was recorded: RFC 3339 UTC with milliseconds.
    public let recordedAt: String
    /// The previous event's ``hash`` (64 zeros for the first event).
    public let prevHash: String
    /// `hex(SHA-256(prevHash + "\n" + JCS(event)))`: see <doc:HashesAndChecksums>.
    public let hash: String

    /// Creates an event value (normally you get them from ``Ledger``).
    public init(seq: Int64, eventID: String, stream: String, streamVersion: Int64, kind: String,
                amount: Int64?, currency: String?, quantity: Double?, payload: JSONValue,
                recordedAt: String, prevHash: String, hash: String) {
        self.seq = seq
        self.eventID = eventID
        self.stream = stream
        self.streamVersion = streamVersion
        self.kind = kind
        self.amount = amount
        self.currency = currency
        self.quantity = quantity
        self.payload = payload
        self.recordedAt = recordedAt
        self.prevHash = prevHash
        self.hash = hash
    }

    enum CodingKeys: String, CodingKey {
        case seq, stream, kind, amount, currency, quantity, payload, hash
        case eventID = "event_id"
        case streamVersion = "stream_version"
        case recordedAt = "recorded_at"
        case prevHash = "prev_hash"
    }

    /// Encodes every member, writing `null` for absent optionals as the snapshot format does.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(seq, forKey: .seq)
        try container.encode(eventID, forKey: .eventID)
        try container.encode(stream, forKey: .stream)
        try container.encode(streamVersion, forKey: .streamVersion)
        try container.encode(kind, forKey: .kind)
        try container.encode(amount, forKey: .amount)
        try container.encode(currency, forKey: .currency)
        try container.encode(quantity, forKey: .quantity)
        try container.encode(payload, forKey: .payload)
        try container.encode(recordedAt, forKey: .recordedAt)
        try container.encode(prevHash, forKey: .prevHash)
        try container.encode(hash, forKey: .hash)
    }

    /// The payload as an app's own `Decodable` type (see ``JSONValue/decode(_:)``).
    ///
    /// - Throws: ``TallyError/invalidInput(field:reason:)`` naming where it does not match.
    public func payload<T: Decodable>(as type: T.Type) throws(TallyError) -> T {
        try JSONValueDecoder().decode(type, from: payload, field: "payload of ledger seq \(seq)")
    }

    /// The hash this event's content and `prevHash` should have; equal to ``hash`` for an
    /// intact event.
    public func computedHash() throws(TallyError) -> String {
        try LedgerHash.hash(LedgerHash.Fields(self), payload: payload)
    }
}

/// An event to append: what the caller decides. The ledger assigns `seq`,
/// `stream_version`, `recorded_at` and the hashes.
public struct NewEvent: Sendable, Hashable {
    /// The stream, e.g. `invoice/INV-1001` (1…255 bytes).
    public var stream: String
    /// What happened, e.g. `charge` (1…64 bytes).
    public var kind: String
    /// Minor units of `currency`; requires `currency`.
    public var amount: Int64?
    /// ISO 4217 code, three uppercase letters.
    public var currency: String?
    /// A finite non-monetary quantity.
    public var quantity: Double?
    /// Details; must be a JSON object.
    public var payload: JSONValue
    /// Idempotency key (1…128 bytes); a time-ordered UUID (version 7) when nil.
    public var eventID: String?
    /// When set, the append fails with ``TallyError/conflict(subject:expected:actual:)``
    /// unless the stream is at exactly this version (0 = the stream must be new).
    public var expectedStreamVersion: Int64?

    /// Describes an event to append.
    public init(stream: String, kind: String, amount: Int64? = nil, currency: String? = nil,
                quantity: Double? = nil, payload: JSONValue = [:], eventID: String? = nil,
                expectedStreamVersion: Int64? = nil) {
        self.stream = stream
        self.kind = kind
        self.amount = amount
        self.currency = currency
        self.quantity = quantity
        self.payload = payload
        self.eventID = eventID
        self.expectedStreamVersion = expectedStreamVersion
    }
}

/// The balance of one stream in one currency.
public struct Balance: Codable, Sendable, Hashable {
    /// The stream.
    public let stream: String
    /// The currency.
    public let currency: String
    /// Sum of the amounts, in minor units.
    public let balance: Int64
    /// Number of events with an amount in this currency.
    public let events: Int64
    /// The last seq that changed it.
    public let lastSeq: Int64

    enum CodingKeys: String, CodingKey {
        case stream, currency, balance, events
        case lastSeq = "last_seq"
    }
}
