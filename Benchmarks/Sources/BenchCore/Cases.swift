import Foundation
import GRDB
import Tally

/// One measured run, prepared outside the timed region: `run` is what is timed,
/// `cleanup` (untimed) closes connections and removes files.
public struct Prepared {
    public let run: () throws -> Void
    public let cleanup: () -> Void
    /// Per-operation measurements of the last run (nanoseconds), by metric name (one of the
    /// case's `metrics`); read after `run`, before `cleanup`.
    public let samples: () -> [String: [Int]]

    init(run: @escaping () throws -> Void, cleanup: @escaping () -> Void, samples: @escaping () -> [String: [Int]] = { [:] }) {
        self.run = run
        self.cleanup = cleanup
        self.samples = samples
    }
}

/// The per-operation metrics cases record besides the wall clock (always in nanoseconds).
public enum SampleMetric {
    /// W8: commit return → delivery to a follower, per event.
    public static let latency = "latency_ns"
    /// W9: one process invocation, spawn to exit.
    public static let invocation = "invocation_ns"
    /// W10: one proof call.
    public static let proof = "proof_ns"
    /// The harness's histograms stop at 1 s: larger values are recorded as this.
    public static let maximum = 999_999_999
}

/// One benchmark: a workload on one peer.
public struct Case: @unchecked Sendable {
    /// "W1" … "W10", "disk".
    public let workload: String
    /// "Tally", "raw C", "GRDB", "disk", or a variant ("raw C v7", "Tally in-process", "tally append").
    public let peer: String
    /// Operations per run (events, documents, rows, fsyncs): ops/s = operations / seconds.
    public let operations: Int
    /// Measured iterations (after `warmup` unmeasured ones).
    public let iterations: Int
    public let warmup: Int
    public let prepare: () throws -> Prepared
    /// Names of the per-operation metrics (``SampleMetric``) its `Prepared.samples` fill.
    public var metrics: [String] = []

    public var name: String { "\(workload) \(peer)" }
}

/// Values made once per process (event lists, documents) and reused by every iteration.
final class Lazy<T>: @unchecked Sendable {
    private let make: () -> T
    private var value: T?
    private let lock = NSLock()
    init(_ make: @escaping () -> T) { self.make = make }
    var get: T {
        lock.lock(); defer { lock.unlock() }
        if let value { return value }
        let made = make()
        value = made
        return made
    }
}

/// Holds a connection until cleanup, so it is closed before its files are removed.
final class Holder<T>: @unchecked Sendable {
    var value: T?
    init(_ value: T) { self.value = value }
}

public enum Cases {
    public static func all(_ sizes: Sizes = .current) -> [Case] {
        let s = sizes
        let bulkEvents = Lazy { EventData.newEvents(count: s.bulkEvents, prefix: "w1", streams: s.streams) }
        let bulkBatches = Lazy { stride(from: 0, to: s.bulkEvents, by: s.bulkBatch).map { Array(bulkEvents.get[$0..<min($0 + s.bulkBatch, s.bulkEvents)]) } }
        let bulkGRDB = Lazy { GRDBPeer.Events(count: s.bulkEvents, prefix: "w1", streams: s.streams) }
        let durableEvents = Lazy { EventData.newEvents(count: s.durableEvents, prefix: "w2", streams: s.streams) }
        let durableGRDB = Lazy { GRDBPeer.Events(count: s.durableEvents, prefix: "w2", streams: s.streams) }
        let documents = Lazy { DocumentData.documents(count: s.documents) }
        let documentStrings = Lazy { CStrings(documents.get) }
        /// `writers` lists of `perWriter` events, writer w on its own stream `writer/<w+1>`.
        func writerLists(_ prefix: String, writers: Int, perWriter: Int) -> [[NewEvent]] {
            (0..<writers).map { w in
                (0..<perWriter).map { i in
                    NewEvent(stream: "writer/\(w + 1)", kind: "charge", amount: 1250, currency: "EUR",
                             payload: EventData.payload, eventID: "\(prefix)-\(w + 1)-\(padded(i + 1, 6))")
                }
            }
        }
        let writerEvents = Lazy { writerLists("w5", writers: s.writers, perWriter: s.perWriter) }
        let manyWriterEvents = Lazy { writerLists("w5x", writers: s.manyWriters, perWriter: s.perManyWriter) }
        let followEvents = Lazy { writerLists("w8", writers: s.writers, perWriter: s.perWriter) }
        // W1g: W1's events without ids (Tally makes a UUIDv7 for each while appending).
        let generatedBatches = Lazy {
            stride(from: 0, to: s.bulkEvents, by: s.bulkBatch).map {
                EventData.newEvents(count: min(s.bulkBatch, s.bulkEvents - $0), prefix: nil, streams: s.streams, from: $0)
            }
        }
        let importRows = Lazy { () -> Result<ImportRows, any Error> in
            Result { try Fixtures.ensure(s); return try ImportRows(from: Fixtures.stateDatabase(s)) }
        }
        let mirrorFiles = Lazy { () -> Result<MirrorFiles, any Error> in Result { try MirrorFiles(loading: Fixtures.mirror(s)) } }

        // `warm` makes the inputs (event lists, documents) before the timed region. Tally's
        // runs end with a checkpoint, timed: its background checkpointer may still be copying
        // the WAL when the writes return (the other peers checkpoint inside their commits), so
        // the measured region waits for that copy and checkpoints the rest as well.
        func tally(_ name: String, _ sync: Store.Configuration.Synchronous, warm: @escaping () -> Void = {},
                   run: @escaping (Store) throws -> Void) -> () throws -> Prepared {
            {
                warm()
                let path = BenchPaths.freshDatabase(name)
                let store = Holder(try TallyPeer.open(path, synchronous: sync))
                return Prepared(run: { try run(store.value!); try store.value!.checkpointWAL() },
                                cleanup: { store.value = nil; BenchPaths.removeDatabase(path) })
            }
        }
        func raw(_ name: String, _ sync: String, warm: @escaping () -> Void = {},
                 run: @escaping (RawPeer) throws -> Void) -> () throws -> Prepared {
            {
                warm()
                let path = BenchPaths.data(name)
                let peer = Holder(try RawPeer.fresh(path, synchronous: sync))
                return Prepared(run: { try run(peer.value!) }, cleanup: { peer.value = nil; BenchPaths.removeDatabase(path) })
            }
        }
        func grdb(_ name: String, _ sync: String, warm: @escaping () -> Void = {},
                  run: @escaping (DatabasePool) throws -> Void) -> () throws -> Prepared {
            {
                warm()
                let path = BenchPaths.data(name)
                let pool = Holder(try GRDBPeer.fresh(path, synchronous: sync))
                return Prepared(run: { try run(pool.value!) }, cleanup: { pool.value = nil; BenchPaths.removeDatabase(path) })
            }
        }

        var cases: [Case] = []

        // W1: bulk append, synchronous=NORMAL, 1,000 events per transaction.
        cases.append(Case(workload: "W1", peer: "Tally", operations: s.bulkEvents, iterations: 5, warmup: 1,
                          prepare: tally("w1-tally.db", .normal, warm: { _ = bulkBatches.get }) { try TallyPeer.appendBatches($0, bulkBatches.get) }))
        cases.append(Case(workload: "W1", peer: "raw C", operations: s.bulkEvents, iterations: 5, warmup: 1,
                          prepare: raw("w1-raw.db", "NORMAL") { try $0.appendEvents(count: s.bulkEvents, perTransaction: s.bulkBatch, streams: s.streams, idPrefix: "w1") }))
        cases.append(Case(workload: "W1", peer: "GRDB", operations: s.bulkEvents, iterations: 5, warmup: 1,
                          prepare: grdb("w1-grdb.db", "NORMAL", warm: { _ = bulkGRDB.get }) { try GRDBPeer.appendEvents($0, bulkGRDB.get, perTransaction: s.bulkBatch) }))

        // W1g: W1 with the event ids generated by the writer: Tally's UUIDv7 (time-ordered,
        // NewEvent.eventID nil) against raw C making UUIDv7 or random v4 ids in C, per event.
        cases.append(Case(workload: "W1g", peer: "Tally", operations: s.bulkEvents, iterations: 5, warmup: 1,
                          prepare: tally("w1g-tally.db", .normal, warm: { _ = generatedBatches.get }) { try TallyPeer.appendBatches($0, generatedBatches.get) }))
        cases.append(Case(workload: "W1g", peer: "raw C v7", operations: s.bulkEvents, iterations: 5, warmup: 1,
                          prepare: raw("w1g-raw-v7.db", "NORMAL") { try $0.appendEvents(count: s.bulkEvents, perTransaction: s.bulkBatch, streams: s.streams, uuidVersion: 7) }))
        cases.append(Case(workload: "W1g", peer: "raw C v4", operations: s.bulkEvents, iterations: 5, warmup: 1,
                          prepare: raw("w1g-raw-v4.db", "NORMAL") { try $0.appendEvents(count: s.bulkEvents, perTransaction: s.bulkBatch, streams: s.streams, uuidVersion: 4) }))

        // W2: durable append, synchronous=FULL, one transaction per event; and the disk's limit.
        cases.append(Case(workload: "W2", peer: "Tally", operations: s.durableEvents, iterations: 5, warmup: 1,
                          prepare: tally("w2-tally.db", .full, warm: { _ = durableEvents.get }) { try TallyPeer.appendEach($0, durableEvents.get) }))
        cases.append(Case(workload: "W2", peer: "raw C", operations: s.durableEvents, iterations: 5, warmup: 1,
                          prepare: raw("w2-raw.db", "FULL") { try $0.appendEvents(count: s.durableEvents, perTransaction: 1, streams: s.streams, idPrefix: "w2") }))
        cases.append(Case(workload: "W2", peer: "GRDB", operations: s.durableEvents, iterations: 5, warmup: 1,
                          prepare: grdb("w2-grdb.db", "FULL", warm: { _ = durableGRDB.get }) { try GRDBPeer.appendEvents($0, durableGRDB.get, perTransaction: 1) }))
        cases.append(Case(workload: "disk", peer: "4k append+fdatasync", operations: s.durableEvents, iterations: 5, warmup: 1,
                          prepare: {
                              Prepared(run: { try RawPeer.fdatasyncLoop(path: BenchPaths.data("fdatasync.bin"), count: s.durableEvents) }, cleanup: {})
                          }))

        // W3: state upserts, ~210-byte documents, 1,000 per transaction, synchronous=NORMAL.
        cases.append(Case(workload: "W3", peer: "Tally", operations: s.documents, iterations: 5, warmup: 1,
                          prepare: tally("w3-tally.db", .normal, warm: { _ = documents.get }) { try TallyPeer.putBatches($0, documents.get, batch: s.documentBatch) }))
        cases.append(Case(workload: "W3", peer: "raw C", operations: s.documents, iterations: 5, warmup: 1,
                          prepare: raw("w3-raw.db", "NORMAL", warm: { _ = documentStrings.get }) { try $0.putStates(documentStrings.get, perTransaction: s.documentBatch, status: DocumentData.status) }))
        cases.append(Case(workload: "W3", peer: "GRDB", operations: s.documents, iterations: 5, warmup: 1,
                          prepare: grdb("w3-grdb.db", "NORMAL", warm: { _ = documents.get }) { try GRDBPeer.putStates($0, documents.get, batch: s.documentBatch) }))

        // W4: export every document of the fixture database to a file.
        cases.append(Case(workload: "W4", peer: "Tally", operations: s.documents, iterations: 5, warmup: 1, prepare: {
            try Fixtures.ensure(s)
            let store = Holder(try TallyPeer.open(Fixtures.stateDatabase(s), synchronous: .normal))
            let out = BenchPaths.data("w4-tally.jsonl")
            return Prepared(run: { try store.value!.exportSnapshot(to: out) }, cleanup: { store.value = nil; unlink(out) })
        }))
        cases.append(Case(workload: "W4", peer: "raw C", operations: s.documents, iterations: 5, warmup: 1, prepare: {
            try Fixtures.ensure(s)
            let peer = Holder(try RawPeer(Fixtures.stateDatabase(s), synchronous: "NORMAL"))
            let out = BenchPaths.data("w4-raw.jsonl")
            return Prepared(run: { try peer.value!.exportStates(to: out) }, cleanup: { peer.value = nil; unlink(out) })
        }))
        cases.append(Case(workload: "W4", peer: "GRDB", operations: s.documents, iterations: 5, warmup: 1, prepare: {
            try Fixtures.ensure(s)
            let pool = Holder(try GRDBPeer.open(Fixtures.stateDatabase(s), synchronous: "NORMAL"))
            let out = BenchPaths.data("w4-grdb.jsonl")
            return Prepared(run: { try GRDBPeer.exportStates(pool.value!, to: out) }, cleanup: { pool.value = nil; unlink(out) })
        }))

        // W5: 4 writers × 500 durable appends (synchronous=FULL).
        cases.append(Case(workload: "W5", peer: "Tally", operations: s.writers * s.perWriter, iterations: 5, warmup: 1,
                          prepare: tally("w5-tally.db", .full, warm: { _ = writerEvents.get }) { try TallyPeer.concurrentAppends($0, writerEvents.get) }))
        cases.append(Case(workload: "W5", peer: "raw C", operations: s.writers * s.perWriter, iterations: 5, warmup: 1, prepare: {
            let path = BenchPaths.data("w5-raw.db")
            _ = try RawPeer.fresh(path, synchronous: "FULL")
            let peers = Holder(try (0..<s.writers).map { _ in try RawPeer(path, synchronous: "FULL") })
            return Prepared(run: { try RawPeer.concurrentAppend(peers.value!, perWriter: s.perWriter, idPrefix: "w5") },
                            cleanup: { peers.value = nil; BenchPaths.removeDatabase(path) })
        }))
        // The most 4 synchronous writers' group commit can reach: one connection committing
        // 4 events per transaction (each writer has one request in flight), no hashing.
        // "4/commit": 4 consecutive W1-style events (adjacent ids and streams: 4 pages a
        // commit); "4 writers/commit": every writer's next event, W5's data (each writer's
        // own stream and ids: 4 places in each index, 11 pages a commit), as Tally's batches are.
        cases.append(Case(workload: "W5", peer: "raw C 4/commit", operations: s.writers * s.perWriter, iterations: 5, warmup: 1,
                          prepare: raw("w5-raw4.db", "FULL") { try $0.appendEvents(count: s.writers * s.perWriter, perTransaction: s.writers, streams: s.streams, idPrefix: "w5b") }))
        cases.append(Case(workload: "W5", peer: "raw C 4 writers/commit", operations: s.writers * s.perWriter, iterations: 5, warmup: 1,
                          prepare: raw("w5-raw4w.db", "FULL") { try $0.appendWritersInterleaved(writers: s.writers, perWriter: s.perWriter, idPrefix: "w5") }))
        // Tally's own side of that ceiling: one thread appending the W5 events 4 per call
        // (one transaction each, the writers' events interleaved as group commit would batch
        // them), no callers to wake.
        let fourPerCall = Lazy { () -> [[NewEvent]] in
            let lists = writerEvents.get
            return (0..<s.perWriter).map { index in lists.map { $0[index] } }
        }
        cases.append(Case(workload: "W5", peer: "Tally 4/commit", operations: s.writers * s.perWriter, iterations: 5, warmup: 1,
                          prepare: tally("w5-tally4.db", .full, warm: { _ = fourPerCall.get }) { try TallyPeer.appendBatches($0, fourPerCall.get) }))
        cases.append(Case(workload: "W5", peer: "GRDB", operations: s.writers * s.perWriter, iterations: 5, warmup: 1,
                          prepare: grdb("w5-grdb.db", "FULL") { try GRDBPeer.concurrentAppend($0, writers: s.writers, perWriter: s.perWriter, idPrefix: "w5") }))

        // W5 async: the same events from 64 tasks calling `await store.ledger.append` (the
        // async twin shares the writer's group commit), against the threaded W5 above.
        cases.append(Case(workload: "W5", peer: "Tally async", operations: s.writers * s.perWriter, iterations: 5, warmup: 1,
                          prepare: tally("w5-tally-async.db", .full, warm: { _ = writerEvents.get }) {
                              try TallyPeer.asyncAppends($0, tasks: 64, writerEvents.get)
                          }))

        // W5x: 32 writer threads × durable appends (FULL), one event per call: Tally's group
        // commit against its own single-writer W2 rate (report.py), and raw C with one
        // connection per thread for reference.
        cases.append(Case(workload: "W5x", peer: "Tally", operations: s.manyWriters * s.perManyWriter, iterations: 5, warmup: 1,
                          prepare: tally("w5x-tally.db", .full, warm: { _ = manyWriterEvents.get }) { try TallyPeer.concurrentAppends($0, manyWriterEvents.get) }))
        // (32 connections contend on BEGIN IMMEDIATE through SQLite's sleeping busy handler:
        // slow, so 3 iterations.)
        cases.append(Case(workload: "W5x", peer: "raw C", operations: s.manyWriters * s.perManyWriter, iterations: 3, warmup: 1, prepare: {
            let path = BenchPaths.data("w5x-raw.db")
            _ = try RawPeer.fresh(path, synchronous: "FULL")
            let peers = Holder(try (0..<s.manyWriters).map { _ in try RawPeer(path, synchronous: "FULL") })
            return Prepared(run: { try RawPeer.concurrentAppend(peers.value!, perWriter: s.perManyWriter, idPrefix: "w5x") },
                            cleanup: { peers.value = nil; BenchPaths.removeDatabase(path) })
        }))

        // W6: import the W4 snapshot into a fresh database (default FULL; one transaction).
        cases.append(Case(workload: "W6", peer: "Tally", operations: s.documents, iterations: 4, warmup: 1, prepare: {
            try Fixtures.ensure(s)
            let path = BenchPaths.freshDatabase("w6-tally.db")
            let store = Holder(try TallyPeer.open(path, synchronous: .full))
            return Prepared(run: { try store.value!.importSnapshot(from: Fixtures.snapshot(s)); try store.value!.checkpointWAL() },
                            cleanup: { store.value = nil; BenchPaths.removeDatabase(path) })
        }))
        // raw C: the same rows (read from the fixture database the snapshot was exported
        // from, outside the timed region) inserted with the C API into a database Tally
        // created (its migrations' tables and triggers), in one transaction, FULL.
        cases.append(Case(workload: "W6", peer: "raw C", operations: s.documents, iterations: 4, warmup: 1, prepare: {
            let rows = try importRows.get.get()
            let path = BenchPaths.freshDatabase("w6-raw.db")
            _ = try TallyPeer.open(path, synchronous: .full)  // creates and migrates; closed again here
            let peer = Holder(try RawPeer(path, synchronous: "FULL"))
            return Prepared(run: { try peer.value!.insert(rows) },
                            cleanup: { peer.value = nil; BenchPaths.removeDatabase(path) })
        }))

        // W7: `Store.mirror(to:)` of every document into an empty directory (every file
        // whole or not at all: temp files, a syncfs per batch of 2,000, renames, directory
        // fsyncs) …
        cases.append(Case(workload: "W7", peer: "Tally", operations: s.documents, iterations: 3, warmup: 0, prepare: {
            try Fixtures.ensure(s)
            let store = Holder(try TallyPeer.open(Fixtures.stateDatabase(s), synchronous: .normal))
            let directory = BenchPaths.data("w7-mirror")
            BenchPaths.retire(directory)  // not removed: see `retire`
            sync()  // what came before written back before the timed region's syncfs
            return Prepared(run: { try store.value!.mirror(to: directory) }, cleanup: {
                store.value = nil
                Fixtures.adoptMirror(directory, s)  // W7b's fixture, saving a second 100 s pass
            })
        }))
        // raw C: the same files (the exact bytes of Tally's mirror of the same database, with
        // its MANIFEST.json, loaded outside the timed region): each written to a temp name
        // (O_CREAT|O_EXCL, write, close), one syncfs, every rename, one fsync per directory.
        cases.append(Case(workload: "W7", peer: "raw C", operations: s.documents, iterations: 3, warmup: 0, prepare: {
            let files = try mirrorFiles.get.get()
            let directory = BenchPaths.data("w7-mirror-raw")
            BenchPaths.retire(directory)
            sync()
            return Prepared(run: { try files.write(to: directory) }, cleanup: { BenchPaths.retire(directory) })
        }))
        // … and again over a complete, unchanged mirror: every file read and compared,
        // nothing written — the pass closest to what a reconcile does.
        cases.append(Case(workload: "W7b", peer: "Tally", operations: s.documents, iterations: 5, warmup: 1, prepare: {
            try Fixtures.ensure(s)
            let store = Holder(try TallyPeer.open(Fixtures.stateDatabase(s), synchronous: .normal))
            let directory = try Fixtures.mirror(s)
            return Prepared(run: {
                let report = try store.value!.mirror(to: directory)
                guard report.written == 0 else { throw PeerError("the fixture mirror was not up to date: \(report.written) files written") }
            }, cleanup: { store.value = nil })
        }))
        // raw C: readdir the mirror, and for every file fstat + read + memcmp against its
        // expected bytes (loaded from the same mirror before the timed region, as it is then:
        // Tally's runs rewrite MANIFEST.json).
        cases.append(Case(workload: "W7b", peer: "raw C", operations: s.documents, iterations: 5, warmup: 1, prepare: {
            let directory = try Fixtures.mirror(s)
            let files = try MirrorFiles(loading: directory)
            return Prepared(run: {
                let matched = try files.compare(with: directory)
                guard matched == files.count else { throw PeerError("raw C compared \(matched) of \(files.count) files") }
            }, cleanup: {})
        }))

        // W7r: reconcile the same complete, unchanged mirror: every document verified and
        // rendered, every file read and compared, the directory walked, MANIFEST.json checked
        // (nothing written). Its raw C row is W7b's (the same reading, no database).
        cases.append(Case(workload: "W7r", peer: "Tally", operations: s.documents, iterations: 5, warmup: 1, prepare: {
            try Fixtures.ensure(s)
            let store = Holder(try TallyPeer.open(Fixtures.stateDatabase(s), synchronous: .normal))
            let directory = try Fixtures.mirror(s)
            return Prepared(run: {
                let report = try store.value!.reconcile(against: .directory(directory))
                guard report.isClean else { throw PeerError("the fixture mirror did not reconcile clean: \(report.findings.prefix(3))") }
            }, cleanup: { store.value = nil })
        }))

        // W8: W5's load (4 writers × durable appends) with a follower: commit return → delivery
        // latency per event (custom metric), and the writers' rate with and without it.
        let followOperations = s.writers * s.perWriter
        cases.append(Case(workload: "W8", peer: "Tally no follower", operations: followOperations, iterations: 10, warmup: 1, prepare: {
            try FollowBench.noFollower("w8-none.db", followEvents.get)
        }))
        cases.append(Case(workload: "W8", peer: "Tally in-process", operations: followOperations, iterations: 10, warmup: 1, prepare: {
            try FollowBench.inProcess("w8-in-process.db", followEvents.get)
        }, metrics: [SampleMetric.latency]))
        cases.append(Case(workload: "W8", peer: "Tally cross-process", operations: followOperations, iterations: 10, warmup: 1, prepare: {
            try FollowBench.crossProcess("w8-cross-process.db", followEvents.get)
        }, metrics: [SampleMetric.latency]))

        // W9: command-line start-up (see CLI.swift); W10: proof latency (see Proofs.swift).
        cases += CLIBench.cases(s)
        cases += ProofBench.cases(s)
        return cases
    }
}

/// Files shared by W4, W6 and W7: made once (by `tally-bench fixtures`, or on first use).
/// W10's ledger is `ProofBench.ensureFixture`.
public enum Fixtures {
    public static func stateDatabase(_ s: Sizes) -> String { BenchPaths.data("fixture-state-\(s.documents).db") }
    public static func snapshot(_ s: Sizes) -> String { BenchPaths.data("fixture-state-\(s.documents).tally.jsonl") }
    public static func mirrorDirectory(_ s: Sizes) -> String { BenchPaths.data("fixture-mirror-\(s.documents)") }

    /// The state database (documents written through Tally, so checksums are Tally's) and
    /// its snapshot.
    public static func ensure(_ s: Sizes) throws {
        let path = stateDatabase(s)
        let marker = path + ".complete"
        if !FileManager.default.fileExists(atPath: marker) {
            BenchPaths.removeDatabase(path)
            let store = try TallyPeer.open(path, synchronous: .normal)
            try TallyPeer.putBatches(store, DocumentData.documents(count: s.documents), batch: s.documentBatch)
            try store.checkpointWAL(truncate: true)
            unlink(snapshot(s))
            unlink(mirrorDirectory(s) + ".complete")
            _ = FileManager.default.createFile(atPath: marker, contents: Data())
        }
        if !FileManager.default.fileExists(atPath: snapshot(s)) {
            let store = try TallyPeer.open(path, synchronous: .normal)
            try store.exportSnapshot(to: snapshot(s))
        }
    }

    /// Keeps a complete mirror made by W7 as W7b's fixture when there is none yet;
    /// otherwise removes it.
    public static func adoptMirror(_ directory: String, _ s: Sizes) {
        let fixture = mirrorDirectory(s)
        if !FileManager.default.fileExists(atPath: fixture + ".complete") {
            BenchPaths.removeTree(fixture)
            if rename(directory, fixture) == 0 {
                _ = FileManager.default.createFile(atPath: fixture + ".complete", contents: Data())
                return
            }
        }
        BenchPaths.retire(directory)
    }

    /// A complete mirror of the state database, for W7b.
    public static func mirror(_ s: Sizes) throws -> String {
        try ensure(s)
        let directory = mirrorDirectory(s)
        let marker = directory + ".complete"
        if !FileManager.default.fileExists(atPath: marker) {
            BenchPaths.removeTree(directory)
            let store = try TallyPeer.open(stateDatabase(s), synchronous: .normal)
            try store.mirror(to: directory)
            _ = FileManager.default.createFile(atPath: marker, contents: Data())
        }
        return directory
    }
}
