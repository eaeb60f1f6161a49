

/// The checks every new event passes before it reaches SQL, each failing with an
/// ``TallyError/invalidInput(field:reason:)`` that names the field.
enum EventValidation {
    /// A validated event with its payload already in canonical form.
    struct Checked {
        let event: NewEvent
        let eventID: String
        let canonicalPayload: [UInt8]
    }

    static func check(_ event: NewEvent, maximumPayloadBytes: Int) throws(TallyError) -> Checked {
        try checkText(event.stream, field: "stream", maximumBytes: 255)
        try checkText(event.kind, field: "kind", maximumBytes: 64)
        let eventID = event.eventID ?? EventID.generate()
        try checkText(eventID, field: "event id", maximumBytes: 128)
        if let currency = event.currency {
            guard currency.utf8.count == 3, currency.utf8.allSatisfy({ (65...90).contains($0) }) else {
                throw TallyError.invalidInput(field: "currency", reason: "'\(TallyError.printable(currency))' is not an ISO 4217 code: use three uppercase letters such as EUR")
            }
        }
        if let amount = event.amount {
            guard event.currency != nil else {
                throw TallyError.invalidInput(field: "amount", reason: "an amount needs a currency: pass currency (e.g. EUR) as well")
            }
            guard amount.magnitude <= LedgerHash.maximumExactInteger.magnitude else {
                throw TallyError.invalidInput(field: "amount", reason: "\(amount) is beyond ±2^53 minor units, which the hash (RFC 8785 numbers) cannot hold exactly")
            }
        }
        if let quantity = event.quantity, !quantity.isFinite {
            throw TallyError.invalidInput(field: "quantity", reason: "\(quantity) is not a finite number")
        }
        if let expected = event.expectedStreamVersion, expected < 0 {
            throw TallyError.invalidInput(field: "expected stream version", reason: "\(expected) is negative; use 0 for a new stream")
        }
        guard case .object = event.payload else {
            throw TallyError.invalidInput(field: "payload", reason: "it must be a JSON object such as {\"sku\": \"A1\"}")
        }
        let payload: [UInt8]
        do {
            payload = try CanonicalJSON.bytes(event.payload)
        } catch {
            throw TallyError.invalidInput(field: "payload", reason: error.description)
        }
        guard payload.count <= maximumPayloadBytes else {
            throw TallyError.invalidInput(field: "payload", reason: "it is \(payload.count) bytes of canonical JSON, over the limit of \(maximumPayloadBytes)")
        }
        return Checked(event: event, eventID: eventID, canonicalPayload: payload)
    }

    /// Non-empty, at most `maximumBytes` of UTF-8, no control characters.
    static func checkText(_ text: String, field: String, maximumBytes: Int) throws(TallyError) {
        let count = text.utf8.count
        guard count > 0 else {
            throw TallyError.invalidInput(field: field, reason: "it is empty")
        }
        guard count <= maximumBytes else {
            throw TallyError.invalidInput(field: field, reason: "it is \(count) bytes long; the limit is \(maximumBytes)")
        }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw TallyError.invalidInput(field: field, reason: "'\(TallyError.printable(text))' contains control characters")
        }
    }
}
