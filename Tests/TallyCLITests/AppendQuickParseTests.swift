import Foundation
import Testing
@testable import tally

/// `tally append`'s quick parser (no reflection) must never read a command line differently
/// from ArgumentParser: it may only decline.
@Suite("tally append's quick parser reads a command line exactly as ArgumentParser does, or declines it")
struct AppendQuickParseTests {
    /// Every field a parsed `append` carries, for comparing two parses.
    private struct Fields: Equatable, CustomStringConvertible {
        var db: String?, json: Bool, quiet: Bool, logLevel: String
        var stream: String, kind: String, amount: String?, minorUnits: Int64?, currency: String?
        var quantity: String?, payload: String?, eventID: String?, expectVersion: Int64?

        init(_ command: AppendCommand) {
            self.init(global: command.global, request: command.request)
        }

        init(_ quick: AppendCommand.Quick) {
            self.init(global: quick.global, request: quick.request)
        }

        private init(global: some CommonOptions, request: AppendRequest) {
            db = global.db
            json = global.json
            quiet = global.quiet
            logLevel = global.logLevel.rawValue
            stream = request.stream
            kind = request.kind
            amount = request.amount
            minorUnits = request.minorUnits
            currency = request.currency
            quantity = request.quantity
            payload = request.payload
            eventID = request.eventId
            expectVersion = request.expectVersion
        }

        var description: String {
            "db \(db ?? "-") json \(json) quiet \(quiet) log \(logLevel) stream \(stream) kind \(kind) amount \(amount ?? "-") "
                + "minor \(minorUnits.map(String.init) ?? "-") currency \(currency ?? "-") quantity \(quantity ?? "-") "
                + "payload \(payload ?? "-") event \(eventID ?? "-") expect \(expectVersion.map(String.init) ?? "-")"
        }
    }

    /// ArgumentParser's reading of `arguments`, as `tally` runs it; nil when it refuses them.
    private func argumentParser(_ arguments: [String]) -> AppendCommand? {
        (try? TallyCommand.parseAsRoot(TallyCommand.globalOptionsLast(arguments).arguments)) as? AppendCommand
    }

    @Test("the command lines scripts write are read without ArgumentParser")
    func plainLines() throws {
        let lines: [[String]] = [
            ["--db", "t.db", "append", "--stream", "s", "--kind", "k"],
            ["append", "--stream", "invoice/INV-1", "--kind", "charge", "--amount", "-12.50", "--currency", "EUR", "--json"],
            ["append", "--kind", "k", "--stream", "s", "--minor-units", "-1250", "--currency", "JPY", "--db", "x.db", "--quiet"],
            ["--json", "append", "--stream", "s", "--kind", "k", "--payload", #"{"sku":"A1"}"#, "--event-id", "e-1", "--expect-version", "0"],
            ["append", "--stream", "s", "--kind", "k", "--quantity", "-3.5"],
        ]
        for line in lines {
            let quick = try #require(AppendCommand.quickParse(line), "declined: \(line)")
            let full = try #require(argumentParser(line), "ArgumentParser refused: \(line)")
            #expect(Fields(quick) == Fields(full), "\(line)")
        }
    }

    @Test("what it does not know it leaves to ArgumentParser")
    func declines() {
        let lines: [[String]] = [
            ["append", "--stream=s", "--kind", "k"],                    // = spelling
            ["append", "--stream", "s", "--kind", "k", "--help"],       // help
            ["--log-level", "debug", "append", "--stream", "s", "--kind", "k"],
            ["append", "--stream", "s", "--stream", "t", "--kind", "k"],  // twice
            ["append", "--stream", "s"],                                // --kind missing
            ["append", "--stream", "s", "--kind"],                      // value missing
            ["append", "--stream", "-s", "--kind", "k"],                // dash-led value
            ["append", "--stream", "s", "--kind", "k", "--minor-units", "1e3", "--currency", "EUR"],
            ["append", "--stream", "s", "--kind", "k", "--amount", "1"],  // no currency: validate()
            ["--stream", "s", "append", "--kind", "k"],                 // command option before the command
            ["append", "--stream", "s", "--kind", "k", "--", "x"],
            ["log", "--stream", "s"],
            ["append", "append", "--stream", "s", "--kind", "k"],
        ]
        for line in lines {
            #expect(AppendCommand.quickParse(line) == nil, "\(line)")
        }
    }

    @Test("over 5,000 generated command lines, every one it accepts ArgumentParser reads the same")
    func generated() throws {
        var generator = CLIFuzzTests.Generator(state: 0x7A11_A99E)
        let options = ["--db", "--stream", "--kind", "--currency", "--payload", "--event-id", "--amount", "--quantity",
                       "--minor-units", "--expect-version"]
        let oddOptions = ["--log-level", "--stream=s", "--bogus", "-h", "--", "append", "help", "--version", "--json", "--quiet"]
        let values = ["s", "k", "EUR", "JPY", "12.50", "-12.50", "1.250", "-5", "0", "+3", "007", "invoice/INV-1", "x y",
                      "ünï", "", "append", #"{"a":1}"#, "9223372036854775807", "-9223372036854775808"]
        let oddValues = ["--kind", "-", "1e3", "9223372036854775808", "--db=x", "debug", "@f.json", "-s"]
        func value() -> String { generator.next() % 5 == 0 ? pick(oddValues, &generator) : pick(values, &generator) }
        var accepted = 0, declined = 0
        for _ in 0..<5_000 {
            var line: [String] = ["append", "--stream", value(), "--kind", value()]
            for _ in 0..<Int(generator.next() % 5) {
                let extra: [String] = generator.next() % 5 == 0
                    ? [pick(oddOptions, &generator)]
                    : [pick(options, &generator), value()]
                line.insert(contentsOf: extra, at: Int(generator.next() % UInt64(line.count + 1)))
            }
            if generator.next() % 10 == 0 { line.removeLast() }
            guard let quick = AppendCommand.quickParse(line) else { declined += 1; continue }
            accepted += 1
            let full = try #require(argumentParser(line), "accepted what ArgumentParser refuses: \(line)")
            #expect(Fields(quick) == Fields(full), "\(line)")
        }
        // Both ways well exercised, so the comparison above means something.
        #expect(accepted > 400 && declined > 400, "accepted \(accepted), declined \(declined)")
    }

    private func pick(_ pool: [String], _ generator: inout CLIFuzzTests.Generator) -> String {
        pool[Int(generator.next() % UInt64(pool.count))]
    }
}
