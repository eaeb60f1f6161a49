import Foundation
import Tally
import Testing

/// `tally log --follow` and `tally consumers`, and the proof that the feed is gap-free
/// across processes: many writers, several followers, one chain.
@Suite("CLI follow: every follower sees every seq once, in order, whoever wrote it")
struct CLIFollowTests {
    let scratch = Scratch()

    /// A started process writing its stdout to a file (never a pipe that could fill up).
    private struct Started {
        let process: Process
        let output: String
        func wait() -> String {
            process.waitUntilExit()
            return (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        }
    }

    private func start(_ executable: String, _ arguments: [String], output name: String) throws -> Started {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = scratch.file(name)
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardError = FileHandle.standardError
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return Started(process: process, output: output)
    }

    private var harness: String {
        get throws {
            let binary = try #require(CLI.binary)
            return URL(fileURLWithPath: binary).deletingLastPathComponent().appendingPathComponent("TallyHarness").path
        }
    }

    @Test("2 library writers (group commit) and 2 `tally append` loops, followed by 2 `log --follow` processes and 1 in-process feed")
    func manyWritersManyFollowers() throws {
        let binary = try #require(CLI.binary)
        let database = scratch.database
        expectSuccess(try CLI.run(["init"], database: database))
        let (libraryEvents, cliEvents) = (300, 40)
        let total = 2 * libraryEvents + 2 * cliEvents

        // Followers first, so they see the writers live, not only in a catch-up.
        let followers = try (1...2).map { index in
            try start(binary, ["--db", database, "log", "--follow", "--json", "--limit", "\(total)"], output: "follower-\(index).jsonl")
        }
        let store = try Store(path: database)
        let inProcess = EventBox()
        let feedThread = Thread {
            var feed = store.ledger.follow()
            while inProcess.count < total, let update = try? feed.next(timeout: 60) {
                if case let .event(event) = update { inProcess.append(event) }
            }
        }
        feedThread.start()

        let writers = try [
            start(try harness, ["ledger-append", database, "library-a", "\(libraryEvents)"], output: "writer-a"),
            start(try harness, ["ledger-append", database, "library-b", "\(libraryEvents)"], output: "writer-b"),
            start("/bin/sh", ["-c", "for i in $(seq \(cliEvents)); do \"$0\" --db \"$1\" --quiet append --stream cli-c --kind charge || exit 1; done",
                              binary, database], output: "writer-c"),
            start("/bin/sh", ["-c", "for i in $(seq \(cliEvents)); do \"$0\" --db \"$1\" --quiet append --stream cli-d --kind charge || exit 1; done",
                              binary, database], output: "writer-d"),
        ]
        for writer in writers {
            _ = writer.wait()
            #expect(writer.process.terminationStatus == 0)
        }

        let chain = try store.ledger.verifyChain()
        #expect(chain.isIntact && chain.headSeq == Int64(total))
        for follower in followers {
            let lines = follower.wait().split(separator: "\n")
            #expect(follower.process.terminationStatus == 0)
            let events = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
            expectOneChain(events.map { ($0["seq"] as? Int64 ?? Int64($0["seq"] as? Int ?? -1), $0["prev_hash"] as? String ?? "", $0["hash"] as? String ?? "") },
                           total: total, head: chain.headHash)
        }
        while feedThread.isExecuting { usleep(1_000) }
        expectOneChain(inProcess.events.map { ($0.seq, $0.prevHash, $0.hash) }, total: total, head: chain.headHash)
    }

    /// Seqs 1…total exactly once, in order, each linked to the one before, ending at `head`.
    private func expectOneChain(_ events: [(seq: Int64, prevHash: String, hash: String)], total: Int, head: String) {
        #expect(events.map(\.seq) == (1...Int64(total)).map { $0 }, "seqs: \(events.map(\.seq).prefix(20))…")
        var previous = String(repeating: "0", count: 64)
        for event in events {
            #expect(event.prevHash == previous, "seq \(event.seq) does not link to the event before it")
            previous = event.hash
        }
        #expect(previous == head)
    }

    @Test("--consumer resumes where it stopped and records what it printed; consumers lists, resets and removes")
    func consumers() throws {
        let database = scratch.database
        expectSuccess(try CLI.run(["init"], database: database))
        for index in 1...5 {
            expectSuccess(try CLI.run(["append", "--stream", "s/\(index % 2)", "--kind", index % 2 == 0 ? "charge" : "note"], database: database))
        }
        let first = try jsonLines(expectSuccess(try CLI.run(["log", "--follow", "--consumer", "p", "--limit", "2", "--json"], database: database)))
        #expect(first.map { $0["seq"] as? Int } == [1, 2])
        let listed = try jsonObject(expectSuccess(try CLI.run(["consumers", "--json"], database: database)))
        let entry = try #require((listed["consumers"] as? [[String: Any]])?.first)
        #expect(entry["name"] as? String == "p" && entry["position"] as? Int == 2 && entry["behind"] as? Int == 3)
        #expect(entry["is_running"] as? Bool == false)
        let second = try jsonLines(expectSuccess(try CLI.run(["log", "--follow", "--consumer", "p", "--limit", "3", "--json"], database: database)))
        #expect(second.map { $0["seq"] as? Int } == [3, 4, 5])

        // Filters: only charges of stream s/0.
        let charges = try jsonLines(expectSuccess(try CLI.run(["log", "--follow", "--kind", "charge", "--limit", "2", "--json"], database: database)))
        #expect(charges.map { $0["seq"] as? Int } == [2, 4])

        expectSuccess(try CLI.run(["consumers", "reset", "p", "--to", "1"], database: database))
        let third = try jsonLines(expectSuccess(try CLI.run(["log", "--follow", "--consumer", "p", "--limit", "1", "--json"], database: database)))
        #expect(third.map { $0["seq"] as? Int } == [2])
        expectError(try CLI.run(["consumers", "reset", "p", "--to", "99"], database: database), exit: 2, mentions: ["0…5"])
        expectError(try CLI.run(["log", "--consumer", "p"], database: database), exit: 2, mentions: ["--follow"])
        expectError(try CLI.run(["log", "--follow", "--consumer", "p", "--since", "2"], database: database), exit: 2, mentions: ["--since", "--consumer"])
        expectSuccess(try CLI.run(["consumers", "remove", "p"], database: database))
        expectError(try CLI.run(["consumers", "remove", "p"], database: database), exit: 2, mentions: ["no consumer named 'p'", "list them with `tally consumers`"])
        expectError(try CLI.run(["consumers", "reset", "p", "--to", "0"], database: database), exit: 2,
                    mentions: ["no consumer named 'p'", "list them with `tally consumers`"])
    }

    @Test("a consumer that runs in another process cannot be run, reset or removed meanwhile (exit 5, consumer_busy)")
    func busyConsumer() throws {
        let binary = try #require(CLI.binary)
        let database = scratch.database
        expectSuccess(try CLI.run(["init"], database: database))
        let running = try start(binary, ["--db", database, "log", "--follow", "--consumer", "busy", "--limit", "1"], output: "busy.out")
        defer { running.process.terminate() }
        // Wait until it holds the lock (it has created the consumer).
        for _ in 0..<500 {
            if let listed = try? jsonObject(CLI.run(["consumers", "--json"], database: database).stdout),
               ((listed["consumers"] as? [[String: Any]])?.first?["is_running"] as? Bool) == true { break }
            usleep(10_000)
        }
        let reset = try CLI.run(["--json", "consumers", "reset", "busy", "--to", "0"], database: database)
        #expect(reset.status == 5, "\(reset)")
        #expect(reset.stderr.contains("\"kind\":\"consumer_busy\""), "\(reset)")
        expectError(try CLI.run(["log", "--follow", "--consumer", "busy", "--limit", "1"], database: database), exit: 5, mentions: ["running elsewhere"])
        // The running one gets its event and exits, releasing the lock.
        expectSuccess(try CLI.run(["append", "--stream", "s", "--kind", "k"], database: database))
        _ = running.wait()
        #expect(running.process.terminationStatus == 0)
        expectSuccess(try CLI.run(["consumers", "remove", "busy"], database: database))
    }
}

/// Events collected by a follower thread.
private final class EventBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [LedgerEvent] = []
    var count: Int { lock.withLock { stored.count } }
    var events: [LedgerEvent] { lock.withLock { stored } }
    func append(_ event: LedgerEvent) { lock.withLock { stored.append(event) } }
}
