import Foundation
import Tally

/// W9: command-line start-up. Each invocation is one `posix_spawn` + `waitpid`, stdout and
/// stderr to /dev/null, timed from before the spawn to after the exit.
public enum CLIBench {
    /// One process run to completion; throws unless it exits with status 0.
    static func invoke(_ executable: String, _ arguments: [String]) throws {
        var argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, &argv, environ)
        guard spawned == 0 else { throw PeerError("posix_spawn \(executable): errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw PeerError("waitpid: errno \(errno)") }
        }
        // WIFEXITED && WEXITSTATUS == 0, without the C macros.
        guard status & 0x7F == 0, (status >> 8) & 0xFF == 0 else {
            throw PeerError("\(([executable] + arguments).joined(separator: " ")) failed (wait status \(status))")
        }
    }

    /// `runs` timed invocations after one untimed warm-up.
    static func prepared(runs: Int, executable: @escaping () throws -> String, arguments: [String],
                         setup: () throws -> Void = {}, cleanup: @escaping () -> Void = {}) throws -> Prepared {
        try setup()
        let program = try executable()
        try invoke(program, arguments)  // warm-up: page cache, dynamic linker
        let times = Holder([Int]())
        return Prepared(run: {
            var measured: [Int] = []
            measured.reserveCapacity(runs)
            for _ in 0..<runs {
                let start = Monotonic.nanoseconds()
                try invoke(program, arguments)
                measured.append(min(SampleMetric.maximum, Int(Monotonic.nanoseconds() - start)))
            }
            times.value = measured
        }, cleanup: cleanup, samples: { [SampleMetric.invocation: times.value ?? []] })
    }

    /// The table `sqlite3` inserts into: as small as the command line's event (stream, kind,
    /// a timestamp), WAL mode like Tally's database.
    static let tinyTable = "CREATE TABLE t (id INTEGER PRIMARY KEY, stream TEXT NOT NULL, kind TEXT NOT NULL, recorded_at TEXT NOT NULL)"
    /// `synchronous=FULL` as Tally's CLI uses (the sqlite3 CLI's default too, set here so
    /// it does not depend on how the system library was built).
    static let tinyInsert = "PRAGMA synchronous = FULL; INSERT INTO t (stream, kind, recorded_at) VALUES ('s', 'k', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"

    /// `tally append` of one event per invocation into a fresh Tally database, with the
    /// `tally` binary `executable` returns.
    private static func appendCase(_ peer: String, database name: String, executable: @escaping () throws -> String,
                                   runs: Int) -> Case {
        Case(workload: "W9", peer: peer, operations: runs, iterations: 5, warmup: 1, prepare: {
            let database = BenchPaths.freshDatabase(name)
            return try prepared(runs: runs, executable: executable,
                                arguments: ["--db", database, "append", "--stream", "s", "--kind", "k"],
                                setup: { _ = try TallyPeer.open(database, synchronous: .full) },
                                cleanup: { BenchPaths.removeDatabase(database) })
        }, metrics: [SampleMetric.invocation])
    }

    public static func cases(_ s: Sizes) -> [Case] {
        let runs = s.cliRuns
        return [
            appendCase("tally append", database: "w9-tally.db", executable: BenchPaths.tallyCLI, runs: runs),
            appendCase("tally append, static executable", database: "w9-tally-static.db", executable: BenchPaths.tallyStaticCLI,
                       runs: runs),
            Case(workload: "W9", peer: "sqlite3 insert", operations: runs, iterations: 5, warmup: 1, prepare: {
                let database = BenchPaths.freshDatabase("w9-sqlite3.db")
                return try prepared(runs: runs, executable: { try BenchPaths.executableInPath("sqlite3") },
                                    arguments: ["-batch", "-init", "/dev/null", database, tinyInsert],
                                    setup: { try RawPeer(database, synchronous: "FULL").exec(tinyTable) },
                                    cleanup: { BenchPaths.removeDatabase(database) })
            }, metrics: [SampleMetric.invocation]),
            Case(workload: "W9", peer: "tally --help", operations: runs, iterations: 5, warmup: 1, prepare: {
                try prepared(runs: runs, executable: BenchPaths.tallyCLI, arguments: ["--help"])
            }, metrics: [SampleMetric.invocation]),
            Case(workload: "W9", peer: "tally --version", operations: runs, iterations: 5, warmup: 1, prepare: {
                try prepared(runs: runs, executable: BenchPaths.tallyCLI, arguments: ["--version"])
            }, metrics: [SampleMetric.invocation]),
            Case(workload: "W9", peer: "sqlite3 --version", operations: runs, iterations: 5, warmup: 1, prepare: {
                try prepared(runs: runs, executable: { try BenchPaths.executableInPath("sqlite3") }, arguments: ["--version"])
            }, metrics: [SampleMetric.invocation]),
        ]
    }
}
