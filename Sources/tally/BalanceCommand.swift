import ArgumentParser
import Tally

/// `tally balance`: balances per stream and currency.
struct BalanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "balance",
        abstract: "Show the balance of every stream (or one) per currency.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Only this stream.")
    var stream: String?

    struct Row: Encodable {
        let stream: String
        let currency: String
        /// Minor units, exact.
        let balance: Int64
        /// The same as a decimal string in the currency's units.
        let amount: String
        let events: Int64
        let lastSeq: Int64

        enum CodingKeys: String, CodingKey {
            case stream, currency, balance, amount, events
            case lastSeq = "last_seq"
        }
    }

    func run() throws {
        let store = try global.openStoreForReading()
        var cursor = store.ledger.balances(stream: stream)
        var rows: [Row] = []
        while let balance = try cursor.next() {
            rows.append(Row(stream: balance.stream, currency: balance.currency, balance: balance.balance,
                            amount: MoneyAmount.format(minorUnits: balance.balance, currency: balance.currency),
                            events: balance.events, lastSeq: balance.lastSeq))
        }
        if global.json {
            try Output.json(["balances": rows])
        } else if !global.quiet {
            if rows.isEmpty {
                print(stream.map { "no amounts in stream \($0)" } ?? "no amounts in the ledger")
                return
            }
            Output.table(["STREAM", "CURRENCY", "BALANCE", "EVENTS", "LAST SEQ"],
                         rows.map { [$0.stream, $0.currency, $0.amount, "\($0.events)", "\($0.lastSeq)"] })
        }
    }
}
