import Foundation
import Testing

@testable import Tally

/// A small database for the store-level protocols, in a directory of its own so that the
/// directory being recorded holds only what the protocol writes.
final class PowerLossDatabase: @unchecked Sendable {
    let directory = TemporaryDirectory("tally-powerloss-db")
    let store: Store
    var path: String { directory.file("tally.db") }

    init() throws {
        store = try Store(path: directory.file("tally.db"))
    }

    /// Appends `count` events to one stream.
    func append(_ count: Int, stream: String = "account/1") throws {
        for index in 0..<count {
            try store.ledger.append(stream: stream, kind: "deposit", amount: Int64(100 + index), currency: "EUR")
        }
    }

    /// Puts a document whose body is a few hundred bytes.
    func put(_ key: String, _ note: String) throws {
        try store.state.put(key, body: ["note": .string(note), "padding": .string(String(repeating: "x", count: 300))])
    }
}

/// Caches an expensive check per input, so each distinct file content is checked once.
final class CheckCache<Key: Hashable>: @unchecked Sendable {
    private var results: [Key: [String]] = [:]

    func problems(for key: Key, _ compute: () throws -> [String]) rethrows -> [String] {
        if let known = results[key] { return known }
        let computed = try compute()
        results[key] = computed
        return computed
    }
}
