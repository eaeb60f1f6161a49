import Crypto


/// The ledger's hash formulas, in one place (the HashesAndChecksums article of the documentation):
///
///     hash = hex(SHA-256(prev_hash + "\n" + JCS(E)))
///     Merkle leaf = SHA-256(0x00 || JCS(E))
///
/// where `E` is the object `{"seq", "event_id", "stream", "stream_version", "kind",
/// "amount", "currency", "quantity", "payload", "recorded_at"}` with null members included
/// and `payload` as a JSON value. Append, verify, export and import all call this.
///
/// `JCS(E)` is laid out by hand: its members always have the same names, so their RFC 8785
/// order is fixed (amount, currency, event_id, kind, payload, quantity, recorded_at, seq,
/// stream, stream_version), and the payload is spliced in as its canonical text — which is
/// exactly how Tally stores it. This keeps hashing off the JSON tree on every hot path.
enum LedgerHash {
    /// Largest integer magnitude a JCS number (an IEEE-754 double) holds exactly: 2^53.
    static let maximumExactInteger: Int64 = 1 << 53

    /// What the hashes cover besides the payload: the previous event's hash the chain
    /// hash extends, and the members of `E` that every reader of a row or a record has at
    /// hand as separate values.
    struct Fields {
        var prevHash: String
        var seq: Int64
        var eventID: String
        var stream: String
        var streamVersion: Int64
        var kind: String
        var amount: Int64?
        var currency: String?
        var quantity: Double?
        var recordedAt: String
    }

    /// The chain hash of an event whose payload is given as a JSON value.
    static func hash(_ fields: Fields, payload: JSONValue) throws(TallyError) -> String {
        let canonicalPayload: [UInt8]
        do {
            canonicalPayload = try CanonicalJSON.bytes(payload)
        } catch {
            throw TallyError.invalidInput(field: "payload of event \(fields.seq)", reason: "\(error)")
        }
        return canonicalPayload.withUnsafeBufferPointer { hash(fields, canonicalPayload: $0) }
    }

    /// The chain hash of an event whose payload is already canonical JSON text (as stored).
    static func hash(_ fields: Fields, canonicalPayload: UnsafeBufferPointer<UInt8>) -> String {
        withInput(fields, canonicalPayload: canonicalPayload) { input in
            Digest.hex(SHA256.hash(data: UnsafeRawBufferPointer(input)))
        }
    }

    /// The chain hash and the Merkle leaf hash of an event, from one layout of its bytes:
    /// the leaf is `SHA-256(0x00 || JCS(E))`, the chain hash covers `prev_hash + "\n"` too.
    static func hashes(_ fields: Fields, canonicalPayload: UnsafeBufferPointer<UInt8>) -> (chain: String, leaf: Hash32) {
        withInput(fields, canonicalPayload: canonicalPayload) { input in
            let bytes = UnsafeRawBufferPointer(input)
            let chain = Digest.hex(SHA256.hash(data: bytes))
            let leaf = MerkleHash.leaf(UnsafeRawBufferPointer(rebasing: bytes[(fields.prevHash.utf8.count + 1)...]))
            return (chain, leaf)
        }
    }

    /// The Merkle leaf hash of an event given as a value (for proofs checked without the
    /// database).
    static func leaf(of event: LedgerEvent) throws(TallyError) -> Hash32 {
        let canonicalPayload: [UInt8]
        do {
            canonicalPayload = try CanonicalJSON.bytes(event.payload)
        } catch {
            throw TallyError.invalidInput(field: "payload of event \(event.seq)", reason: "\(error)")
        }
        var fields = Fields(event)
        fields.prevHash = ""
        return canonicalPayload.withUnsafeBufferPointer { hashes(fields, canonicalPayload: $0).leaf }
    }

    /// Calls `body` with `prev_hash + "\n" + JCS(E)`, laid out by hand (see the type's
    /// comment) in stack space: this runs for every event appended, verified or imported.
    private static func withInput<Result>(
        _ fields: Fields, canonicalPayload: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Result
    ) -> Result {
        ByteBuffer.with(scratchCapacity: 1_024) { out in
            var prevHash = fields.prevHash
            prevHash.withUTF8 { out.append($0) }
            out.append(UInt8(ascii: "\n"))
            out.append("{\"amount\":")
            if let amount = fields.amount { appendInteger(amount, to: &out) } else { out.append("null") }
            out.append(",\"currency\":")
            if let currency = fields.currency { out.appendQuoted(currency) } else { out.append("null") }
            out.append(",\"event_id\":")
            out.appendQuoted(fields.eventID)
            out.append(",\"kind\":")
            out.appendQuoted(fields.kind)
            out.append(",\"payload\":")
            out.append(canonicalPayload)
            out.append(",\"quantity\":")
            if let quantity = fields.quantity, quantity.isFinite { JSONNumberFormatter.append(quantity, to: &out) } else { out.append("null") }
            out.append(",\"recorded_at\":")
            out.appendQuoted(fields.recordedAt)
            out.append(",\"seq\":")
            appendInteger(fields.seq, to: &out)
            out.append(",\"stream\":")
            out.appendQuoted(fields.stream)
            out.append(",\"stream_version\":")
            appendInteger(fields.streamVersion, to: &out)
            out.append(UInt8(ascii: "}"))
            return body(out.bytes)
        }
    }

    /// An integer as JCS writes it (exact for |value| ≤ 2^53, which validation ensures).
    static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        ByteBuffer.append(to: &out, scratchCapacity: 24) { appendInteger(value, to: &$0) }
    }

    /// An integer as JCS writes it, into a ``ByteBuffer``.
    static func appendInteger(_ value: Int64, to out: inout ByteBuffer) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        out.appendDecimal(value.magnitude)
    }
}

extension LedgerHash.Fields {
    /// The fields of an event as it was stored.
    init(_ event: LedgerEvent) {
        self.init(prevHash: event.prevHash, seq: event.seq, eventID: event.eventID, stream: event.stream,
                  streamVersion: event.streamVersion, kind: event.kind, amount: event.amount,
                  currency: event.currency, quantity: event.quantity, recordedAt: event.recordedAt)
    }
}

extension LedgerEvent {
    /// The event these fields describe, with its payload and the hash computed over both.
    init(_ fields: consuming LedgerHash.Fields, payload: JSONValue, hash: String) {
        self.init(seq: fields.seq, eventID: fields.eventID, stream: fields.stream, streamVersion: fields.streamVersion,
                  kind: fields.kind, amount: fields.amount, currency: fields.currency, quantity: fields.quantity,
                  payload: payload, recordedAt: fields.recordedAt, prevHash: fields.prevHash, hash: hash)
    }
}
