import Foundation
import Testing

/// Seeded random `put` and `append` arguments through the real binary: every run ends with
/// a documented exit code and, when it fails, one line on stderr — never a crash.
@Suite("CLI: fuzzed keys and append arguments", .serialized)
struct CLIFuzzTests {
    static var cases: Int { ProcessInfo.processInfo.environment["TALLY_STRESS"] == "1" ? 1_000 : 150 }

    /// SplitMix64, so a failing case replays from its seed.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    private func check(_ result: CLI.Result, _ arguments: [String], allowed: Set<Int32>) {
        #expect(allowed.contains(result.status), "\(arguments): \(result)")
        if result.status != 0 {
            #expect(result.errorLines.count == 1, "\(arguments): \(result)")
        }
    }

    @Test("random keys and JSON through `tally put`")
    func put() throws {
        let scratch = Scratch()
        try initDatabase(scratch)
        var generator = Generator(state: 424_242)
        let keyAlphabet = Array("ab01._-/ ..//\u{7F}é😀\\:*")
        let bodies = ["{}", "{\"a\":1}", "[1,2]", "\"text\"", "{\"a\":1,\"a\":2}", "{bad", "", "{\"n\":1e400}", "null", "{\"x\":9007199254740993}"]
        for _ in 0..<Self.cases {
            let key = String((0..<Int.random(in: 0...10, using: &generator)).map { _ in keyAlphabet.randomElement(using: &generator)! })
            let body = bodies.randomElement(using: &generator)!
            var arguments = ["put", key, body]
            if Bool.random(using: &generator) { arguments += ["--expect-version", String(Int.random(in: -1...2, using: &generator))] }
            if Int.random(in: 0..<4, using: &generator) == 0 { arguments += ["--status", ["paid", "", "a b\n"].randomElement(using: &generator)!] }
            check(try CLI.run(arguments, database: scratch.database), arguments, allowed: [0, 2, 4])
        }
    }

    @Test("random amounts, currencies and payloads through `tally append`")
    func append() throws {
        let scratch = Scratch()
        try initDatabase(scratch)
        var generator = Generator(state: 737_373)
        let amounts = ["12.50", "12.345", "-0.01", "1e3", "", "abc", "99999999999999999999", ".5", "12.", "0"]
        let currencies = ["EUR", "JPY", "BHD", "eur", "XXX", "EURO", ""]
        let payloads = ["{}", "{\"sku\":\"A1\"}", "[1]", "{", "{\"n\":NaN}", "\"s\""]
        for index in 0..<Self.cases {
            var arguments = ["append", "--stream", ["invoice/INV-1", "", "s\u{1}"].randomElement(using: &generator)!,
                             "--kind", ["charge", "", "payment"].randomElement(using: &generator)!]
            if Int.random(in: 0..<3, using: &generator) > 0 {
                arguments += ["--amount", amounts.randomElement(using: &generator)!, "--currency", currencies.randomElement(using: &generator)!]
            }
            if Bool.random(using: &generator) { arguments += ["--payload", payloads.randomElement(using: &generator)!] }
            if Int.random(in: 0..<5, using: &generator) == 0 { arguments += ["--event-id", "fuzz-\(index % 7)"] }
            if Int.random(in: 0..<5, using: &generator) == 0 { arguments += ["--expect-version", String(Int.random(in: -1...3, using: &generator))] }
            check(try CLI.run(arguments, database: scratch.database), arguments, allowed: [0, 2, 4])
        }
        let verify = try CLI.run(["verify"], database: scratch.database)
        #expect(verify.status == 0, "\(verify)")
    }
}
