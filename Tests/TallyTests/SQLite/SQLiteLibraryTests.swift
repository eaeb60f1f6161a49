import Foundation
import Testing
@testable import Tally

/// Each case runs in a child process: SQLite's library settings are process-wide and fixed
/// once SQLite initializes, which in this process happened long ago.
@Suite("SQLiteLibrary: Tally turns SQLite's memory statistics off at its first open, unless kept or SQLite was already in use")
struct SQLiteLibraryTests {
    let directory = TemporaryDirectory()

    /// What the harness reports after opening a store, appending, writing a document and
    /// reading, for `setup`.
    private func report(_ setup: String) throws -> (turnedOff: Bool, bytesInUse: Int64) {
        let (status, output) = try ChildProcess.run(["memory-statistics", directory.file("\(setup).db"), setup])
        #expect(status == 0, "\(output)")
        let fields = Dictionary(uniqueKeysWithValues: output.split(whereSeparator: \.isWhitespace).compactMap { field -> (String, String)? in
            let parts = field.split(separator: "=", maxSplits: 1)
            return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
        })
        let turnedOff: Bool? = fields["turned-off"].flatMap { Bool($0) }
        let inUse: Int64? = fields["in-use"].flatMap { Int64($0) }
        return (try #require(turnedOff as Bool?, "\(output)"), try #require(inUse, "\(output)"))
    }

    /// One way a process comes to its first store, and whether the statistics end up off.
    struct Setup: Sendable, CustomTestStringConvertible {
        /// The harness's name for it.
        let name: String
        let testDescription: String
        /// Off: SQLite counts no bytes while the store works; on: it counts some.
        let turnedOff: Bool
    }

    static let setups = [
        Setup(name: "default", testDescription: "by default the statistics are off: SQLite counts no bytes while the store works",
              turnedOff: true),
        Setup(name: "keep", testDescription: "Store.keepsSQLiteMemoryStatistics = true before the first open leaves them on",
              turnedOff: false),
        Setup(name: "keep-late", testDescription: "setting Store.keepsSQLiteMemoryStatistics after the first store opened changes nothing",
              turnedOff: true),
        Setup(name: "preinitialized",
              testDescription: "when another library initialized SQLite first, Tally changes nothing and the store still opens",
              turnedOff: false),
    ]

    @Test("each way to the first store leaves the statistics as documented", arguments: setups)
    func statistics(_ setup: Setup) throws {
        let (turnedOff, inUse) = try report(setup.name)
        #expect(turnedOff == setup.turnedOff)
        if setup.turnedOff { #expect(inUse == 0) } else { #expect(inUse > 0) }
    }
}
