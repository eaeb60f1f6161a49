import Foundation

/// The ledger of a ``Store``: append-only, hash-chained events, grouped in streams.
///
/// Appends made here from many threads at once are group-committed: batched into one
/// durable transaction, each caller returning once the commit holding its event is on disk.
/// Reads return cursors that page through the table instead of loading it.
public struct Ledger: Sendable, EventAppending {
    let store: Store

    // MARK: Appending

    /// Appends one event and returns it as stored, once it is durable (group-committed with
    /// concurrent callers).
    ///
    /// - Throws: ``TallyError/invalidInput(field:reason:)``,
    ///   ``TallyError/duplicateEvent(eventID:existingSeq:)``, ``TallyError/conflict(subject:expected:actual:)``.
    @discardableResult
    public func append(_ event: NewEvent) throws(TallyError) -> LedgerEvent {
        let stored = try append(contentsOf: [event])
        guard let first = stored.first else {
            throw TallyError.invalidInput(field: "append", reason: "no event was stored; please report this bug")
        }
        return first
    }

    /// Appends events in order, all or nothing: if one is invalid or conflicts, none is
    /// stored. Use it for bulk loads (one transaction, one fsync for the whole batch).
    @discardableResult
    public func append(contentsOf events: [NewEvent]) throws(TallyError) -> [LedgerEvent] {
        let limit = store.configuration.maximumPayloadBytes
        var checked: [EventValidation.Checked] = []
        checked.reserveCapacity(events.count)
        for (index, event) in events.enumerated() {
            do {
                checked.append(try EventValidation.check(event, maximumPayloadBytes: limit))
            } catch let TallyError.invalidInput(field, reason) where events.count > 1 {
                throw TallyError.invalidInput(field: "event \(index + 1) \(field)", reason: reason)
            }
        }
        if checked.isEmpty { return [] }
        return try store.mapErrors {
            try store.groupCommitter.submit({ db in
                var cursor = LedgerTable.AppendCursor()
                return try checked.map { try LedgerTable.append($0, on: db, cursor: &cursor) }
            }, runBatch: runBatch)
        }
    }

    /// Runs one group-commit batch: one transaction, a savepoint per request.
    private func runBatch(_ batch: [GroupCommitter.Request]) {
        do {
            try store.withWriter { db in
                try db.transaction(.immediate) {
                    if batch.count == 1 {
                        batch[0].result = Result { try batch[0].work(db) }
                        // A failed lone request rolls back the whole (empty) transaction.
                        if case let .failure(error) = batch[0].result { throw error }
                        return
                    }
                    for request in batch {
                        // SQLite may abort the whole transaction on some errors (disk full);
                        // then later requests must not run in autocommit mode.
                        guard db.isInTransaction else {
                            request.result = .failure(TallyError.invalidInput(field: "append", reason: "the batch transaction was aborted by an earlier error; retry"))
                            continue
                        }
                        request.result = Result { try db.savepoint { try request.work(db) } }
                    }
                }
            }
        } catch {
            // The commit failed (or never started): nothing in this batch is durable.
            for request in batch {
                if case .success = request.result ?? .success([]) { request.result = .failure(error) }
            }
        }
    }

    // MARK: Reading

    /// The last event's seq and hash: (0, 64 zeros) for an empty ledger.
    public func head() throws(TallyError) -> (seq: Int64, hash: String) {
        try store.readTyped { try LedgerTable.head(on: $0) }
    }

    /// The event at `seq`, or nil.
    public func event(seq: Int64) throws(TallyError) -> LedgerEvent? {
        try store.readTyped { try LedgerTable.event(seq: seq, on: $0) }
    }

    /// The event with this idempotency key, or nil.
    public func event(id: String) throws(TallyError) -> LedgerEvent? {
        try store.readTyped { try LedgerTable.event(id: id, on: $0) }
    }

    /// Events with `from ≤ seq ≤ through` in seq order, a page at a time.
    public func events(from: Int64 = 1, through: Int64 = .max, pageSize: Int = 512) -> PagedCursor<LedgerEvent> {
        let store = self.store
        let size = max(1, pageSize)
        return PagedCursor(pageSize: size) { (last: LedgerEvent?) throws(TallyError) in
            try store.readTyped { db in
                let statement = try db.cachedStatement("SELECT \(LedgerTable.columns) FROM ledger WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?")
                defer { statement.reset() }
                try statement.bind(last.map { $0.seq + 1 } ?? from, at: 1)
                try statement.bind(through, at: 2)
                try statement.bind(Int64(size), at: 3)
                return try Self.collect(statement, path: db.path)
            }
        }
    }

    /// The events of one stream in stream-version order, starting after `afterVersion`.
    public func events(inStream stream: String, afterVersion: Int64 = 0, pageSize: Int = 512) -> PagedCursor<LedgerEvent> {
        let store = self.store
        let size = max(1, pageSize)
        return PagedCursor(pageSize: size) { (last: LedgerEvent?) throws(TallyError) in
            try store.readTyped { db in
                let statement = try db.cachedStatement("SELECT \(LedgerTable.columns) FROM ledger WHERE stream = ? AND stream_version > ? ORDER BY stream_version LIMIT ?")
                defer { statement.reset() }
                try statement.bind(stream, at: 1)
                try statement.bind(last?.streamVersion ?? afterVersion, at: 2)
                try statement.bind(Int64(size), at: 3)
                return try Self.collect(statement, path: db.path)
            }
        }
    }

    /// The `count` most recent events, newest first.
    public func latest(_ count: Int) throws(TallyError) -> [LedgerEvent] {
        try store.readTyped { db in
            let statement = try db.cachedStatement("SELECT \(LedgerTable.columns) FROM ledger ORDER BY seq DESC LIMIT ?")
            defer { statement.reset() }
            try statement.bind(Int64(max(0, count)), at: 1)
            return try Self.collect(statement, path: db.path)
        }
    }

    /// The current version of a stream (0 when it has no events).
    public func streamVersion(_ stream: String) throws(TallyError) -> Int64 {
        try store.readTyped { try LedgerTable.streamVersion(stream, on: $0) }
    }

    /// Balances per stream and currency (events with an amount only), in stream order;
    /// only `stream`'s when given.
    public func balances(stream: String? = nil, pageSize: Int = 256) -> PagedCursor<Balance> {
        let store = self.store
        let size = max(1, pageSize)
        return PagedCursor(pageSize: size) { (last: Balance?) throws(TallyError) in
            try store.readTyped { db in
                // Keyset on (stream, currency) so each page starts where the last one ended.
                let statement = try db.cachedStatement("""
                    SELECT stream, currency, sum(amount), count(*), max(seq) FROM ledger
                     WHERE amount IS NOT NULL AND (?1 IS NULL OR stream = ?1)
                       AND (stream, currency) > (?2, ?3)
                     GROUP BY stream, currency ORDER BY stream, currency LIMIT ?4
                    """)
                defer { statement.reset() }
                try statement.bind(stream, at: 1)
                try statement.bind(last?.stream ?? "", at: 2)
                try statement.bind(last?.currency ?? "", at: 3)
                try statement.bind(Int64(size), at: 4)
                var balances: [Balance] = []
                while try statement.step() {
                    balances.append(Balance(stream: statement.string(0), currency: statement.string(1),
                                            balance: statement.int64(2), events: statement.int64(3), lastSeq: statement.int64(4)))
                }
                return balances
            }
        }
    }

    /// Recomputes every hash in the chain and reports the first break, if any.
    public func verifyChain() throws(TallyError) -> ChainReport {
        try store.readTyped { try LedgerTable.verifyChain(on: $0) }
    }

    private static func collect(_ statement: Statement, path: String) throws -> [LedgerEvent] {
        var events: [LedgerEvent] = []
        while try statement.step() {
            events.append(try LedgerTable.event(from: statement, path: path))
        }
        return events
    }
}

/// The ledger inside a ``Store/write(_:)`` transaction: appends join that transaction and
/// commit (or roll back) with everything else in it.
public struct TransactionLedger: EventAppending {
    let transaction: Transaction

    /// Appends one event inside the transaction; it commits (or rolls back) with the rest.
    @discardableResult
    public func append(_ event: NewEvent) throws(TallyError) -> LedgerEvent {
        let checked = try EventValidation.check(event, maximumPayloadBytes: transaction.store.configuration.maximumPayloadBytes)
        return try transaction.store.mapErrors { try LedgerTable.append(checked, on: transaction.database) }
    }

    /// The event at `seq` as this transaction sees it.
    public func event(seq: Int64) throws(TallyError) -> LedgerEvent? {
        try transaction.store.mapErrors { try LedgerTable.event(seq: seq, on: transaction.database) }
    }

    /// The current version of a stream as this transaction sees it.
    public func streamVersion(_ stream: String) throws(TallyError) -> Int64 {
        try transaction.store.mapErrors { try LedgerTable.streamVersion(stream, on: transaction.database) }
    }
}
