/// Something events can be appended to: the store's ``Ledger`` (durable, group-committed)
/// and a write transaction's ``TransactionLedger`` (commits with the transaction). Both get
/// the keyword form of `append` from here.
public protocol EventAppending {
    /// Appends one event and returns it as stored.
    @discardableResult
    func append(_ event: NewEvent) throws(TallyError) -> LedgerEvent
}

extension EventAppending {
    /// Appends one event and returns it as stored.
    ///
    /// - Parameters:
    ///   - stream: The stream, e.g. `invoice/INV-1001`.
    ///   - kind: What happened, e.g. `charge`.
    ///   - amount: Minor units (cents for EUR); requires `currency`.
    ///   - currency: ISO 4217, three uppercase letters.
    ///   - quantity: A finite non-monetary quantity.
    ///   - payload: Details, a JSON object (at most 1 MiB of canonical JSON by default).
    ///   - eventID: Idempotency key; resending the same event with it returns the stored
    ///     event and writes nothing. Random when nil.
    ///   - expectedStreamVersion: Fail with ``TallyError/conflict(subject:expected:actual:)``
    ///     unless the stream is at this version (0 = new stream).
    @discardableResult
    public func append(stream: String, kind: String, amount: Int64? = nil, currency: String? = nil,
                       quantity: Double? = nil, payload: JSONValue = [:], eventID: String? = nil,
                       expectedStreamVersion: Int64? = nil) throws(TallyError) -> LedgerEvent {
        try append(NewEvent(stream: stream, kind: kind, amount: amount, currency: currency, quantity: quantity,
                            payload: payload, eventID: eventID, expectedStreamVersion: expectedStreamVersion))
    }
}
