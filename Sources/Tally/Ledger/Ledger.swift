/// The ledger: append-only, hash-chained events, grouped in streams.
///
/// `store.ledger` and `tx.ledger` are the same type: from the store, each append is its
/// own durable transaction, group-committed with concurrent callers, and each read a read
/// transaction on a reader connection; from a ``Transaction``, appends and reads join that
/// transaction.
///
/// Every event read is verified: its hash is recomputed from its content, and an event
/// changed behind Tally's back throws ``TallyError/corruptDatabase(path:detail:)`` instead
/// of being returned. Reads return ``PagedCursor``s that page through the table instead of
/// loading it.
public struct Ledger: Sendable {
    let context: AccessContext

    /// The result of `record(_:)`: the event as stored, and whether it was already there.
    public struct AppendResult: Sendable, Hashable {
        /// The event as stored.
        public let event: LedgerEvent
        /// True when an event with the same id and content was already in the ledger (an
        /// idempotent retry): nothing was written, and ``event`` is the original.
        public let isReplay: Bool
    }

    /// The last event's position and hash.
    public struct Head: Sendable, Hashable, Codable {
        /// The last event's seq; 0 for an empty ledger.
        public let seq: Int64
        /// The last event's hash; 64 zeros for an empty ledger.
        public let hash: String
    }

    // MARK: Appending

    /// Appends one event and returns it as stored, once it is durable (from the store:
    /// group-committed with concurrent callers; from a transaction: when it commits).
    ///
    /// Resending an event with the same ``NewEvent/eventID`` and content returns the stored
    /// event and writes nothing.
    ///
    /// - Throws: ``TallyError/invalidInput(field:reason:)``,
    ///   ``TallyError/duplicateEvent(eventID:existingSeq:)``,
    ///   ``TallyError/conflict(subject:expected:actual:)``.
    @discardableResult
    public func append(_ event: NewEvent) throws(TallyError) -> LedgerEvent {
        try record(event).event
    }

    /// Appends one event (as `append(_:)`) and says whether it was an idempotent replay.
    @discardableResult
    public func record(_ event: NewEvent) throws(TallyError) -> AppendResult {
        guard let first = try appendChecked([check(event, index: nil)]).first else {
            throw TallyError.internal("an append returned no event")
        }
        return AppendResult(event: first.event, isReplay: first.replayed)
    }

    /// Appends one event and returns it as stored (see `append(_:)`).
    ///
    /// - Parameters:
    ///   - stream: The stream, e.g. `invoice/INV-1001`.
    ///   - kind: What happened, e.g. `charge`.
    ///   - amount: Minor units (cents for EUR); requires `currency`.
    ///   - currency: ISO 4217, three uppercase letters.
    ///   - quantity: A finite non-monetary quantity.
    ///   - payload: Details, a JSON object (at most 1 MiB of canonical JSON by default).
    ///   - eventID: Idempotency key; resending the same event with it returns the stored
    ///     event and writes nothing. A time-ordered UUID (version 7) when nil.
    ///   - expectedStreamVersion: Fail with ``TallyError/conflict(subject:expected:actual:)``
    ///     unless the stream is at this version (0 = new stream).
    @discardableResult
    public func append(stream: String, kind: String, amount: Int64? = nil, currency: String? = nil,
                       quantity: Double? = nil, payload: JSONValue = [:], eventID: String? = nil,
                       expectedStreamVersion: Int64? = nil) throws(TallyError) -> LedgerEvent {
        try append(NewEvent(stream: stream, kind: kind, amount: amount, currency: currency, quantity: quantity,
                            payload: payload, eventID: eventID, expectedStreamVersion: expectedStreamVersion))
    }

    /// Appends one event whose payload is an app's own `Encodable` type, encoded with
    /// Tally's encoder (see ``JSONValue/init(encoding:)``); it must encode to a JSON object.
    @discardableResult
    public func append(stream: String, kind: String, amount: Int64? = nil, currency: String? = nil,
                       quantity: Double? = nil, payload: some Encodable, eventID: String? = nil,
                       expectedStreamVersion: Int64? = nil) throws(TallyError) -> LedgerEvent {
        try append(NewEvent(stream: stream, kind: kind, amount: amount, currency: currency, quantity: quantity,
                            payload: try JSONValueEncoder().encode(payload, field: "payload"), eventID: eventID,
                            expectedStreamVersion: expectedStreamVersion))
    }

    /// Appends events in order, all or nothing: if one is invalid or conflicts, none is
    /// stored. Use it for bulk loads (one transaction, one fsync for the whole batch).
    /// Inside `Store.write` the call runs in a savepoint, so a failed call leaves
    /// nothing behind even when the closure catches its error and goes on.
    @discardableResult
    public func append(contentsOf events: [NewEvent]) throws(TallyError) -> [LedgerEvent] {
        var checked: [EventValidation.Checked] = []
        checked.reserveCapacity(events.count)
        for (index, event) in events.enumerated() {
            checked.append(try check(event, index: events.count > 1 ? index : nil))
        }
        if checked.isEmpty { return [] }
        return try appendChecked(checked).map(\.event)
    }

    func check(_ event: NewEvent, index: Int?) throws(TallyError) -> EventValidation.Checked {
        do {
            return try EventValidation.check(event, maximumPayloadBytes: context.store.configuration.maximumPayloadBytes)
        } catch let TallyError.invalidInput(field, reason) where index != nil {
            throw TallyError.invalidInput(field: "event \((index ?? 0) + 1) \(field)", reason: reason)
        }
    }

    /// Appends validated events through the context: group commit from the store, the
    /// caller's transaction otherwise.
    func appendChecked(_ checked: [EventValidation.Checked]) throws(TallyError) -> GroupCommitter.Output {
        switch context {
        case let .store(store):
            guard store.writer != nil else { throw store.readOnlyError() }
            return try store.groupCommitter.submit(Self.work(checked), runBatch: { batch in Self.runBatch(batch, on: store) })
        case let .transaction(transaction):
            let db = try transaction.usableConnection(writing: true)
            // A savepoint, so that a failed call leaves nothing in the caller's transaction
            // (all or nothing, as from the store) even when the caller goes on after the error.
            do throws(TallyError) {
                let results = try db.savepoint { () throws(TallyError) -> GroupCommitter.Output in
                    try LedgerTable.appendAll(checked, on: db, cursor: &transaction.appendCursor)
                }
                transaction.appendedEvents += results.count(where: { !$0.replayed })
                return results
            } catch {
                transaction.appendCursor.forgetAfterRollback()
                throw error
            }
        }
    }

    static func work(_ checked: [EventValidation.Checked]) -> GroupCommitter.Work {
        { (db: Connection, cursor: inout LedgerTable.AppendCursor) throws(TallyError) -> GroupCommitter.Output in
            try LedgerTable.appendAll(checked, on: db, cursor: &cursor)
        }
    }

    /// Runs one group-commit batch: one transaction, a savepoint per request when the batch
    /// may hold several, so one bad request fails alone; requests gathered while it runs
    /// join the same transaction.
    static func runBatch(_ batch: GroupCommitter.Batch, on store: Store) {
        var appended = 0
        do {
            try store.withWriter { (db: Connection) throws(TallyError) -> Void in
                var cursor = store.appendCursor(on: db)
                try db.transaction(.immediate) { () throws(TallyError) -> Void in
                    if batch.requests.count == 1, !batch.mayGrow {
                        let lone = batch.requests[0]
                        let result = Result { () throws(TallyError) -> GroupCommitter.Output in try lone.work(db, &cursor) }
                        lone.result = result
                        // A failed lone request rolls back the whole (empty) transaction.
                        if case let .failure(error) = result { throw error }
                        return
                    }
                    var next = batch.requests
                    while !next.isEmpty {
                        for request in next { run(request, on: db, cursor: &cursor) }
                        next = batch.more()
                    }
                }
                // The batch's new events, in seq order, for in-process followers (once one waits).
                let keep = store.commits.keepsRecentEvents
                var committed: [LedgerEvent] = []
                for request in batch.requests {
                    guard case let .success(results) = request.result else { continue }
                    for result in results where !result.replayed {
                        appended += 1
                        if keep { committed.append(result.event) }
                    }
                }
                store.rememberCommit(of: &cursor, on: db)
                let (count, head, events) = (appended, cursor.tip?.seq, keep ? committed : nil)
                batch.afterCallersWoken = { store.afterCommit(touchedKeys: [], appendedEvents: count, headSeq: head, events: events) }
            }
        } catch {
            // The commit failed (or never started): nothing in this batch is durable.
            for request in batch.requests {
                if case .success = request.result ?? .success([]) { request.result = .failure(error) }
            }
        }
    }

    /// Runs one request of a batch in its own savepoint, setting its result.
    private static func run(_ request: GroupCommitter.Request, on db: Connection, cursor: inout LedgerTable.AppendCursor) {
        // SQLite may abort the whole transaction on some errors (disk full); then later
        // requests must not run in autocommit mode.
        guard db.isInTransaction else {
            request.result = .failure(.invalidInput(field: "append", reason: "the batch transaction was aborted by an earlier error in it; retry"))
            return
        }
        request.result = Result { () throws(TallyError) -> GroupCommitter.Output in
            try db.savepoint { () throws(TallyError) -> GroupCommitter.Output in try request.work(db, &cursor) }
        }
        // What a rolled-back request read or wrote must not carry over: the next request
        // reads the tip, its streams' versions and the tree from the database again. (A copy
        // of the cursor taken before each request would copy the table of stream versions at
        // the request's first append, however many streams the writer remembers.)
        if case .failure = request.result { cursor.forgetAfterRollback() }
    }

    // MARK: Reading

    /// The last event's seq and hash: (0, 64 zeros) for an empty ledger.
    public func head() throws(TallyError) -> Head {
        try context.read { (db: Connection) throws(TallyError) -> Head in
            let head = try LedgerTable.head(on: db)
            return Head(seq: head.seq, hash: head.hash)
        }
    }

    /// The event at `seq`, or nil.
    public func event(seq: Int64) throws(TallyError) -> LedgerEvent? {
        try context.read { (db: Connection) throws(TallyError) -> LedgerEvent? in try LedgerTable.event(seq: seq, on: db) }
    }

    /// The event with this idempotency key, or nil.
    public func event(id: String) throws(TallyError) -> LedgerEvent? {
        try context.read { (db: Connection) throws(TallyError) -> LedgerEvent? in try LedgerTable.event(id: id, on: db) }
    }

    /// Events with `from ≤ seq ≤ through` in seq order, a page at a time.
    public func events(from: Int64 = 1, through: Int64 = .max, pageSize: Int = 512) -> PagedCursor<LedgerEvent> {
        let context = self.context
        let size = max(1, pageSize)
        return PagedCursor(pageSize: size, queues: context.queues) { (last: LedgerEvent?) throws(TallyError) -> [LedgerEvent] in
            try context.read { (db: Connection) throws(TallyError) -> [LedgerEvent] in
                try LedgerTable.events(from: last.map { $0.seq + 1 } ?? from, through: through, limit: size, on: db)
            }
        }
    }

    /// The events of one stream in stream-version order, starting after `afterVersion`.
    public func events(inStream stream: String, afterVersion: Int64 = 0, pageSize: Int = 512) -> PagedCursor<LedgerEvent> {
        let context = self.context
        let size = max(1, pageSize)
        return PagedCursor(pageSize: size, queues: context.queues) { (last: LedgerEvent?) throws(TallyError) -> [LedgerEvent] in
            try context.read { (db: Connection) throws(TallyError) -> [LedgerEvent] in
                try LedgerTable.events(inStream: stream, afterVersion: last?.streamVersion ?? afterVersion, limit: size, on: db)
            }
        }
    }

    /// The `count` most recent events, newest first.
    public func latest(_ count: Int) throws(TallyError) -> [LedgerEvent] {
        try context.read { (db: Connection) throws(TallyError) -> [LedgerEvent] in try LedgerTable.latest(max(0, count), on: db) }
    }

    /// The current version of a stream (0 when it has no events).
    public func streamVersion(_ stream: String) throws(TallyError) -> Int64 {
        try context.read { (db: Connection) throws(TallyError) -> Int64 in try LedgerTable.streamVersion(stream, on: db) }
    }

    /// Balances per stream and currency (events with an amount only), in stream order;
    /// only `stream`'s when given. Computed from the events themselves, each one verified,
    /// so a balance never includes an amount changed behind Tally's back.
    ///
    /// - Throws: ``TallyError/corruptDatabase(path:detail:)`` for an altered event, and
    ///   ``TallyError/invalidInput(field:reason:)`` when a sum would overflow 64 bits.
    public func balances(stream: String? = nil) -> PagedCursor<Balance> {
        let context = self.context
        // One stream per page (its balances in currency order), so memory holds one stream's
        // events' sums at a time; a page is never short until the end.
        return PagedCursor(pageSize: 1, queues: context.queues) { (last: Balance?) throws(TallyError) -> [Balance] in
            try context.read { (db: Connection) throws(TallyError) -> [Balance] in
                var after = last?.stream
                while let next = try LedgerTable.nextStream(after: after, only: stream, on: db) {
                    let balances = try LedgerTable.balances(ofStream: next, on: db)
                    if !balances.isEmpty { return balances }
                    after = next
                }
                return []
            }
        }
    }

    /// Recomputes every hash in the chain and reports the first break, if any.
    public func verifyChain() throws(TallyError) -> ChainReport {
        try context.read { (db: Connection) throws(TallyError) -> ChainReport in try LedgerTable.verifyChain(on: db) }
    }
}
