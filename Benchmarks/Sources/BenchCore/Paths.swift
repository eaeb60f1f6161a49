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

    /// The text of Migrations/0001_initial.sql, which the raw-C and GRDB peers execute.
    public static let schemaSQL: String = {
        let path = (repositoryRoot as NSString).appendingPathComponent("Migrations/0001_initial.sql")
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            fatalError("cannot read the schema at \(path)")
        }
        return text
    }()

    /// Removes a database file and its WAL and shared-memory files.
    public static func removeDatabase(_ path: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { unlink(path + suffix) }
    }

    /// A database path under the data directory with no file there yet.
    public static func freshDatabase(_ name: String) -> String {
        let path = data(name)
        removeDatabase(path)
        return path
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
