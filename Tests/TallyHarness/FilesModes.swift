import Foundation
import Tally

/// Harness modes for the Files/ tests. Returns nil when `mode` is not one of ours.
///
/// - `files-write PATH CONTENT [PERMISSIONS [UMASK [BACKUPS]]]` (octal): one atomic write,
///   after setting the umask, so a test can prove the mode ignores it without changing the
///   umask of the test process (which other tests share).
/// - `files-write-loop PATH SEED SIZE COUNT`: COUNT atomic writes of `writerContent(SEED, SIZE)`.
/// - `files-stream PATH MEGABYTES`: streams that many MiB through `AtomicFile.Writer`, then
///   prints `rss-start KB` and `hwm-end KB` from /proc/self/status.
/// - `files-lock-hold PATH shared|exclusive`: takes the lock, prints `locked`, holds it until
///   stdin reaches end of file.
enum FilesModes {
    static func run(_ mode: String, _ arguments: [String]) -> Int32? {
        switch mode {
        case "files-write": return report { try write(arguments) }
        case "files-write-loop": return report { try writeLoop(arguments) }
        case "files-stream": return report { try stream(arguments) }
        case "files-lock-hold": return report { try holdLock(arguments) }
        default: return nil
        }
    }

    /// The contents writer `seed` writes: a header naming the writer, then one repeated
    /// letter, exactly `size` bytes. Kept identical to the copy in the tests.
    static func writerContent(seed: Int, size: Int) -> [UInt8] {
        var bytes = Array("writer-\(seed):".utf8)
        let fill = UInt8(ascii: "a") + UInt8(seed % 26)
        if bytes.count < size { bytes += [UInt8](repeating: fill, count: size - bytes.count) }
        return Array(bytes.prefix(size))
    }

    private static func report(_ body: () throws -> Void) -> Int32 {
        do {
            try body()
            return 0
        } catch {
            try? FileHandle.standardError.write(contentsOf: Data("TallyHarness: \(error)\n".utf8))
            return 1
        }
    }

    private static func argument(_ arguments: [String], _ index: Int, _ name: String) throws -> String {
        guard index < arguments.count else {
            throw TallyError.invalidInput(field: name, reason: "missing harness argument")
        }
        return arguments[index]
    }

    private static func integer(_ text: String, radix: Int = 10, _ name: String) throws -> Int {
        guard let value = Int(text, radix: radix) else {
            throw TallyError.invalidInput(field: name, reason: "'\(text)' is not a number")
        }
        return value
    }

    private static func write(_ arguments: [String]) throws {
        let path = try argument(arguments, 0, "path")
        let content = try argument(arguments, 1, "content")
        let permissions = arguments.count > 2 ? try integer(arguments[2], radix: 8, "permissions") : 0o600
        if arguments.count > 3 { umask(mode_t(try integer(arguments[3], radix: 8, "umask"))) }
        let backups = arguments.count > 4 ? try integer(arguments[4], "backups") : 0
        try AtomicFile.write(Array(content.utf8), to: path, permissions: mode_t(permissions), backups: backups)
    }

    private static func writeLoop(_ arguments: [String]) throws {
        let path = try argument(arguments, 0, "path")
        let seed = try integer(try argument(arguments, 1, "seed"), "seed")
        let size = try integer(try argument(arguments, 2, "size"), "size")
        let count = try integer(try argument(arguments, 3, "count"), "count")
        let content = writerContent(seed: seed, size: size)
        for _ in 0..<count {
            try AtomicFile.write(content, to: path)
        }
    }

    private static func stream(_ arguments: [String]) throws {
        let path = try argument(arguments, 0, "path")
        let megabytes = try integer(try argument(arguments, 1, "megabytes"), "megabytes")
        let start = statusKilobytes("VmRSS")
        // One reused 1 MiB chunk, changed each round, so the only large allocation is ours.
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        let writer = try AtomicFile.Writer(path: path)
        for round in 0..<megabytes {
            chunk[0] = UInt8(truncatingIfNeeded: round)
            // Odd-sized pieces exercise the buffered path as well as the direct one.
            var offset = 0
            for piece in [1, 4_095, 70_000, 1_000] {
                try writer.write(chunk[offset..<(offset + piece)])
                offset += piece
            }
            try writer.write(chunk[offset...])
        }
        try writer.commit()
        print("rss-start \(start)")
        print("hwm-end \(statusKilobytes("VmHWM"))")
    }

    private static func holdLock(_ arguments: [String]) throws {
        let path = try argument(arguments, 0, "path")
        let mode: FileLock.Mode = try argument(arguments, 1, "mode") == "shared" ? .shared : .exclusive
        let lock = try FileLock(path: path)
        try lock.lock(mode)
        // Straight to the descriptor: print() is buffered when stdout is a pipe.
        try? FileHandle.standardOutput.write(contentsOf: Data("locked\n".utf8))
        _ = FileHandle.standardInput.readDataToEndOfFile()
        try lock.unlock()
    }

    /// A `kB` field of /proc/self/status, or -1 when absent.
    private static func statusKilobytes(_ field: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            let digits = line.split(separator: " ").compactMap { Int($0) }
            return digits.first ?? -1
        }
        return -1
    }
}
