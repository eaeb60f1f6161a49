import ArgumentParser
import Tally

/// `tally balance`: balances per stream and currency, summed from verified events.
struct BalanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "balance",
        abstract: "Show the balance of every stream (or one) per currency; every event is verified as it is summed.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Only this stream.")
    var stream: String?

    /// One balance in `--json`. `balance` (minor units) is a string because a sum can exceed
    /// 2^53, beyond which JSON readers (JavaScript's among them) round numbers silently;
    /// `balance_decimal` is the same in the currency's units ("12.50"). (Not `amount`: in
    /// `log --json` that field is an event's minor units, a number, and a field keeps one
    /// type across commands.)
    struct Row: Encodable {
        let stream: String
        let currency: String
        let balance: String
        let balanceDecimal: String
        let events: Int64
        let lastSeq: Int64

        enum CodingKeys: String, CodingKey {
            case stream, currency, balance, events
            case balanceDecimal = "balance_decimal", lastSeq = "last_seq"
        }
    }

    func run() throws {
        let store = try global.openStoreForReading()
        var cursor = store.ledger.balances(stream: stream)
        var rows: [Row] = []
        while let balance = try cursor.next() {
            rows.append(Row(stream: balance.stream, currency: balance.currency, balance: String(balance.balance),
                            balanceDecimal: Money.format(minorUnits: balance.balance, currency: balance.currency),
                            events: balance.events, lastSeq: balance.lastSeq))
        }
        if global.json {
            try Console.out.json(["balances": rows])
        } else if !global.quiet {
            if rows.isEmpty {
                try Console.out.line(stream.map { "no amounts in stream \(Output.printable($0))" } ?? "no amounts in the ledger")
                return
            }
            for line in Output.table(["STREAM", "CURRENCY", "BALANCE", "EVENTS", "LAST SEQ"],
                                     rows.map { [Output.printable($0.stream), $0.currency, $0.balanceDecimal, "\($0.events)", "\($0.lastSeq)"] }) {
                try Console.out.line(line)
            }
        }
    }
}
