// The `async` twins of the store's blocking calls. Each runs the blocking work on the
// store's own threads (see `StoreQueues`), so a server task never blocks a thread of the
// cooperative pool on a lock, a busy database or an fsync.

extension Store {
    /// ``write(_:)`` for `async` callers: the transaction runs on the store's writer thread.
    public func write<T: Sendable>(_ body: @escaping @Sendable (Transaction) throws -> T) async throws -> T {
        let box = await withCheckedContinuation { (continuation: CheckedContinuation<AnyResultBox<T>, Never>) in
            queues.writer.async {
                continuation.resume(returning: AnyResultBox(Result { try self.write(body) }))
            }
        }
        return try box.result.get()
    }

    /// ``read(_:)`` for `async` callers: the transaction runs on a reader thread.
    public func read<T: Sendable>(_ body: @escaping @Sendable (Transaction) throws -> T) async throws -> T {
        await queues.readerGate.enter()
        defer { queues.readerGate.leave() }
        let box = await withCheckedContinuation { (continuation: CheckedContinuation<AnyResultBox<T>, Never>) in
            queues.reader.async {
                continuation.resume(returning: AnyResultBox(Result { try self.read(body) }))
            }
        }
        return try box.result.get()
    }
}

/// A result with any error, carried across a continuation.
struct AnyResultBox<T>: @unchecked Sendable {
    let result: Result<T, any Error>
    init(_ result: Result<T, any Error>) { self.result = result }
}

extension Ledger {
    /// ``append(_:)`` for `async` callers: group-committed with every concurrent caller,
    /// blocking or not, without blocking a thread of its own.
    @discardableResult
    public func append(_ event: NewEvent) async throws(TallyError) -> LedgerEvent {
        try await record(event).event
    }

    /// ``record(_:)`` for `async` callers.
    @discardableResult
    public func record(_ event: NewEvent) async throws(TallyError) -> AppendResult {
        guard let first = try await appendCheckedAsync([check(event, index: nil)]).first else {
            throw TallyError.internal("an append returned no event")
        }
        return AppendResult(event: first.event, isReplay: first.replayed)
    }

    /// ``append(stream:kind:amount:currency:quantity:payload:eventID:expectedStreamVersion:)-(_,_,_,_,_,JSONValue,_,_)``
    /// for `async` callers.
    @discardableResult
    public func append(stream: String, kind: String, amount: Int64? = nil, currency: String? = nil,
                       quantity: Double? = nil, payload: JSONValue = [:], eventID: String? = nil,
                       expectedStreamVersion: Int64? = nil) async throws(TallyError) -> LedgerEvent {
        try await append(NewEvent(stream: stream, kind: kind, amount: amount, currency: currency, quantity: quantity,
                                  payload: payload, eventID: eventID, expectedStreamVersion: expectedStreamVersion))
    }

    /// ``append(contentsOf:)`` for `async` callers.
    @discardableResult
    public func append(contentsOf events: [NewEvent]) async throws(TallyError) -> [LedgerEvent] {
        var checked: [EventValidation.Checked] = []
        for (index, event) in events.enumerated() {
            checked.append(try check(event, index: events.count > 1 ? index : nil))
        }
        if checked.isEmpty { return [] }
        return try await appendCheckedAsync(checked).map(\.event)
    }

    private func appendCheckedAsync(_ checked: [EventValidation.Checked]) async throws(TallyError) -> GroupCommitter.Output {
        switch context {
        case let .store(store):
            guard store.writer != nil else { throw store.readOnlyError() }
            return try await store.groupCommitter.submit(Self.work(checked), leaderQueue: store.queues.writer,
                                                         runBatch: { batch in Self.runBatch(batch, on: store) })
        case .transaction:
            // Inside a transaction the caller already holds the writer; append on its thread.
            return try appendChecked(checked)
        }
    }
}

extension StateStore {
    /// ``put(_:body:status:expectedVersion:causedBy:)-(_,JSONValue,_,_,_)`` for `async` callers.
    @discardableResult
    public func put(_ key: String, body: JSONValue, status: StateStore.StatusUpdate = .keep, expectedVersion: Int64? = nil,
                    causedBy: LedgerEvent? = nil) async throws(TallyError) -> StateDocument {
        try await onWriter { () throws(TallyError) -> StateDocument in
            try put(key, body: body, status: status, expectedVersion: expectedVersion, causedBy: causedBy)
        }
    }

    /// ``save(_:body:status:expectedVersion:causedBy:)`` for `async` callers.
    @discardableResult
    public func save(_ key: String, body: JSONValue, status: StateStore.StatusUpdate = .keep, expectedVersion: Int64? = nil,
                     causedBy: LedgerEvent? = nil) async throws(TallyError) -> SaveResult {
        try await onWriter { () throws(TallyError) -> SaveResult in
            try save(key, body: body, status: status, expectedVersion: expectedVersion, causedBy: causedBy)
        }
    }

    /// ``update(_:body:status:expectedVersion:causedBy:)`` for `async` callers.
    @discardableResult
    public func update(_ key: String, body: JSONValue? = nil, status: StateStore.StatusUpdate = .keep, expectedVersion: Int64? = nil,
                       causedBy: LedgerEvent? = nil) async throws(TallyError) -> StateDocument {
        try await onWriter { () throws(TallyError) -> StateDocument in
            try update(key, body: body, status: status, expectedVersion: expectedVersion, causedBy: causedBy)
        }
    }

    /// ``delete(_:expectedVersion:)`` for `async` callers.
    @discardableResult
    public func delete(_ key: String, expectedVersion: Int64? = nil) async throws(TallyError) -> Int64 {
        try await onWriter { () throws(TallyError) -> Int64 in try delete(key, expectedVersion: expectedVersion) }
    }

    /// ``get(_:)`` for `async` callers.
    public func get(_ key: String) async throws(TallyError) -> StateDocument? {
        let this = self
        return try await onReader { () throws(TallyError) -> StateDocument? in try this.get(key) }
    }

    private func onWriter<T>(_ work: @escaping @Sendable () throws(TallyError) -> T) async throws(TallyError) -> T {
        guard let queues = context.queues else { return try work() }
        return try await queues.write(work)
    }

    private func onReader<T>(_ work: @escaping @Sendable () throws(TallyError) -> T) async throws(TallyError) -> T {
        guard let queues = context.queues else { return try work() }
        return try await queues.read(work)
    }
}
