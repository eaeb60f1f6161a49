/// One write transaction, handed to the closure of ``Store/write(_:)``.
///
/// Everything done through ``ledger`` and ``state`` commits together or not at all. Valid
/// only inside that closure.
public final class Transaction {
    /// The writer connection, for SQL of your own inside the same transaction.
    public let database: Connection
    let store: Store
    /// State keys written in this transaction, for the mirror's write-through.
    var touchedKeys: Set<String> = []

    /// The ledger, inside this transaction.
    public var ledger: TransactionLedger { TransactionLedger(transaction: self) }
    /// The state documents, inside this transaction.
    public var state: TransactionState { TransactionState(transaction: self) }

    init(connection: Connection, store: Store) {
        self.database = connection
        self.store = store
    }
}
