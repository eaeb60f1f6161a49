import Foundation
import Tally

/// W10: proof latency on a large ledger (its Merkle tree maintained by the appends that
/// built it), each call timed on its own.
public enum ProofBench {
    public static func ledgerDatabase(_ s: Sizes) -> String { BenchPaths.data("fixture-ledger-\(s.proofEvents).db") }
    /// The checkpoint signed when the fixture was built: its signed note, then the public key.
    static func checkpointFile(_ s: Sizes) -> String { ledgerDatabase(s) + ".checkpoint" }

    /// Builds the fixture once (bulk appends of `proofBatch` events, `synchronous=NORMAL`),
    /// signs a checkpoint of its full size and keeps it beside it.
    public static func ensureFixture(_ s: Sizes) throws {
        let path = ledgerDatabase(s)
        let marker = path + ".complete"
        if FileManager.default.fileExists(atPath: marker) { return }
        BenchPaths.removeDatabase(path)
        let store = try TallyPeer.open(path, synchronous: .normal)
        var start = 0
        while start < s.proofEvents {
            let count = min(s.proofBatch, s.proofEvents - start)
            try store.ledger.append(contentsOf: EventData.newEvents(count: count, prefix: "w10", streams: s.streams, from: start))
            start += count
        }
        let key = try Checkpoint.SigningKey.generate(forLedger: try store.ledgerID())
        let checkpoint = try store.signCheckpoint(with: key)
        guard checkpoint.size == Int64(s.proofEvents) else {
            throw PeerError("the fixture's checkpoint covers \(checkpoint.size) events, not \(s.proofEvents)")
        }
        try store.checkpointWAL(truncate: true)
        try Data((checkpoint.signedNote + "\u{0}" + key.publicKeyText).utf8).write(to: URL(fileURLWithPath: checkpointFile(s)))
        _ = FileManager.default.createFile(atPath: marker, contents: Data())
    }

    /// Reads the fixture file once, untimed, so the calls find it in the page cache as on a
    /// machine that serves proofs. This VM keeps little in its page cache between runs: a
    /// cold 300 MB fixture made the p99 a measure of its disk (11–75 ms against 0.2–0.7 ms).
    static func warmPageCache(_ path: String) throws {
        guard let file = FileHandle(forReadingAtPath: path) else { throw PeerError("cannot open \(path)") }
        defer { try? file.close() }
        while let chunk = try file.read(upToCount: 4 << 20), !chunk.isEmpty {}
    }

    static func loadCheckpoint(_ s: Sizes) throws -> Checkpoint {
        let text = try String(contentsOfFile: checkpointFile(s), encoding: .utf8)
        let parts = text.split(separator: "\u{0}", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw PeerError("unreadable \(checkpointFile(s))") }
        return try Checkpoint(signedNote: String(parts[0]), publicKey: String(parts[1]))
    }

    /// Opens the fixture read-only, checks one proof of each kind against the signed
    /// checkpoint (untimed), and times `proofCalls` calls of `prove` with random arguments.
    static func prepared(_ s: Sizes, _ prove: @escaping (Store, Int64, Int64) throws -> Void,
                         arguments: @escaping (inout SystemRandomNumberGenerator, Int64) -> (Int64, Int64)) throws -> Prepared {
        try ensureFixture(s)
        // Read-write once (a fixture made before a new migration is migrated), then read-only.
        _ = try TallyPeer.open(ledgerDatabase(s), synchronous: .normal)
        try warmPageCache(ledgerDatabase(s))
        let store = Holder(try TallyPeer.open(ledgerDatabase(s), synchronous: .normal, readOnly: true))
        let checkpoint = try loadCheckpoint(s)
        let size = Int64(s.proofEvents)
        try store.value!.inclusionProof(seq: size / 2 + 1, treeSize: size).verify(against: checkpoint)
        let consistency = try store.value!.consistencyProof(from: size / 3 + 1, to: size)
        guard consistency.newRoot == checkpoint.rootHash else { throw PeerError("the consistency proof's new root is not the checkpoint's") }
        var random = SystemRandomNumberGenerator()
        let calls = (0..<s.proofCalls).map { _ in arguments(&random, size) }
        let times = Holder([Int]())
        return Prepared(run: {
            let target = store.value!
            var measured: [Int] = []
            measured.reserveCapacity(calls.count)
            for (a, b) in calls {
                let start = Monotonic.nanoseconds()
                try prove(target, a, b)
                measured.append(min(SampleMetric.maximum, Int(Monotonic.nanoseconds() - start)))
            }
            times.value = measured
        }, cleanup: { store.value = nil }, samples: { [SampleMetric.proof: times.value ?? []] })
    }

    public static func cases(_ s: Sizes) -> [Case] {
        [
            // A random event of the whole tree (the size of the signed checkpoint).
            Case(workload: "W10", peer: "Tally inclusion proof", operations: s.proofCalls, iterations: 5, warmup: 1, prepare: {
                try prepared(s, { store, seq, size in _ = try store.inclusionProof(seq: seq, treeSize: size) }) { random, size in
                    (Int64.random(in: 1...size, using: &random), size)
                }
            }, metrics: [SampleMetric.proof]),
            // Random sizes 1 ≤ old ≤ new ≤ the ledger's size.
            Case(workload: "W10", peer: "Tally consistency proof", operations: s.proofCalls, iterations: 5, warmup: 1, prepare: {
                try prepared(s, { store, old, new in _ = try store.consistencyProof(from: old, to: new) }) { random, size in
                    let old = Int64.random(in: 1...size, using: &random)
                    return (old, Int64.random(in: old...size, using: &random))
                }
            }, metrics: [SampleMetric.proof]),
        ]
    }
}
