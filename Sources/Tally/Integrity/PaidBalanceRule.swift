/// A ``DomainRule`` for collections: a document marked paid must have nothing left to pay,
/// i.e. a zero balance in every currency of its ledger stream.
///
/// Which documents: those whose key starts with ``keyPrefix`` and whose status is
/// ``paidStatus``. Which stream: the body's `"stream"` member when it is a string,
/// otherwise ``streamPrefix`` followed by the key's last segment — so the document
/// `invoices/INV-1001` is checked against the stream `invoice/INV-1001`, the layout the
/// demo and the README use.
///
/// ```swift
/// let report = try store.verify(rules: [PaidBalanceRule()])
/// ```
public struct PaidBalanceRule: DomainRule {
    /// Prefixes every finding: `paid-balance-zero` unless you choose another.
    public var name: String
    /// The status that means "paid".
    public var paidStatus: String
    /// Only documents under this key prefix are checked ("" for all).
    public var keyPrefix: String
    /// Put before the key's last segment to name the stream, when the body has no `"stream"`.
    public var streamPrefix: String

    /// Creates the rule; the defaults check `invoices/…` documents with status `paid`
    /// against the streams `invoice/…`.
    public init(name: String = "paid-balance-zero", paidStatus: String = "paid", keyPrefix: String = "invoices/",
                streamPrefix: String = "invoice/") {
        self.name = name
        self.paidStatus = paidStatus
        self.keyPrefix = keyPrefix
        self.streamPrefix = streamPrefix
    }

    /// The stream whose balance `document` must settle.
    public func stream(for document: StateDocument) -> String {
        if case let .string(stream)? = document.body["stream"] { return stream }
        let lastSegment = document.key.split(separator: "/").last.map(String.init) ?? document.key
        return streamPrefix + lastSegment
    }

    /// One problem per currency in which a paid document's stream does not balance to zero.
    public func check(_ document: StateDocument, ledger: Ledger) throws -> [String] {
        guard document.status == paidStatus, document.key.hasPrefix(keyPrefix) else { return [] }
        let stream = stream(for: document)
        var balances = ledger.balances(stream: stream)
        return try balances.collect().filter { $0.balance != 0 }.map { balance in
            "'\(document.key)' is \(paidStatus) but its stream \(stream) has a balance of \(balance.balance) "
                + "\(balance.currency) (minor units, last changed by seq \(balance.lastSeq)); "
                + "record the missing payment or refund, or correct the status"
        }
    }
}
