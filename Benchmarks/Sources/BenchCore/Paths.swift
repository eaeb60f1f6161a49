import Foundation

/// Where the benchmarks keep their files, and the schema every peer gets.
public enum BenchPaths {
    /// `Benchmarks/` (this package's root), found from this source file.
    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)  // …/Benchmarks/Sources/BenchCore/Paths.swift
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The repository root (Tally's package), one level above.
    public static let repositoryRoot: String = (packageRoot as NSString).deletingLastPathComponent

    /// Databases, snapshots and mirrors: `$TALLY_BENCH_DATA`, else `Benchmarks/.data`
    /// (gitignored; on the disk under test, never a tmpfs).
    public static let dataDirectory: String = {
        let directory = ProcessInfo.processInfo.environment["TALLY_BENCH_DATA"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (packageRoot as NSString).appendingPathComponent(".data")
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }()

    /// A path in the data directory.
    public static func data(_ name: String) -> String {
        (dataDirectory as NSString).appendingPathComponent(name)
    }

    /// The schema of a Tally database: every SQLite migration (`Migrations/NNNN_*.sql`, in
    /// order), which the raw-C and GRDB peers execute, so their writes maintain the same
    /// tables, indexes and triggers as Tally's (0002's case-insensitive key index included).
    public static let schemaSQL: String = {
        let directory = (repositoryRoot as NSString).appendingPathComponent("Migrations")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".sql") && $0.first?.isNumber == true }
            .sorted()
        guard names.first == "0001_initial.sql" else { fatalError("no migrations in \(directory)") }
        return names.map { name -> String in
            let path = (directory as NSString).appendingPathComponent(name)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                fatalError("cannot read the schema at \(path)")
            }
            return text
        }.joined(separator: "\n;\n")
    }()

    /// `tally-bench` (for W8's follower process): `$TALLY_BENCH_DRIVER`, else the one beside
    /// the running executable (the harness and the driver are built into one directory),
    /// else this package's release build.
    public static func driverExecutable() -> String {
        if let path = ProcessInfo.processInfo.environment["TALLY_BENCH_DRIVER"], !path.isEmpty { return path }
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            let sibling = ((executable as NSString).deletingLastPathComponent as NSString).appendingPathComponent("tally-bench")
            if FileManager.default.isExecutableFile(atPath: sibling) { return sibling }
        }
        return (packageRoot as NSString).appendingPathComponent(".build/release/tally-bench")
    }

    /// The `tally` CLI for W9: `$TALLY_CLI`, else the main package's release build
    /// (`swift build -c release --product tally --static-swift-stdlib` in the repository root;
    /// run.sh does it).
    public static func tallyCLI() throws -> String {
        try built(environment: "TALLY_CLI", default: ".build/release/tally",
                  command: "swift build -c release --product tally --static-swift-stdlib")
    }

    /// The `tally` CLI built as a static executable for W9: `$TALLY_CLI_STATIC`, else the
    /// main package's `.build-static/release/tally` (run.sh builds it).
    public static func tallyStaticCLI() throws -> String {
        try built(environment: "TALLY_CLI_STATIC", default: ".build-static/release/tally",
                  command: "swift build -c release --product tally --static-swift-stdlib -Xswiftc -static-executable --scratch-path .build-static")
    }

    /// The executable `$variable` names, else `path` under the repository root; an error
    /// naming the build `command` when there is none.
    private static func built(environment variable: String, default path: String, command: String) throws -> String {
        let path = ProcessInfo.processInfo.environment[variable].flatMap { $0.isEmpty ? nil : $0 }
            ?? (repositoryRoot as NSString).appendingPathComponent(path)
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw PeerError("no tally CLI at \(path): build it with `\(command)` in \(repositoryRoot), or set \(variable)")
        }
        return path
    }

    /// An executable found in `$PATH`.
    public static func executableInPath(_ name: String) throws -> String {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        for directory in directories {
            let path = (String(directory) as NSString).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw PeerError("\(name) is not in PATH")
    }

    /// Removes a database file and its WAL and shared-memory files.
    public static func removeDatabase(_ path: String) {
        if ProcessInfo.processInfo.environment["TALLY_BENCH_KEEP"] != nil { return }  // experiments: inspect a case's database
        for suffix in ["", "-wal", "-shm", "-journal"] { unlink(path + suffix) }
    }

    /// A database path under the data directory with no file there yet.
    public static func freshDatabase(_ name: String) -> String {
        let path = data(name)
        removeDatabase(path)
        return path
    }

    /// Where W7's finished mirrors wait until `run.sh` removes them after the last group.
    public static var retiredDirectory: String { data("retired") }

    /// Moves a directory tree out of the way (a rename: it frees and allocates no inode) to
    /// be removed after the run. W7 writes 100,000 new files per iteration; removing the
    /// last iteration's 100,000 first made the next one 10× slower on this VM's ext4, which
    /// has no journal: it then skips any inode freed in the last 60 s (360 s while its
    /// inode-table block is dirty) and checks each candidate against the inode table on
    /// the way (`recently_deleted`, `find_inode_bit` and the buffer lookups they make: half
    /// the kernel samples of a run with one slow iteration).
    public static func retire(_ path: String) {
        guard FileManager.default.fileExists(atPath: path) else { return }
        mkdir(retiredDirectory, 0o755)
        let target = (retiredDirectory as NSString).appendingPathComponent("\((path as NSString).lastPathComponent)-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        if rename(path, target) != 0 { removeTree(path) }
    }

    /// Removes a directory tree (mirrors of 100,000 files): `rm -rf`, much faster than
    /// FileManager on this size.
    public static func removeTree(_ path: String) {
        guard FileManager.default.fileExists(atPath: path) else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/rm")
        process.arguments = ["-rf", "--", path]
        try? process.run()
        process.waitUntilExit()
    }
}
