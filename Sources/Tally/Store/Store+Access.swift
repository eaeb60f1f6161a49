extension Store {
    /// Runs `body` in one write transaction (`BEGIN IMMEDIATE`): everything it does through
    /// `tx.ledger` and `tx.state` commits together when it returns, and nothing does when it
    /// throws. Errors thrown by `body` come back unchanged.
    ///
    /// The call returns once the commit is durable (with the default
    /// ``Configuration/Synchronous/full``). Do not let `tx` escape the closure.
    public func write<T>(_ body: (Transaction) throws -> T) throws -> T {
        guard writer != nil else { throw readOnlyError() }
        var result: T?
        var callerError: (any Error)?
        do throws(TallyError) {
            try writeTransaction { (tx: Transaction) throws(TallyError) -> Void in
                do {
                    result = try body(tx)
                } catch let error as TallyError {
                    throw error
                } catch {
                    // The caller's own error rolls the transaction back and comes back unchanged.
                    callerError = error
                    throw TallyError.internal(Self.callerErrorMarker)
                }
            }
        } catch {
            if let callerError { throw callerError }
            throw error
        }
        guard let result else { throw TallyError.internal("Store.write finished without a result") }
        return result
    }

    /// Runs `body` in one read transaction on a reader connection: every read through
    /// `tx.ledger` and `tx.state` sees the same committed state, even while writers go on.
    /// Writes inside it throw. Errors thrown by `body` come back unchanged.
    public func read<T>(_ body: (Transaction) throws -> T) throws -> T {
        try readers.withConnection { (db: Connection) throws -> T in
            try db.transaction(.deferred, throwing: { () throws -> T in
                let transaction = Transaction(connection: db, store: self, isReadOnly: true)
                defer { transaction.end() }
                return try body(transaction)
            })
        }
    }

    /// The library's own write transactions: `body` runs inside `BEGIN IMMEDIATE` on the
    /// writer; after the commit (still holding the writer, so files are written in commit
    /// order) touched state keys are written through to the mirror and followers are told.
    func writeTransaction<T>(_ body: (Transaction) throws(TallyError) -> T) throws(TallyError) -> T {
        try withWriter { (db: Connection) throws(TallyError) -> T in
            let transaction = Transaction(connection: db, store: self, isReadOnly: false)
            defer { transaction.end() }
            let result = try db.transaction(.immediate) { () throws(TallyError) -> T in try body(transaction) }
            rememberCommit(of: &transaction.appendCursor, on: db)
            afterCommit(touchedKeys: transaction.touchedKeys, appendedEvents: transaction.appendedEvents,
                        headSeq: transaction.appendCursor.tip?.seq)
            return result
        }
    }

    /// Marks the rollback of a transaction whose closure threw an error of the caller's.
    private static let callerErrorMarker = "the caller's closure threw"

    /// What follows every durable commit: the mirror's write-through and the in-process
    /// change notification (never before the commit, so a follower never sees an event that
    /// could still roll back). `headSeq` is the ledger's last seq after the commit, when
    /// known; `events` the events it appended, in seq order, when known (in-process
    /// followers take them from memory).
    func afterCommit(touchedKeys: Set<String>, appendedEvents: Int, headSeq: Int64?, events: [LedgerEvent]? = nil) {
        if !touchedKeys.isEmpty { writeThrough(touchedKeys) }
        if appendedEvents > 0 { commits.notify(headSeq: headSeq, committed: events) }
    }
}

