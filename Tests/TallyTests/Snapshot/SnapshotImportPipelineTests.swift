import Foundation
import Testing
@testable import Tally

/// Import checks each batch of lines on a second thread while the importing thread writes the
/// batch before it (see `SnapshotLineBatch`). These snapshots span several batches, so a fault
/// the checker finds ahead and a fault only the database side sees are both in flight at once;
/// the error must still be the one a line-by-line reading would meet first.
@Suite("Snapshot import: lines are checked a batch ahead, and errors still come in line order")
struct SnapshotImportPipelineTests {
    let directory = TemporaryDirectory()

    /// Lines of a valid snapshot (without newlines) of `documents` documents and `events`
    /// events: the header, the documents (lines 2…), the events, the end record.
    private func snapshotLines(documents: Int, events: Int) throws -> [String] {
        let source = try Store(path: directory.file("source-\(documents)-\(events).db"))
        try source.write { tx in
            for index in 0..<documents {
                try tx.state.put(String(format: "doc/%06d", index), body: ["index": .number(Double(index))])
            }
        }
        try source.ledger.append(contentsOf: (0..<events).map { NewEvent(stream: "s/\($0 % 7)", kind: "k", amount: Int64($0), currency: "EUR") })
        let path = directory.file("source-\(documents)-\(events).jsonl")
        try source.exportSnapshot(to: path)
        return String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
            .split(separator: "\n").map(String.init)
    }

    /// Writes `lines` with a trailer recomputed over them, so the only faults left are the test's.
    private func write(resealing lines: [String], as name: String) throws -> String {
        var lines = lines
        let body = lines.dropLast()
        let digest = Digest.sha256Hex(Data((body.joined(separator: "\n") + "\n").utf8))
        lines[lines.count - 1] = "{\"type\":\"end\",\"records\":\(body.count - 1),\"sha256\":\"\(digest)\"}"
        let path = directory.file(name)
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The number of the first line of the second batch the importer reads from `lines`
    /// (batches start after the header, which is read alone).
    private func secondBatchStart(_ lines: [String]) -> Int {
        var bytes = 0, count = 0
        for (index, line) in lines.enumerated().dropFirst() {
            if bytes >= SnapshotLineBatch.maximumBytes || count >= SnapshotLineBatch.maximumLines { return index + 1 }
            bytes += line.utf8.count
            count += 1
        }
        return lines.count + 1
    }

    /// The line and reason of the snapshot error importing `path` into a new store throws;
    /// the new store must be left empty.
    private func importError(_ path: String) throws -> (line: Int, reason: String) {
        let target = try Store(path: directory.file("target-\(UUID().uuidString).db"))
        let error = try #require(throws: TallyError.self) { try target.importSnapshot(from: path) }
        #expect(try target.statistics().documents == 0)
        #expect(try target.ledger.head().seq == 0)
        guard case let .snapshot(_, line, reason) = error else {
            Issue.record("expected a snapshot error, got \(error)")
            return (-1, "")
        }
        return (line, reason)
    }

    /// Imports `lines` (resealed) into a new store and expects the snapshot error at `line`
    /// whose reason contains `words`.
    private func expectRefused(_ lines: [String], as name: String, at line: Int, saying words: String,
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (reported, reason) = try importError(try write(resealing: lines, as: name))
        #expect(reported == line, "\(reason)", sourceLocation: sourceLocation)
        #expect(reason.contains(words), "\(reason)", sourceLocation: sourceLocation)
    }

    @Test("a fault only the database side sees (a broken chain) is reported before a later batch's malformed line")
    func databaseSideFaultFirst() throws {
        var lines = try snapshotLines(documents: 10, events: 5_000)
        // Line 20 is an event; its seq out of order is found by the importing thread.
        let eventLine = 20
        lines[eventLine - 1] = lines[eventLine - 1].replacingOccurrences(of: "\"seq\":9,", with: "\"seq\":90,")
        #expect(lines[eventLine - 1].contains("\"seq\":90,"))
        // A line of the next batch, checked while line 20 is applied, is not a record at all:
        // the checker's fault.
        let checkerLine = secondBatchStart(lines) + 5
        #expect(checkerLine > eventLine && checkerLine < lines.count)
        lines[checkerLine - 1] = "{\"type\":\"mystery\"}"
        try expectRefused(lines, as: "two-faults.jsonl", at: eventLine, saying: "the ledger has a gap")

        // With the early fault mended, the later one is found.
        var later = try snapshotLines(documents: 10, events: 5_000)
        later[checkerLine - 1] = "{\"type\":\"mystery\"}"
        try expectRefused(later, as: "one-fault.jsonl", at: checkerLine, saying: "unknown record type 'mystery'")
    }

    @Test("a key repeated thousands of lines later, in another batch, is a duplicate")
    func duplicateAcrossBatches() throws {
        var lines = try snapshotLines(documents: 5_000, events: 0)
        // Line 4,500 becomes a copy of line 3 (the key doc/000001, checksum and all).
        lines[4_500 - 1] = lines[3 - 1]
        try expectRefused(lines, as: "duplicate.jsonl", at: 4_500, saying: "duplicate key 'doc/000001'")
    }

    @Test("a line over the size limit is reported after the faults of the lines before it, and on its own when they are sound")
    func readFailureInOrder() throws {
        let lines = try snapshotLines(documents: 3_000, events: 0)
        let longLine = String(repeating: "x", count: SnapshotFormat.maximumLineBytes(for: Store.Configuration()) + 1)

        var both = lines
        // Both in the second batch: the checker sees the bad line, the reader the long one.
        #expect(secondBatchStart(lines) < 2_300)
        both[2_300 - 1] = both[2_300 - 1].replacingOccurrences(of: "\"index\":2298", with: "\"index\":2299")
        both.insert(longLine, at: 2_500 - 1)
        try expectRefused(both, as: "bad-then-long.jsonl", at: 2_300, saying: "checksum mismatch")

        var onlyLong = lines
        onlyLong.insert(longLine, at: 2_500 - 1)
        try expectRefused(onlyLong, as: "long.jsonl", at: 2_500, saying: "longer than")
    }

    @Test("a snapshot of many batches imports whole from a file and from a pipe, with progress that only grows")
    func manyBatches() throws {
        let lines = try snapshotLines(documents: 6_000, events: 3_000)
        let path = try write(resealing: lines, as: "whole.jsonl")
        let size = Int64(try Data(contentsOf: URL(fileURLWithPath: path)).count)

        let fromFile = try Store(path: directory.file("from-file.db"))
        let seen = Locked<[OperationProgress]>([])
        let report = try fromFile.importSnapshot(from: path) { progress in seen.withLock { $0.append(progress) } }
        #expect(report.added == 6_000)
        #expect(report.eventsAppended == 3_000)
        #expect(report.records == 9_000)
        let progress = seen.withLock { $0 }
        #expect(progress.count >= 9)
        #expect(zip(progress, progress.dropFirst()).allSatisfy { $0.done <= $1.done })
        #expect(progress.last?.done == size)
        #expect(try fromFile.verify().isClean)

        let fromPipe = try Store(path: directory.file("from-pipe.db"))
        let pipe = Pipe()
        let feeder = Thread {
            pipe.fileHandleForWriting.write(FileManager.default.contents(atPath: path) ?? Data())
            try? pipe.fileHandleForWriting.close()
        }
        feeder.start()
        let piped = try fromPipe.importSnapshot(fromFileDescriptor: pipe.fileHandleForReading.fileDescriptor, name: "<stdin>")
        #expect(piped.added == 6_000)
        #expect(piped.eventsAppended == 3_000)
        #expect(try fromPipe.ledger.head() == fromFile.ledger.head())
    }
}
