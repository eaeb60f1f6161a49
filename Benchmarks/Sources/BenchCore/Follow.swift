import Foundation
import Tally

/// CLOCK_MONOTONIC in nanoseconds: one clock for every thread, and on Linux for every
/// process of the machine, so a writer's and a follower's readings can be subtracted.
public enum Monotonic {
    @inline(__always)
    public static func nanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}

/// Nearest-rank percentile of unsorted values (nil when empty).
public func percentile(_ values: [Int], _ p: Double) -> Int? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}

/// W8: when each event's append returned (writer side) and when a follower received it, by
/// seq. Every slot is written by one thread only and read after all of them finished.
final class LatencyRecorder: @unchecked Sendable {
    let count: Int
    private let committed: UnsafeMutablePointer<Int64>
    private let delivered: UnsafeMutablePointer<Int64>

    init(count: Int) {
        self.count = count
        committed = .allocate(capacity: count + 1)
        delivered = .allocate(capacity: count + 1)
        committed.initialize(repeating: 0, count: count + 1)
        delivered.initialize(repeating: 0, count: count + 1)
    }

    deinit {
        committed.deallocate()
        delivered.deallocate()
    }

    /// Seqs of a fresh database: 1…count.
    func commit(seq: Int64, at nanoseconds: Int64) {
        guard seq >= 1, seq <= Int64(count) else { return }
        committed[Int(seq)] = nanoseconds
    }

    func deliver(seq: Int64, at nanoseconds: Int64) {
        guard seq >= 1, seq <= Int64(count) else { return }
        delivered[Int(seq)] = nanoseconds
    }

    /// Delivery − commit return, per event that has both. A follower woken by the commit
    /// may receive an event before the writer's `append` has returned: those count as 0.
    func latencies() -> [Int] {
        var result: [Int] = []
        result.reserveCapacity(count)
        for seq in stride(from: 1, through: count, by: 1) where committed[seq] != 0 && delivered[seq] != 0 {
            result.append(min(SampleMetric.maximum, Int(max(0, delivered[seq] - committed[seq]))))
        }
        return result
    }
}

/// First error of several threads.
final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var error: (any Error)?
    func set(_ value: any Error) { lock.lock(); if error == nil { error = value }; lock.unlock() }
    var value: (any Error)? { lock.lock(); defer { lock.unlock() }; return error }
}

/// W8: the W5 load (writers × durable appends, each timed on return) with a follower in
/// this process, in another process, or none.
public enum FollowBench {
    /// Writers append their events; each writer stamps the seq it got right after `append`
    /// returns.
    static func write(_ store: Store, _ perWriter: [[NewEvent]], recorder: LatencyRecorder?) throws {
        try Threads.run(perWriter.count) { index in
            for event in perWriter[index] {
                let stored = try store.ledger.append(event)
                recorder?.commit(seq: stored.seq, at: Monotonic.nanoseconds())
            }
        }
    }

    /// (a) A thread following with `LedgerFeed.next(timeout:)`, caught up before the
    /// writers start; the run ends when it has received every event.
    static func inProcess(_ name: String, _ perWriter: [[NewEvent]]) throws -> Prepared {
        let total = perWriter.reduce(0) { $0 + $1.count }
        let path = BenchPaths.freshDatabase(name)
        let store = Holder(try TallyPeer.open(path, synchronous: .full))
        let recorder = LatencyRecorder(count: total)
        let ready = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let failure = FirstError()
        let follower = store.value!
        let thread = Thread {
            var feed = follower.ledger.follow(after: 0)
            var received = 0
            var announced = false
            do {
                while received < total {
                    guard let update = try feed.next(timeout: 60) else {
                        throw PeerError("follower: no event for 60 s after \(received) of \(total)")
                    }
                    switch update {
                    case .caughtUp:
                        if !announced { announced = true; ready.signal() }
                    case let .event(event):
                        recorder.deliver(seq: event.seq, at: Monotonic.nanoseconds())
                        received += 1
                    }
                }
            } catch {
                failure.set(error)
            }
            if !announced { ready.signal() }
            finished.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
        ready.wait()
        if let error = failure.value { throw error }
        return Prepared(run: {
            try write(store.value!, perWriter, recorder: recorder)
            finished.wait()
            if let error = failure.value { throw error }
        }, cleanup: {
            store.value = nil
            BenchPaths.removeDatabase(path)
        }, samples: { [SampleMetric.latency: recorder.latencies()] })
    }

    /// (b) `tally-bench follow-child DB COUNT` in its own process, caught up before the
    /// writers start; the run ends when it has reported every event.
    static func crossProcess(_ name: String, _ perWriter: [[NewEvent]]) throws -> Prepared {
        let total = perWriter.reduce(0) { $0 + $1.count }
        let path = BenchPaths.freshDatabase(name)
        let store = Holder(try TallyPeer.open(path, synchronous: .full))
        let recorder = LatencyRecorder(count: total)
        let child = try FollowChildProcess(database: path, count: total, recorder: recorder)
        return Prepared(run: {
            try write(store.value!, perWriter, recorder: recorder)
            try child.waitUntilDone()
        }, cleanup: {
            child.stop()
            store.value = nil
            BenchPaths.removeDatabase(path)
        }, samples: { [SampleMetric.latency: recorder.latencies()] })
    }

    /// (c) The same load with nobody following (W5's own workload, run beside the others).
    static func noFollower(_ name: String, _ perWriter: [[NewEvent]]) throws -> Prepared {
        let path = BenchPaths.freshDatabase(name)
        let store = Holder(try TallyPeer.open(path, synchronous: .full))
        let recorder = LatencyRecorder(count: perWriter.reduce(0) { $0 + $1.count })
        return Prepared(run: { try write(store.value!, perWriter, recorder: recorder) },
                        cleanup: { store.value = nil; BenchPaths.removeDatabase(path) })
    }

    /// The child's side (`tally-bench follow-child DB COUNT`): a read-only store following
    /// from the head; prints `ready`, then `SEQ MONOTONIC_NS` per event as it arrives (one
    /// write(2) each), then `done`.
    public static func runChild(database: String, count: Int) throws {
        let store = try TallyPeer.open(database, synchronous: .full, readOnly: true)
        var feed = store.ledger.follow(after: try store.ledger.head().seq)
        func emit(_ line: String) {
            var text = line + "\n"
            text.withUTF8 { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = Glibc.write(1, buffer.baseAddress! + offset, buffer.count - offset)
                    if written < 0 { if errno == EINTR { continue }; exit(5) }
                    offset += written
                }
            }
        }
        var received = 0
        while received < count {
            guard let update = try feed.next(timeout: 60) else {
                throw PeerError("follow-child: no event for 60 s after \(received) of \(count)")
            }
            switch update {
            case .caughtUp:
                emit("ready")
            case let .event(event):
                let now = Monotonic.nanoseconds()
                emit("\(event.seq) \(now)")
                received += 1
            }
        }
        emit("done")
    }
}

/// The parent's handle on a `tally-bench follow-child` process: reads its lines on a thread.
final class FollowChildProcess: @unchecked Sendable {
    private let process = Process()
    private let ready = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var sawReady = false
    private var sawDone = false
    private var failure: String?

    init(database: String, count: Int, recorder: LatencyRecorder) throws {
        process.executableURL = URL(fileURLWithPath: BenchPaths.driverExecutable())
        process.arguments = ["follow-child", database, String(count)]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let handle = output.fileHandleForReading
        let reader = Thread { [self] in
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            let fd = handle.fileDescriptor
            reading: while true {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
                if n < 0 { if errno == EINTR { continue }; break }
                if n == 0 { break }
                pending.append(contentsOf: buffer[0..<n])
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[0..<newline], as: UTF8.self)
                    pending.removeSubrange(0...newline)
                    if line == "ready" {
                        lock.lock(); sawReady = true; lock.unlock()
                        ready.signal()
                    } else if line == "done" {
                        lock.lock(); sawDone = true; lock.unlock()
                        break reading
                    } else {
                        let parts = line.split(separator: " ")
                        if parts.count == 2, let seq = Int64(parts[0]), let nanoseconds = Int64(parts[1]) {
                            recorder.deliver(seq: seq, at: nanoseconds)
                        }
                    }
                }
            }
            lock.lock()
            if !sawDone { failure = "the follow-child process ended without reporting every event" }
            let readyMissing = !sawReady
            lock.unlock()
            if readyMissing { ready.signal() }
            done.signal()
        }
        reader.start()
        if ready.wait(timeout: .now() + 60) == .timedOut {
            stop()
            throw PeerError("the follow-child process did not report ready within 60 s")
        }
        lock.lock(); let problem = sawReady ? nil : failure; lock.unlock()
        if let problem { throw PeerError(problem) }
    }

    /// Until the child has reported every event (its exit is awaited by `stop`, outside the
    /// timed region: Foundation polls for it every 50 ms).
    func waitUntilDone() throws {
        if done.wait(timeout: .now() + 120) == .timedOut { throw PeerError("the follow-child process did not finish within 120 s") }
        lock.lock(); let problem = failure; lock.unlock()
        if let problem { throw PeerError(problem) }
    }

    func stop() {
        lock.lock(); let finished = sawDone; lock.unlock()
        if !finished, process.isRunning { process.terminate() }
        process.waitUntilExit()
        if finished, process.terminationStatus != 0 {
            try? FileHandle.standardError.write(contentsOf: Data("warning: follow-child exited with status \(process.terminationStatus)\n".utf8))
        }
    }
}
