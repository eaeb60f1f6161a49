/// A check of your own that ``Store/reconcile(against:rules:progress:)-443di`` and
/// ``Store/verify(rules:checkpoints:progress:)-9yr21`` run against every state document in the database,
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
    ///   - ledger: The ledger, read inside the same read transaction as `document`, so both
    ///     belong to one consistent state (``Ledger/balances(stream:)``,
    ///     ``Ledger/events(inStream:afterVersion:pageSize:)``, …). Valid only during the call.
    func check(_ document: StateDocument, ledger: Ledger) throws -> [String]
}
