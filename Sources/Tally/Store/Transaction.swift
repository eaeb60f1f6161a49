/// One transaction, handed to the closure of `Store.write(_:)` or `Store.read(_:)`.
///
/// Inside `Store.write(_:)` everything done through ``ledger`` and ``state`` commits
/// together or not at all. Inside `Store.read(_:)` every read sees one consistent state of
/// the database, however many queries it takes, and writes throw.
///
/// A transaction is valid only inside its closure and on the closure's thread: using one
/// after the closure returned throws ``TallyError/invalidInput(field:reason:)``.
public final class Transaction: @unchecked Sendable {
    // @unchecked: a transaction is confined to the closure that received it (checked at
    // every use through `isActive`); it is Sendable only so that `Ledger` and `StateStore`,
    // which may wrap one, can be.
    let connection: Connection
    let store: Store
    /// True for the transactions of `Store.read(_:)`.
    public let isReadOnly: Bool
    private(set) var isActive = true
    /// State keys written in this transaction, for the mirror's write-through.
    var touchedKeys: Set<String> = []
    /// Events appended in this transaction, for the commit notification.
    var appendedEvents = 0
    /// What appends in this transaction already know of the chain tip and stream versions.
    var appendCursor: LedgerTable.AppendCursor

    init(connection: Connection, store: Store, isReadOnly: Bool) {
        self.connection = connection
        self.store = store
        self.isReadOnly = isReadOnly
        self.appendCursor = isReadOnly ? LedgerTable.AppendCursor()
            : store.appendCursor(on: connection)
    }

    /// The ledger, inside this transaction.
    public var ledger: Ledger { Ledger(context: .transaction(self)) }
    /// The state documents, inside this transaction.
    public var state: StateStore { StateStore(context: .transaction(self)) }

    /// The connection, when the transaction may still be used (and may write, if `writing`).
    func usableConnection(writing: Bool) throws(TallyError) -> Connection {
        guard isActive else {
            throw TallyError.invalidInput(field: "transaction", reason: "it was used after its closure returned; use the transaction only inside Store.write or Store.read")
        }
        if writing && isReadOnly {
            throw TallyError.invalidInput(field: "transaction", reason: "it is read-only (from Store.read); write inside Store.write instead")
        }
        return connection
    }

    func end() {
        isActive = false
    }
}

/// Where a ``Ledger`` or a ``StateStore`` runs its SQL: the store itself (each call its own
/// transaction: group commit for appends, a reader for reads) or a transaction the caller
/// holds. The one access path of both types.
enum AccessContext: @unchecked Sendable {
    // @unchecked: see `Transaction`.
    case store(Store)
    case transaction(Transaction)

    var store: Store {
        switch self {
        case let .store(store): return store
        case let .transaction(transaction): return transaction.store
        }
    }

    /// The threads async reads hop to: the store's, or none inside a transaction (whose
    /// connection belongs to the closure's thread).
    var queues: StoreQueues? {
        if case let .store(store) = self { return store.queues }
        return nil
    }

    /// Runs `body` for reading: in a read transaction on a reader, or on the caller's
    /// transaction.
    func read<T>(_ body: (Connection) throws(TallyError) -> T) throws(TallyError) -> T {
        switch self {
        case let .store(store):
            return try store.readTransaction(body)
        case let .transaction(transaction):
            return try body(transaction.usableConnection(writing: false))
        }
    }

    /// Runs `body` for writing: in its own write transaction (committed, written through to
    /// the mirror and announced to followers when `body` returns), or on the caller's.
    func write<T>(_ body: (Transaction) throws(TallyError) -> T) throws(TallyError) -> T {
        switch self {
        case let .store(store):
            return try store.writeTransaction(body)
        case let .transaction(transaction):
            _ = try transaction.usableConnection(writing: true)
            return try body(transaction)
        }
    }
}
