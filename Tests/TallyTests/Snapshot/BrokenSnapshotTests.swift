import Foundation
import Testing
@testable import Tally

/// One way a snapshot can be broken: how to damage a valid one, and what the import must say.
struct BrokenSnapshot: Sendable, CustomTestStringConvertible {
    let name: String
    /// The line the error must name (0 = the file as a whole).
    let line: Int
    /// Words the reason must contain.
    let says: String
    /// Damages the file's lines (without newlines; the last element is the trailer).
    let damage: @Sendable (inout [String]) -> Void
    /// Or replaces the file's bytes entirely.
    var bytes: (@Sendable (Data) -> Data)?

    var testDescription: String { name }

    init(_ name: String, line: Int, says: String, damage: @escaping @Sendable (inout [String]) -> Void = { _ in },
         bytes: (@Sendable (Data) -> Data)? = nil) {
        self.name = name
        self.line = line
        self.says = says
        self.damage = damage
        self.bytes = bytes
    }
}

/// The fixture: line 1 header, lines 2–8 seven documents, lines 9–16 eight events, line 17
/// the trailer. The target database holds the first four invoices (a prefix of the ledger).
private enum Lines {
    static let firstState = 1  // index into the array (line 2)
    static let firstEvent = 8  // index (line 9)
}

/// Applies `damage`, then writes a correct trailer again, so the only fault left is the one
/// under test (checked after the trailer).
private func resealed(_ damage: @escaping @Sendable (inout [String]) -> Void) -> @Sendable (inout [String]) -> Void {
    { lines in
        damage(&lines)
        let body = lines.dropLast()
        let digest = Digest.sha256Hex(Data((body.joined(separator: "\n") + "\n").utf8))
        lines[lines.count - 1] = "{\"type\":\"end\",\"records\":\(body.count - 1),\"sha256\":\"\(digest)\"}"
    }
}

/// Rewrites a line's member with a textual replacement.
private func replacing(_ index: Int, _ old: String, _ new: String) -> @Sendable (inout [String]) -> Void {
    { lines in lines[index] = lines[index].replacingOccurrences(of: old, with: new) }
}

let brokenSnapshots: [BrokenSnapshot] = [
    BrokenSnapshot("empty file", line: 0, says: "empty", bytes: { _ in Data() }),
    BrokenSnapshot("truncated in the middle of a line", line: 4, says: "invalid JSON", bytes: { data in
        let text = String(decoding: data, as: UTF8.self)
        let cut = text.split(separator: "\n").prefix(3).joined(separator: "\n").utf8.count + 1 + 30
        return data.prefix(cut)
    }),
    BrokenSnapshot("missing trailer", line: 16, says: "without its end record", damage: { $0.removeLast() }),
    BrokenSnapshot("trailer digest wrong", line: 17, says: "SHA-256", damage: { lines in
        guard let start = lines[lines.count - 1].range(of: "\"sha256\":\"") else { return }
        lines[lines.count - 1] = String(lines[lines.count - 1][..<start.upperBound]) + String(repeating: "0", count: 64) + "\"}"
    }),
    BrokenSnapshot("invalid JSON line", line: 3, says: "invalid JSON", damage: { $0[Lines.firstState + 1] = "{\"type\":\"state\", oops" }),
    BrokenSnapshot("invalid UTF-8", line: 2, says: "UTF-8", bytes: { data in
        var bytes = [UInt8](data)
        let index = bytes.firstIndex(of: UInt8(ascii: "\n"))! + 30
        bytes[index] = 0xFF
        return Data(bytes)
    }),
    BrokenSnapshot("byte order mark", line: 1, says: "byte order mark", bytes: { Data([0xEF, 0xBB, 0xBF]) + $0 }),
    BrokenSnapshot("unknown format version", line: 1, says: "version 99", damage: replacing(0, "\"version\":\(SnapshotFormat.version)", "\"version\":99")),
    BrokenSnapshot("not a snapshot", line: 1, says: "not a snapshot header", damage: { $0[0] = "{\"hello\":\"world\"}" }),
    BrokenSnapshot("another format", line: 1, says: "format", damage: replacing(0, "tally-snapshot", "other-tool")),
    BrokenSnapshot("schema from the future", line: 1, says: "newer", damage: replacing(0, "\"schema_version\":\(Migrator.embedded.latestVersion)", "\"schema_version\":99")),
    BrokenSnapshot("wrong field type", line: 4, says: "must be an integer", damage: replacing(Lines.firstState + 2, "\"version\":1", "\"version\":\"1\"")),
    BrokenSnapshot("missing member", line: 2, says: "missing member \"checksum\"", damage: { lines in
        lines[Lines.firstState] = lines[Lines.firstState].replacingOccurrences(of: "\"checksum\":", with: "\"checksumX\":")
    }),
    BrokenSnapshot("checksum mismatch", line: 3, says: "checksum mismatch", damage: replacing(Lines.firstState + 1, "\"total\":1000", "\"total\":1001")),
    BrokenSnapshot("duplicate key", line: 4, says: "duplicate key", damage: { $0.insert($0[Lines.firstState + 1], at: Lines.firstState + 2) }),
    BrokenSnapshot("invalid key", line: 2, says: "invalid state key", damage: replacing(Lines.firstState, "agents/billing-1", "agents/../billing-1")),
    BrokenSnapshot("a key whose mirror file would be the manifest", line: 2, says: "MANIFEST.json",
                   damage: resealed(replacing(Lines.firstState, "\"agents/billing-1\"", "\"MANIFEST\""))),
    BrokenSnapshot("a key segment too long for a file name", line: 2, says: "251 bytes",
                   damage: resealed(replacing(Lines.firstState, "\"agents/billing-1\"", "\"" + String(repeating: "a", count: 251) + "\""))),
    BrokenSnapshot("bad timestamp", line: 2, says: "updated_at", damage: { lines in
        lines[Lines.firstState] = lines[Lines.firstState].replacingOccurrences(of: "\"updated_at\":\"", with: "\"updated_at\":\"yesterday")
    }),
    BrokenSnapshot("broken chain: an edited amount", line: 11, says: "chain breaks at seq 3", damage: replacing(Lines.firstEvent + 2, "\"amount\":3000", "\"amount\":3001")),
    BrokenSnapshot("gap in the ledger", line: 10, says: "gap", damage: { $0.remove(at: Lines.firstEvent + 1) }),
    BrokenSnapshot("events out of order", line: 9, says: "seq 2 follows seq 0", damage: { $0.swapAt(Lines.firstEvent, Lines.firstEvent + 1) }),
    BrokenSnapshot("unknown record type", line: 9, says: "unknown record type", damage: replacing(Lines.firstEvent, "\"type\":\"event\"", "\"type\":\"evnt\"")),
    BrokenSnapshot("record count wrong", line: 17, says: "counts 14 records", damage: { lines in
        lines[lines.count - 1] = lines[lines.count - 1].replacingOccurrences(of: "\"records\":15", with: "\"records\":14")
    }),
    BrokenSnapshot("data after the trailer", line: 18, says: "after the end record", damage: { $0.append("{}") }),
    BrokenSnapshot("header head does not match the events", line: 1, says: "ledger head", damage: resealed(replacing(0, "\"seq\":8", "\"seq\":9"))),
    BrokenSnapshot("a document pointing past the ledger", line: 2, says: "refers to ledger seq 99", damage: resealed(replacing(Lines.firstState, "\"ledger_seq\":null", "\"ledger_seq\":99"))),
    BrokenSnapshot("a line of 100 MB", line: 3, says: "longer than", bytes: { data in
        let secondNewline = data.indices.filter { data[$0] == UInt8(ascii: "\n") }[1]
        var damaged = data.prefix(secondNewline + 1)
        damaged.append(Data("{\"type\":\"state\",\"key\":\"".utf8))
        damaged.append(Data(repeating: UInt8(ascii: "a"), count: 100 << 20))
        damaged.append(Data("\"}\n".utf8))
        damaged.append(data.suffix(from: secondNewline + 1))
        return damaged
    }),
    BrokenSnapshot("not JSON at all", line: 1, says: "invalid JSON", bytes: { _ in Data("PK\u{3}\u{4} this is a zip file\n".utf8) }),
]

@Suite("Snapshots: every kind of broken file gives its own error and changes nothing")
struct BrokenSnapshotTests {
    let directory = TemporaryDirectory()

    /// Built once for all cases: a valid snapshot of the seeded store, and a target database
    /// (as bytes) holding a prefix of it.
    private static let shared: Result<(snapshot: Data, target: Data, prefix: Data), any Error> = Result {
        let directory = TemporaryDirectory("tally-broken-fixture")
        let source = try Store(path: directory.file("source.db"))
        try seedCollections(source, invoices: 1...4)
        let targetPath = directory.file("target.db")
        try copyDatabase(source, to: targetPath)
        let prefixPath = directory.file("prefix.jsonl")
        try source.exportSnapshot(to: prefixPath)
        try seedCollections(source, invoices: 5...6)
        let path = directory.file("valid.jsonl")
        try source.exportSnapshot(to: path)
        return (try Data(contentsOf: URL(fileURLWithPath: path)), try Data(contentsOf: URL(fileURLWithPath: targetPath)),
                try Data(contentsOf: URL(fileURLWithPath: prefixPath)))
    }

    /// A valid snapshot, and a fresh copy of the target database for this test.
    private func fixture() throws -> (snapshot: Data, target: Store) {
        let (snapshot, target, _) = try Self.shared.get()
        let targetPath = directory.file("target.db")
        try target.write(to: URL(fileURLWithPath: targetPath))
        return (snapshot, try Store(path: targetPath))
    }

    @Test("the fixture itself imports cleanly")
    func fixtureIsValid() throws {
        let (snapshot, target) = try fixture()
        let path = directory.file("ok.jsonl")
        try snapshot.write(to: URL(fileURLWithPath: path))
        let report = try target.importSnapshot(from: path, dryRun: true)
        #expect(report.records == 15)
        #expect(report.eventsMatched > 0 && report.eventsAppended > 0)
    }

    /// Writes `broken`'s damaged copy of `snapshot` to a file and returns its path.
    private func writeDamaged(_ broken: BrokenSnapshot, of snapshot: Data) throws -> String {
        var damaged: Data
        if let transform = broken.bytes {
            damaged = transform(snapshot)
        } else {
            var lines = String(decoding: snapshot, as: UTF8.self).split(separator: "\n").map(String.init)
            broken.damage(&lines)
            damaged = Data((lines.joined(separator: "\n") + "\n").utf8)
        }
        let path = directory.file("broken.jsonl")
        try damaged.write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Imports the file at `path` into `target` in every mode and checks the error each gives.
    private func expectRefused(_ broken: BrokenSnapshot, path: String, target: Store) {
        for mode in Store.ImportMode.allCases {
            let error: TallyError
            do {
                try target.importSnapshot(from: path, mode: mode)
                Issue.record("\(broken.name): the \(mode) import was accepted")
                return
            } catch let caught {
                error = caught
            }
            guard case let .snapshot(reportedPath, line, reason) = error else {
                Issue.record("\(broken.name): expected a snapshot error, got \(error)")
                return
            }
            #expect(reportedPath == path)
            #expect(line == broken.line, "\(broken.name): \(reason)")
            #expect(reason.contains(broken.says), "\(broken.name): \(reason)")
            #expect(error.exitCode == 2)
            #expect(!error.description.contains("\n"))
        }
    }

    @Test("broken snapshot", arguments: brokenSnapshots)
    func broken(_ broken: BrokenSnapshot) throws {
        let (snapshot, target) = try fixture()
        let path = try writeDamaged(broken, of: snapshot)
        let before = try databaseDump(target.path)
        expectRefused(broken, path: path, target: target)
        #expect(try databaseDump(target.path) == before, "\(broken.name): the database changed")
    }

    /// The broken snapshots again on PostgreSQL, where one runs (`.ci/run` starts one).
    static var brokenSnapshotsOnPostgres: [BrokenSnapshot] { Backend.available.contains(.postgres) ? brokenSnapshots : [] }

    @Test("broken snapshot into a PostgreSQL store: the same error, and the store unchanged", arguments: brokenSnapshotsOnPostgres)
    func brokenOnPostgres(_ broken: BrokenSnapshot) throws {
        let (snapshot, _, prefix) = try Self.shared.get()
        let stores = TestStores(.postgres)
        let target = try stores.store("target")
        // The same target as on SQLite: the first four invoices, imported from their snapshot.
        let prefixPath = directory.file("prefix.jsonl")
        try prefix.write(to: URL(fileURLWithPath: prefixPath))
        try target.importSnapshot(from: prefixPath)
        let path = try writeDamaged(broken, of: snapshot)
        let before = try databaseDump(stores, "target")
        expectRefused(broken, path: path, target: target)
        #expect(try databaseDump(stores, "target") == before, "\(broken.name): the database changed")
    }

    @Test("a ledger that diverges from the database's is a conflict (exit 4) naming the seq and the line")
    func diverging() throws {
        let (snapshot, _) = try fixture()
        let path = directory.file("s.jsonl")
        try snapshot.write(to: URL(fileURLWithPath: path))
        let other = try Store(path: directory.file("other.db"))
        try other.ledger.append(stream: "elsewhere", kind: "charge", amount: 1, currency: "EUR")
        let before = try databaseDump(other.path)
        let error = try #require(throws: TallyError.self) { try other.importSnapshot(from: path) }
        guard case let .snapshotConflict(_, reason) = error else {
            Issue.record("expected a snapshot conflict, got \(error)")
            return
        }
        #expect(error.exitCode == 4)
        #expect(reason.contains("diverges from the database's at seq 1 (line 9)"))
        #expect(try databaseDump(other.path) == before)
    }

    @Test("a replace from a snapshot behind the database's ledger is a conflict that says the database is ahead; merge accepts it")
    func behind() throws {
        let source = try Store(path: directory.file("source.db"))
        try seedCollections(source, invoices: 1...2)
        let path = directory.file("old.jsonl")
        try source.exportSnapshot(to: path)
        try source.ledger.append(stream: "later", kind: "charge", amount: 1, currency: "EUR")
        let before = try databaseDump(source.path)
        let error = try #require(throws: TallyError.self) { try source.importSnapshot(from: path, mode: .replace) }
        guard case let .snapshotConflict(_, reason) = error else {
            Issue.record("expected a snapshot conflict, got \(error)")
            return
        }
        #expect(error.exitCode == 4)
        #expect(reason.contains("the database is ahead: its ledger ends at seq 4, the snapshot's at seq 3"))
        #expect(try databaseDump(source.path) == before)
        #expect(try source.importSnapshot(from: path, mode: .merge).eventsMatched == 3)
    }

    @Test("a missing snapshot file is an I/O error naming the path")
    func missingFile() throws {
        let store = try Store(path: directory.file("x.db"))
        let error = try #require(throws: TallyError.self) { try store.importSnapshot(from: directory.file("nope.jsonl")) }
        #expect(error == .io(step: "open", path: directory.file("nope.jsonl"), errno: ENOENT))
        #expect(error.exitCode == 5)
    }
}
