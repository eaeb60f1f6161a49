import Foundation
import Testing
@testable import Tally

/// Export formats lines on the reading thread and verifies each batch's bodies (and hashes
/// the file) on a second thread, sending a batch only once it is verified (see
/// `SnapshotExportBatch`). These stores span several batches, with the documents under test
/// in the middle and near the end.
@Suite("Snapshot export: bodies are verified a batch ahead, and only verified bytes reach the sink")
struct SnapshotExportPipelineTests {
    let directory = TemporaryDirectory()
    static let documents = 6_000

    /// A store of `documents` documents `doc/000000`… with bodies `{"index":n}`.
    private func store() throws -> Store {
        let store = try Store(path: directory.file("source.db"))
        try store.write { tx in
            for index in 0..<Self.documents {
                try tx.state.put(Self.key(index), body: ["index": .number(Double(index))])
            }
        }
        return store
    }

    private static func key(_ index: Int) -> String { String(format: "doc/%06d", index) }

    /// Rewrites a document's stored body behind Tally's back, keeping its checksum.
    private func setStoredBody(_ store: Store, _ index: Int, _ text: String) throws {
        try ReconcileFixture.tamper(store.path, "UPDATE state SET body = '\(text)', version = version + 1 WHERE key = '\(Self.key(index))'")
    }

    @Test("the documents span several batches")
    func spansBatches() throws {
        let lineBytes = #"{"type":"state","key":"doc/000000","version":1,"status":null,"body":{"index":0},"checksum":""#.utf8.count + 64
        #expect(Self.documents * lineBytes > 3 * SnapshotExportBatch.targetBytes)
    }

    @Test("bodies reformatted at the sqlite3 prompt in two batches are exported in canonical form, and the snapshot imports")
    func reformattedBodies() throws {
        let store = try store()
        // The same values, not their canonical text: the verifier stops at the first, and the
        // reading thread verifies from there on.
        try setStoredBody(store, 3_000, #"{ "index" : 3000.0 }"#)
        try setStoredBody(store, 5_900, #"{"index":   5900}"#)
        let path = directory.file("out.jsonl")
        let summary = try store.exportSnapshot(to: path)
        #expect(summary.documents == Int64(Self.documents))

        let lines = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self).split(separator: "\n")
        for index in [3_000, 5_900] {
            let line = try #require(lines.first { $0.contains("\"key\":\"\(Self.key(index))\"") })
            #expect(line.contains("\"body\":{\"index\":\(index)},"), "\(line)")
        }
        // The import checks every checksum, the record count and the file's SHA-256.
        let copy = try Store(path: directory.file("copy.db"))
        let report = try copy.importSnapshot(from: path)
        #expect(report.added == Int64(Self.documents))
        #expect(try copy.state.get(Self.key(5_900))?.body == ["index": 5_900])
        #expect(summary.sha256 == Digest.sha256Hex(Data(lines.dropLast().map { $0 + "\n" }.joined().utf8)))
    }

    @Test("a body changed behind Tally's back near the end fails the export as corruption; the sink never sees its batch")
    func corruptBody() throws {
        let store = try store()
        try setStoredBody(store, 5_500, #"{"index":1}"#)

        let path = directory.file("out.jsonl")
        let error = try #require(throws: TallyError.self) { try store.exportSnapshot(to: path) }
        guard case let .corruptState(key, _, _) = error else {
            Issue.record("expected corruptState, got \(error)")
            return
        }
        #expect(key == Self.key(5_500))
        #expect(!FileManager.default.fileExists(atPath: path))

        var received: [UInt8] = []
        #expect(throws: TallyError.self) {
            try store.exportSnapshot { bytes in received.append(contentsOf: bytes) }
        }
        let text = String(decoding: received, as: UTF8.self)
        #expect(text.contains("\"key\":\"\(Self.key(0))\""))
        // Its batch was held back at the verifier: the corrupt line never left the store.
        #expect(!text.contains("\"key\":\"\(Self.key(5_500))\""))
        #expect(text.hasSuffix("\n"))
    }

    @Test("a sink that fails half-way stops the export with its error, and is not called again")
    func failingSink() throws {
        let store = try store()
        var calls = 0
        let error = try #require(throws: TallyError.self) {
            try store.exportSnapshot { (_: UnsafeRawBufferPointer) throws(TallyError) in
                calls += 1
                if calls == 3 { throw TallyError.io(step: "write", path: "upload", errno: EPIPE) }
            }
        }
        #expect(error == .io(step: "write", path: "upload", errno: EPIPE))
        #expect(calls == 3)
        // The store is usable at once: nothing of the export is still running.
        #expect(try store.exportSnapshot { _ in }.documents == Int64(Self.documents))
    }
}
