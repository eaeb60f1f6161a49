import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

@testable import Tally

/// Problems seen on other threads, reported by the test thread.
final class ProblemLog: @unchecked Sendable {
    private let lock = NSLock()
    private var problems: [String] = []

    func add(_ problem: String) { lock.withLock { problems.append(problem) } }
    var all: [String] { lock.withLock { problems } }
}

/// A thread that keeps reading `path` until stopped and records any content that is not
/// one of the complete candidates — the torn or partial file atomic writes must prevent.
final class ContentWatcher: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false
    private let done = DispatchSemaphore(value: 0)
    private(set) var reads = 0

    init(path: String, candidates: Set<[UInt8]>, problems: ProblemLog) {
        let thread = Thread { [self] in
            while !lock.withLock({ stopped }) {
                if let seen = contents(path), !candidates.contains(seen) {
                    problems.add("a reader saw \(seen.count) bytes that are no writer's complete content")
                }
                lock.withLock { reads += 1 }
            }
            done.signal()
        }
        thread.start()
    }

    func stop() {
        lock.withLock { stopped = true }
        done.wait()
    }
}

@Suite struct FilesConcurrencyTests {
    @Test func eightThreadsWritingOnePath() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/shared.dat"
            let writers = 8
            // Sizes around and above the 64 KiB buffer, all different, so a mix would show.
            let payloads = (0..<writers).map { writerContent(seed: $0, size: 40_000 + $0 * 23_456) }
            let initial = Array("initial".utf8)
            try AtomicFile.write(initial, to: path)
            let problems = ProblemLog()
            let watcher = ContentWatcher(path: path, candidates: Set(payloads + [initial]), problems: problems)
            defer { watcher.stop() }
            for round in 0..<25 {
                let group = DispatchGroup()
                for index in 0..<writers {
                    group.enter()
                    let payload = payloads[index]
                    Thread {
                        for _ in 0..<4 {
                            do {
                                try AtomicFile.write(payload, to: path)
                            } catch {
                                problems.add("round \(round) writer \(index): \(error)")
                            }
                        }
                        group.leave()
                    }.start()
                }
                group.wait()
                let final = contents(path)
                #expect(final.map { payloads.contains($0) } == true, "round \(round): final file is no writer's content")
                #expect(listing(dir) == ["shared.dat"], "round \(round): leftovers \(listing(dir))")
            }
            #expect(problems.all.isEmpty, "\(problems.all.prefix(5))")
        }
    }

    @Test func fourProcessesWritingOnePath() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/shared.dat"
            let processes = 4
            let sizes = (0..<processes).map { 30_000 + $0 * 41_000 }
            let payloads = (0..<processes).map { writerContent(seed: $0, size: sizes[$0]) }
            let initial = Array("initial".utf8)
            try AtomicFile.write(initial, to: path)
            let problems = ProblemLog()
            let watcher = ContentWatcher(path: path, candidates: Set(payloads + [initial]), problems: problems)
            defer { watcher.stop() }
            for round in 0..<6 {
                let children = try (0..<processes).map {
                    try Harness.start(["files-write-loop", path, "\($0)", "\(sizes[$0])", "30"])
                }
                for child in children {
                    child.waitUntilExit()
                    #expect(child.terminationStatus == 0, "round \(round): a writer process failed")
                }
                let final = contents(path)
                #expect(final.map { payloads.contains($0) } == true, "round \(round): final file is no writer's content")
                #expect(listing(dir) == ["shared.dat"], "round \(round): leftovers \(listing(dir))")
            }
            #expect(problems.all.isEmpty, "\(problems.all.prefix(5))")
        }
    }
}
