/// A check of your own that ``Store/reconcile(against:rules:progress:)`` and
/// ``Store/verify(rules:progress:)`` run against every state document in the database,
/// e.g. "a paid invoice has a zero balance" (see ``PaidBalanceRule``).
///
/// Each problem becomes a ``Finding`` of kind ``Finding/Kind/rule`` whose detail starts
/// with ``name``. A rule that throws is reported the same way (as "could not check"), so
/// one faulty rule never hides the rest of the report.
public protocol DomainRule: Sendable {
    /// A short name that prefixes the rule's findings, e.g. `paid-balance-zero`.
    var name: String { get }

    /// Checks one document and returns its problems as sentences (empty when it is fine).
    ///
    /// - Parameters:
    ///   - document: The document as the database has it, checksum-verified.
    ///   - ledger: Read access to the ledger in the same read transaction as `document`,
    ///     so both belong to one consistent state. Valid only during the call.
    func check(_ document: StateDocument, ledger: DomainRuleLedger) throws -> [String]
}

/// Read access to the ledger for a ``DomainRule``, inside the read transaction the checker
/// runs in: what a rule sees is consistent with the document it checks, even while other
/// threads and processes write. Valid only during ``DomainRule/check(_:ledger:)``.
public struct DomainRuleLedger {
    let db: Connection

    init(db: Connection) {
        self.db = db
    }

    /// The sum of the amounts in `stream` in `currency` (0 when there are none).
    ///
    /// - Throws: ``TallyError`` when the ledger cannot be read.
    public func balance(stream: String, currency: String) throws(TallyError) -> Int64 {
        try translating {
            let statement = try db.cachedStatement(
                "SELECT coalesce(sum(amount), 0) FROM ledger WHERE stream = ? AND currency = ? AND amount IS NOT NULL")
            defer { statement.reset() }
            try statement.bind(stream, at: 1)
            try statement.bind(currency, at: 2)
            _ = try statement.step()
            return statement.int64(0)
        }
    }

    /// The balances of `stream`, one per currency, in currency order.
    ///
    /// - Throws: ``TallyError`` when the ledger cannot be read.
    public func balances(stream: String) throws(TallyError) -> [Balance] {
        try translating {
            let statement = try db.cachedStatement("""
                SELECT stream, currency, sum(amount), count(*), max(seq) FROM ledger
                 WHERE stream = ? AND amount IS NOT NULL GROUP BY currency ORDER BY currency
                """)
            defer { statement.reset() }
            try statement.bind(stream, at: 1)
            var balances: [Balance] = []
            while try statement.step() {
                balances.append(Balance(stream: statement.string(0), currency: statement.string(1),
                                        balance: statement.int64(2), events: statement.int64(3), lastSeq: statement.int64(4)))
            }
            return balances
        }
    }

    /// Every event of `stream`, in stream order. Loads the whole stream: fine for one
    /// invoice or account, not for a stream of millions of events.
    ///
    /// - Throws: ``TallyError`` when the ledger cannot be read or an event is damaged.
    public func events(stream: String) throws(TallyError) -> [LedgerEvent] {
        try translating {
            let statement = try db.cachedStatement("SELECT \(LedgerTable.columns) FROM ledger WHERE stream = ? ORDER BY stream_version")
            defer { statement.reset() }
            try statement.bind(stream, at: 1)
            var events: [LedgerEvent] = []
            while try statement.step() {
                events.append(try LedgerTable.event(from: statement, path: db.path))
            }
            return events
        }
    }

    private func translating<T>(_ body: () throws -> T) throws(TallyError) -> T {
        do {
            return try body()
        } catch let error as SQLiteError {
            throw TallyError(error, path: db.path)
        } catch let error as TallyError {
            throw error
        } catch {
            throw TallyError.invalidInput(field: "ledger read", reason: String(describing: error))
        }
    }
}

/// The ledger handle wraps a connection that belongs to one thread for one call.
@available(*, unavailable)
extension DomainRuleLedger: Sendable {}
