import Foundation
import Testing
@testable import Tally

/// PostgreSQL with a synchronous streaming standby: the primary crashes while 4 writer
/// processes append; the standby is promoted; nothing acknowledged is lost, the chain
/// verifies, and the writers reconnect and extend the same chain.
@Suite("Reliability: a PostgreSQL failover to a synchronous standby loses no acknowledged append",
       .serialized, .enabled(if: PostgresCluster.available, "needs PostgreSQL's server binaries and TALLY_TEST_POSTGRES (.ci/run provides both)"))
struct PostgresFailoverTests {
    @Test("4 writers, primary stopped with -m immediate at a random moment, standby promoted: every acknowledged append is there, in one chain")
    func failover() throws {
        let primary = try PostgresCluster.start()
        defer { primary.destroy() }
        let standby = try primary.startStandby()
        defer { standby.destroy() }
        let conninfo = "postgresql:///tally?host=\(primary.directory),\(standby.directory)&port=\(primary.port),\(standby.port)"
            + "&user=postgres&target_session_attrs=read-write&connect_timeout=2"
        _ = try Store(postgres: conninfo)

        let outputs = (0..<4).map { "\(primary.directory)-writer-\($0)" }
        let writers = try (0..<4).map { index in try Harness.startLogging(["append-retrying", conninfo, "w\(index)"], output: outputs[index]) }
        usleep(UInt32.random(in: 1_000_000...2_000_000))
        let before = try outputs.map { try Acknowledged.read($0).count }
        try primary.crash()
        try standby.promote()
        // The writers find the new primary and go on.
        usleep(2_500_000)
        for writer in writers { kill(writer.processIdentifier, SIGKILL) }
        for writer in writers { writer.waitUntilExit() }

        let store = try Store(postgres: "postgresql:///tally?host=\(standby.directory)&port=\(standby.port)&user=postgres")
        let report = try store.verify()
        #expect(report.isClean, "\(report.findings) \(report.chain)")
        var total = 0
        for (index, output) in outputs.enumerated() {
            let acknowledged = try Acknowledged.read(output)
            total += acknowledged.count
            #expect(acknowledged.count > before[index], "writer \(index) did not continue after the failover")
            for (number, seq) in acknowledged {
                let event = try store.ledger.event(id: "w\(index)-\(number)")
                #expect(event?.seq == seq, "acknowledged w\(index)-\(number) (seq \(seq)) is missing or moved after the failover")
            }
        }
        print("postgres failover: \(total) acknowledged appends, \(before.reduce(0, +)) before the crash, head \(report.chain.headSeq), all present")
    }
}

/// Lines "N SEQ" a writer printed: what it had acknowledged when it was killed.
enum Acknowledged {
    static func read(_ path: String) throws -> [(Int, Int64)] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let complete = text.hasSuffix("\n") ? text : String(text[..<(text.lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex)])
        return complete.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 2, let number = Int(parts[0]), let seq = Int64(parts[1]) else { return nil }
            return (number, seq)
        }
    }
}

/// A throwaway PostgreSQL cluster run by scripts/pg-cluster.sh (Unix socket only, as the
/// postgres user when the tests run as root).
struct PostgresCluster {
    let directory: String
    let port: Int

    static var script: String { packageRoot.appendingPathComponent("scripts/pg-cluster.sh").path }
    static var available: Bool {
        Backend.postgresURI != nil && FileManager.default.fileExists(atPath: "/usr/lib/postgresql")
    }

    static func start() throws -> PostgresCluster {
        let directory = try makeDirectory()
        let port = Int.random(in: 30_000...40_000)
        try run(["start", directory, String(port)])
        return PostgresCluster(directory: directory, port: port)
    }

    func startStandby() throws -> PostgresCluster {
        let directory = try Self.makeDirectory()
        let port = self.port + 1
        try Self.run(["standby", self.directory, directory, String(port)])
        return PostgresCluster(directory: directory, port: port)
    }

    func crash() throws { try Self.run(["crash", directory]) }
    func promote() throws { try Self.run(["promote", directory]) }
    func destroy() { _ = try? Self.run(["destroy", directory]) }

    /// A short directory: the socket path must fit in 107 bytes.
    private static func makeDirectory() throws -> String {
        var template = Array("/tmp/pgXXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TallyError.io(step: "mkdtemp", path: "/tmp/pgXXXXXX", errno: errno)
        }
        return String(cString: made)
    }

    /// Runs the script with its output discarded, through posix_spawn: Foundation's
    /// `Process` can wait forever when the server the script starts inherits one of its
    /// descriptors.
    private static func run(_ arguments: [String]) throws {
        let command = "exec >/dev/null 2>&1 </dev/null; exec bash \"$0\" \"$@\""
        switch System.run("/bin/bash", ["-c", command, script] + arguments) {
        case .success(0): return
        case let .success(status):
            throw TallyError.io(step: "pg-cluster.sh \(arguments.joined(separator: " ")) (exit \(status))", path: script, errno: 5)
        case let .failure(error):
            throw TallyError.io(step: "pg-cluster.sh", path: script, errno: error.rawValue)
        }
    }
}

extension Harness {
    /// Starts the harness with its standard output going to the file `output`.
    static func startLogging(_ arguments: [String], output: String) throws -> Process {
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let process = Process()
        guard let executable else {
            throw TallyError.invalidInput(field: "TallyHarness", reason: "the harness executable was not built")
        }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }
}
