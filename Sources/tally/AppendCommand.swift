import ArgumentParser
import Tally

/// `tally append`: appends one event to the ledger.
struct AppendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append one event to the ledger.",
        discussion: """
            Amounts are decimals in the currency's units and are stored exactly in minor units by its \
            ISO 4217 exponent (12.50 EUR → 1250, 500 JPY → 500, 1.250 BHD → 1250); more decimals than \
            the currency has is an error, never rounded. Example:
              tally append --stream invoice/INV-1001 --kind charge --amount 1250.00 --currency EUR --payload '{"sku":"A1"}'
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "The stream, e.g. invoice/INV-1001.")
    var stream: String

    @Option(help: "What happened, e.g. charge, payment, escalated.")
    var kind: String

    // .unconditional so that negative amounts (-12.50) are not taken for options.
    @Option(parsing: .unconditional, help: "A decimal amount in the currency's units, e.g. 12.50 or -12.50 (needs --currency).")
    var amount: String?

    @Option(parsing: .unconditional, help: "The amount in minor units, e.g. 1250 for 12.50 EUR (instead of --amount).")
    var minorUnits: Int64?

    @Option(help: "ISO 4217 currency code, e.g. EUR.")
    var currency: String?

    @Option(parsing: .unconditional, help: "A non-monetary quantity, e.g. 3.5 hours.")
    var quantity: Double?

    @Option(help: "Details as a JSON object: the JSON itself, @FILE, or - for standard input.")
    var payload: String?

    @Option(help: "Idempotency key; resending the same event with it stores nothing new.")
    var eventId: String?

    @Option(help: "Fail with exit 4 unless the stream is at this version (0 = new stream).")
    var expectVersion: Int64?

    func validate() throws {
        if amount != nil && minorUnits != nil {
            throw ValidationError("give either --amount or --minor-units, not both")
        }
        if (amount != nil || minorUnits != nil) && currency == nil {
            throw ValidationError("an amount needs --currency (e.g. --currency EUR)")
        }
        if currency != nil && amount == nil && minorUnits == nil {
            throw ValidationError("--currency needs --amount or --minor-units")
        }
    }

    func run() throws {
        var minor = minorUnits
        if let amount, let currency {
            minor = try MoneyAmount(parsing: amount, currency: currency).minorUnits
        }
        let body = try payload.map { try Input.json($0, field: "payload") } ?? [:]
        let store = try global.openExistingStore()
        let event = try store.ledger.append(stream: stream, kind: kind, amount: minor, currency: currency, quantity: quantity,
                                            payload: body, eventID: eventId, expectedStreamVersion: expectVersion)
        if global.json {
            try Output.json(event)
        } else if !global.quiet {
            let money = event.amount.map { " " + Output.money($0, event.currency) } ?? ""
            let quantity = event.quantity.map { " quantity \($0)" } ?? ""
            print("appended seq \(event.seq): \(event.stream) v\(event.streamVersion) \(event.kind)\(money)\(quantity)")
            print("  event_id \(event.eventID)  hash \(Output.short(event.hash, 16))…")
        }
    }
}
