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
            the currency has is an error, never rounded. Resending an event with the same --event-id and \
            content stores nothing and says which seq already holds it. Example:
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

    @Option(parsing: .unconditional, help: "A non-monetary decimal quantity, e.g. 3.5 (hours, units).")
    var quantity: String?

    @Option(help: ArgumentHelp("Details as a JSON object: the JSON itself, @FILE, or - for standard input.", valueName: "json"),
            completion: .file(extensions: ["json"]))
    var payload: String?

    @Option(help: "Idempotency key; resending the same event with it stores nothing new.")
    var eventId: String?

    @Option(parsing: .unconditional, help: "Fail with exit 4 unless the stream is at this version (0 = new stream).")
    var expectVersion: Int64?

    /// The request as plain values.
    var request: AppendRequest {
        AppendRequest(stream: stream, kind: kind, amount: amount, minorUnits: minorUnits, currency: currency,
                      quantity: quantity, payload: payload, eventId: eventId, expectVersion: expectVersion)
    }

    func validate() throws {
        try request.validate()
    }

    func run() throws {
        try request.run(global: global)
    }
}

/// What `tally append` was asked, read by ArgumentParser (``AppendCommand``) or by the quick
/// parser, and what it does.
struct AppendRequest: Equatable {
    var stream: String
    var kind: String
    var amount: String?
    var minorUnits: Int64?
    var currency: String?
    var quantity: String?
    var payload: String?
    var eventId: String?
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
        if let expectVersion, expectVersion < 0 {
            throw ValidationError("--expect-version \(expectVersion) is negative; negative values are not allowed (0 means a new stream)")
        }
    }

    func run(global: some CommonOptions) throws {
        var minor = minorUnits
        if let amount, let currency {
            minor = try Money(parsing: amount, currency: currency).minorUnits
        }
        let quantityValue = try quantity.map(Input.quantity)
        let body = try payload.map { try Input.json($0, field: "payload") } ?? [:]
        let store = try global.openExistingStore()
        let result = try store.ledger.record(NewEvent(
            stream: stream, kind: kind, amount: minor, currency: currency, quantity: quantityValue,
            payload: body, eventID: eventId, expectedStreamVersion: expectVersion))
        let event = result.event
        if global.json {
            guard case var .object(members) = try JSONValue(encoding: event) else { return }
            members["replayed"] = .bool(result.isReplay)
            try Console.out.line(JSONValue.object(members).description)
        } else if !global.quiet {
            let money = event.amount.map { " " + Output.money($0, event.currency) } ?? ""
            let quantity = event.quantity.map { " quantity \(JSONNumberFormatter.string($0))" } ?? ""
            if result.isReplay {
                try Console.out.line("already recorded as seq \(event.seq): \(Output.printable(event.stream)) v\(event.streamVersion) \(Output.printable(event.kind))\(money)\(quantity) (nothing written)")
            } else {
                try Console.out.line("appended seq \(event.seq): \(Output.printable(event.stream)) v\(event.streamVersion) \(Output.printable(event.kind))\(money)\(quantity)")
            }
            try Console.out.line("  event_id \(Output.printable(event.eventID))  hash \(Output.short(event.hash, 16))…")
        }
    }
}
