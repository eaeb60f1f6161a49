import Crypto
import Foundation
import Tally

/// Workload sizes. `TALLY_BENCH_SCALE` (e.g. 0.05) shrinks every count for smoke runs and
/// profiling; the published numbers use 1.
public struct Sizes: Sendable, Codable {
    public var bulkEvents = 200_000
    public var bulkBatch = 1_000
    public var durableEvents = 3_000
    public var documents = 100_000
    public var documentBatch = 1_000
    public var writers = 4
    public var perWriter = 500
    /// Streams the bulk events are spread over (round-robin).
    public var streams = 1_000
    /// W5x: many writer threads, each appending durably.
    public var manyWriters = 32
    public var perManyWriter = 100
    /// W9: process invocations per measured iteration.
    public var cliRuns = 50
    /// W10: the ledger the proofs are made from, the batch it is built with, and the calls timed.
    public var proofEvents = 1_000_000
    public var proofBatch = 10_000
    public var proofCalls = 1_000

    public static let current: Sizes = {
        var sizes = Sizes()
        if let text = ProcessInfo.processInfo.environment["TALLY_BENCH_SCALE"], let scale = Double(text), scale > 0, scale != 1 {
            func scaled(_ n: Int, minimum: Int = 10) -> Int { max(minimum, Int((Double(n) * scale).rounded())) }
            sizes.bulkEvents = scaled(sizes.bulkEvents, minimum: 1_000)
            sizes.durableEvents = scaled(sizes.durableEvents)
            sizes.documents = scaled(sizes.documents, minimum: 1_000)
            sizes.perWriter = scaled(sizes.perWriter)
            sizes.perManyWriter = scaled(sizes.perManyWriter)
            sizes.cliRuns = scaled(sizes.cliRuns)
            sizes.proofEvents = scaled(sizes.proofEvents, minimum: 10_000)
            sizes.proofCalls = scaled(sizes.proofCalls, minimum: 100)
        }
        return sizes
    }()
}

/// Zero-padded decimal, without Foundation's String(format:) on hot paths.
@inline(__always)
func padded(_ value: Int, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
}

/// The peers' placeholder hash of event `seq`: 64 hex digits; seq 0 gives 64 zeros, the
/// chain's first prev_hash. (Tally computes the real SHA-256 over JCS; the peers do not.)
@inline(__always)
func fakeHash(_ seq: Int64) -> String {
    let hex = String(seq, radix: 16)
    return String(repeating: "0", count: 64 - hex.count) + hex
}

/// RFC 3339 UTC with milliseconds, the schema's time format.
func timestampNow() -> String {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    var seconds = now.tv_sec
    var parts = tm()
    gmtime_r(&seconds, &parts)
    return padded(Int(parts.tm_year) + 1900, 4) + "-" + padded(Int(parts.tm_mon) + 1, 2) + "-" + padded(Int(parts.tm_mday), 2)
        + "T" + padded(Int(parts.tm_hour), 2) + ":" + padded(Int(parts.tm_min), 2) + ":" + padded(Int(parts.tm_sec), 2)
        + "." + padded(now.tv_nsec / 1_000_000, 3) + "Z"
}

/// The same events for every peer: event i (0-based) has id "<prefix>-<i+1, 7 digits>",
/// stream invoice/INV-<i mod streams + 1>, kind charge, amount 1250 + i mod 100 EUR,
/// payload {"qty":2,"sku":"A1"}.
public enum EventData {
    public static let payload: JSONValue = ["sku": "A1", "qty": 2]
    public static let payloadText = #"{"qty":2,"sku":"A1"}"#

    public static func eventID(_ prefix: String, _ index: Int) -> String { "\(prefix)-\(padded(index + 1, 7))" }
    public static func stream(_ index: Int, streams: Int) -> String { "invoice/INV-\(padded(index % streams + 1, 5))" }
    public static func amount(_ index: Int) -> Int64 { 1250 + Int64(index % 100) }

    /// With `prefix` nil the events carry no id: Tally generates one (a UUIDv7) per event.
    public static func newEvents(count: Int, prefix: String?, streams: Int, from start: Int = 0) -> [NewEvent] {
        (start..<start + count).map { i in
            NewEvent(stream: stream(i, streams: streams), kind: "charge", amount: amount(i), currency: "EUR",
                     payload: payload, eventID: prefix.map { eventID($0, i) })
        }
    }
}

/// One state document as every peer writes it.
public struct Document: Sendable {
    public let key: String
    /// For Tally, which canonicalizes and hashes it itself.
    public let body: JSONValue
    /// The canonical (JCS) text of `body`: what Tally stores and the peers store as is.
    public let canonicalText: String
    /// Lowercase hex SHA-256 of `canonicalText`, precomputed for the peers.
    public let checksum: String
}

public enum DocumentData {
    public static let status = "unpaid"

    public static func key(_ index: Int) -> String { "invoices/INV-\(padded(index + 1, 6))" }

    /// A ~210-byte invoice.
    public static func body(_ index: Int) -> JSONValue {
        [
            "customer": ["id": .string("CUST-\(padded(index % 5_000 + 1, 6))"), "name": .string("Customer \(index % 5_000 + 1)")],
            "currency": "EUR",
            "due": "2026-02-28",
            "lines": [
                ["sku": "A1", "qty": 2, "price": .number(Double(1_250 + index % 50))],
                ["sku": "B7", "qty": 1, "price": 990],
            ],
            "notes": "net 30, reminder after 7 days",
            "total": .number(Double(2 * (1_250 + index % 50) + 990)),
        ]
    }

    /// `count` documents, checksums and canonical text computed here (outside any timed region).
    public static func documents(count: Int) -> [Document] {
        (0..<count).map { i in
            let body = body(i)
            let text = try! body.canonicalText()
            let checksum = SHA256.hash(data: Array(text.utf8)).map { byte in
                let hex = String(byte, radix: 16)
                return byte < 16 ? "0" + hex : hex
            }.joined()
            return Document(key: key(i), body: body, canonicalText: text, checksum: checksum)
        }
    }
}
