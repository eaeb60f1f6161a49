/// One write transaction, handed to the closure of ``Store/write(_:)``.
///
/// Everything done through ``ledger`` and ``state`` commits together or not at all. Valid
/// only inside that closure.
public final class Transaction {
    /// The writer connection, for SQL of your own inside the same transaction.
    public let database: Connection
    let store: Store

    init(connection: Connection, store: Store) {
        self.database = connection
        self.store = store
    }
}
