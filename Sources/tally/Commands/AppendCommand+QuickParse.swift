import ArgumentParser

/// `tally append` without swift-argument-parser's reflection, for scripts that call it in a
/// loop.
///
/// ArgumentParser builds every command's argument sets by reflection and scans the runtime's
/// protocol conformances on each run: 60 % of the CPU time `tally append` spends in `main`
/// (perf). This parser is one-sided, like snapshot import's line scanner: it accepts only
/// the plain spellings below and returns nil for anything else (a `--name=value`, `--help`,
/// `--log-level`, `--`, an option given twice, a missing or dash-led value, a number Int64
/// does not read), which then takes ArgumentParser's path with its usual errors and help.
/// A test checks over thousands of generated command lines that whatever this accepts,
/// ArgumentParser parses to the same values.
///
/// Accepted: `append` once, with `--db PATH`, `--json` and `--quiet` before or after it,
/// and after it `--stream`, `--kind`, `--currency`, `--payload`, `--event-id` (a value
/// that does not start with `-`), `--amount`, `--quantity` (any value, as ArgumentParser's
/// `.unconditional` takes it), `--minor-units`, `--expect-version` (an Int64).
extension AppendCommand {
    /// A command line the quick parser read: the request and the global options, as plain
    /// values (no ArgumentParser type is built on this path).
    struct Quick {
        var request: AppendRequest
        var global: PlainGlobalOptions

        func run() throws {
            try request.run(global: global)
        }
    }

    static func quickParse(_ arguments: [String]) -> Quick? {
        var db: String?, json = false, quiet = false, sawCommand = false
        var stream: String?, kind: String?, currency: String?, payload: String?, eventID: String?
        var amount: String?, quantity: String?, minorUnits: String?, expectVersion: String?
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            switch argument {
            case "append" where !sawCommand: sawCommand = true
            case "--json" where !json: json = true
            case "--quiet" where !quiet: quiet = true
            default:
                // An option with a value: which variable it fills, and whether its value may
                // start with `-` (declared `.unconditional`, for negative numbers).
                func take(_ slot: inout String?, dashed: Bool = false) -> Bool {
                    guard slot == nil, index < arguments.count else { return false }
                    let value = arguments[index]
                    guard dashed || !value.hasPrefix("-") else { return false }
                    slot = value
                    index += 1
                    return true
                }
                let taken: Bool
                switch argument {
                case "--db": taken = take(&db)
                case "--stream" where sawCommand: taken = take(&stream)
                case "--kind" where sawCommand: taken = take(&kind)
                case "--currency" where sawCommand: taken = take(&currency)
                case "--payload" where sawCommand: taken = take(&payload)
                case "--event-id" where sawCommand: taken = take(&eventID)
                case "--amount" where sawCommand: taken = take(&amount, dashed: true)
                case "--quantity" where sawCommand: taken = take(&quantity, dashed: true)
                case "--minor-units" where sawCommand: taken = take(&minorUnits, dashed: true)
                case "--expect-version" where sawCommand: taken = take(&expectVersion, dashed: true)
                default: taken = false
                }
                guard taken else { return nil }
            }
        }
        guard sawCommand, let stream, let kind else { return nil }
        let minor = minorUnits.map { Int64($0) }, expected = expectVersion.map { Int64($0) }
        if minor == .some(nil) || expected == .some(nil) { return nil }
        let request = AppendRequest(stream: stream, kind: kind, amount: amount, minorUnits: minor ?? nil, currency: currency,
                                    quantity: quantity, payload: payload, eventId: eventID, expectVersion: expected ?? nil)
        // ArgumentParser's own checks run on its path, so it words any refusal.
        guard (try? request.validate()) != nil else { return nil }
        return Quick(request: request, global: PlainGlobalOptions(db: db, json: json, quiet: quiet))
    }
}
