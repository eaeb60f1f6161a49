import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import Testing

@testable import Tally

// Shared helpers for the Files/ tests: scratch directories, a fault-injecting syscall seam,
// a log-capturing handler, the harness locator and tmpfs mounts.

/// A scratch directory under /tmp, removed when the test's closure returns.
@discardableResult
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    var template = Array("/tmp/tally-files-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else {
        throw TallyError.io(step: "mkdir", path: "/tmp/tally-files-XXXXXX", errno: errno)
    }
    let directory = String(cString: made)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try body(directory)
}

/// The bytes of a file, or nil when it cannot be read.
func contents(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { Array($0) }
}

/// The names in a directory, sorted.
func listing(_ directory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
}

/// `lstat` of a path, or nil.
func fileInfo(_ path: String) -> stat? {
    var info = stat()
    return lstat(path, &info) == 0 ? info : nil
}

/// The permission bits of a file.
func permissions(_ path: String) -> mode_t? {
    fileInfo(path).map { $0.st_mode & 0o7777 }
}

/// Writes a file the plain way (not through the code under test).
func plainWrite(_ path: String, _ text: String, mode: mode_t = 0o644) throws {
    guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
        throw TallyError.io(step: "open", path: path, errno: errno)
    }
    chmod(path, mode)
}

/// Sets a file's modification (and access) time without following symbolic links.
func setModificationTime(_ path: String, secondsSince1970: Int) {
    var times = [
        timespec(tv_sec: secondsSince1970, tv_nsec: 0), timespec(tv_sec: secondsSince1970, tv_nsec: 0),
    ]
    utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW)
}

/// The same contents the harness's `files-write-loop` writes (see FilesModes.writerContent).
func writerContent(seed: Int, size: Int) -> [UInt8] {
    var bytes = Array("writer-\(seed):".utf8)
    let fill = UInt8(ascii: "a") + UInt8(seed % 26)
    if bytes.count < size { bytes += [UInt8](repeating: fill, count: size - bytes.count) }
    return Array(bytes.prefix(size))
}

// MARK: - Fault injection

/// Which seam closure a fault applies to.
enum SyscallStep: Hashable, Sendable {
    case open, openDirectory, read, write, fsync, syncFileSystem, fchmod, fstat, close, rename, link, unlink, mkdir, lstat, flock,
        openAt, lstatAt
}

/// Decides, call by call, which system calls fail. Thread-safe: the seam is `@Sendable`.
final class FaultPlan: @unchecked Sendable {
    private struct Rule {
        let step: SyscallStep
        let firstCall: Int
        let times: Int
        let errno: Int32
    }

    private let lock = NSLock()
    private var rules: [Rule] = []
    private var counts: [SyscallStep: Int] = [:]
    private var writeLimit: Int?

    /// Makes calls `onCall`, `onCall + 1`, … (`times` of them) of `step` fail with `errno`.
    func fail(_ step: SyscallStep, errno: Int32, onCall: Int = 1, times: Int = 1) {
        lock.withLock { rules.append(Rule(step: step, firstCall: onCall, times: times, errno: errno)) }
    }

    /// Makes every write accept at most `bytes` bytes.
    func limitWrites(to bytes: Int) {
        lock.withLock { writeLimit = bytes }
    }

    /// How often `step` was called.
    func calls(_ step: SyscallStep) -> Int {
        lock.withLock { counts[step, default: 0] }
    }

    /// Counts a call of `step` and returns the errno it must fail with, if any.
    fileprivate func injected(_ step: SyscallStep) -> Int32? {
        lock.withLock {
            counts[step, default: 0] += 1
            let call = counts[step, default: 0]
            return rules.first { $0.step == step && call >= $0.firstCall && call < $0.firstCall + $0.times }?.errno
        }
    }

    fileprivate var maximumWrite: Int? { lock.withLock { writeLimit } }

    /// A seam that consults this plan before every real call.
    var syscalls: FileSyscalls {
        let live = FileSyscalls.live
        return FileSyscalls(
            open: { path, flags, mode in
                if let e = self.injected(.open) { return -e }
                return live.open(path, flags, mode)
            },
            openDirectory: { path in
                if let e = self.injected(.openDirectory) { return -e }
                return live.openDirectory(path)
            },
            read: { fd, buffer in
                if let e = self.injected(.read) { return -Int(e) }
                return live.read(fd, buffer)
            },
            write: { fd, buffer in
                if let e = self.injected(.write) { return -Int(e) }
                let count = min(buffer.count, self.maximumWrite ?? buffer.count)
                return live.write(fd, UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            },
            fsync: { fd in
                if let e = self.injected(.fsync) { return -e }
                return live.fsync(fd)
            },
            syncFileSystem: { fd in
                if let e = self.injected(.syncFileSystem) { return -e }
                return live.syncFileSystem(fd)
            },
            fchmod: { fd, mode in
                if let e = self.injected(.fchmod) { return -e }
                return live.fchmod(fd, mode)
            },
            fstat: { fd, info in
                if let e = self.injected(.fstat) { return -e }
                return live.fstat(fd, &info)
            },
            close: { fd in
                // Linux releases the descriptor even when close fails; so does the fake,
                // or every injected close failure would leak one.
                let result = live.close(fd)
                if let e = self.injected(.close) { return -e }
                return result
            },
            rename: { from, to in
                if let e = self.injected(.rename) { return -e }
                return live.rename(from, to)
            },
            link: { existing, new in
                if let e = self.injected(.link) { return -e }
                return live.link(existing, new)
            },
            unlink: { path in
                if let e = self.injected(.unlink) { return -e }
                return live.unlink(path)
            },
            mkdir: { path, mode in
                if let e = self.injected(.mkdir) { return -e }
                return live.mkdir(path, mode)
            },
            lstat: { path, info in
                if let e = self.injected(.lstat) { return -e }
                return live.lstat(path, &info)
            },
            flock: { fd, operation, nonBlocking in
                if let e = self.injected(.flock) { return -e }
                return live.flock(fd, operation, nonBlocking)
            },
            openAt: { directory, name, options, permissions in
                if let e = self.injected(.openAt) { return -e }
                return live.openAt(directory, name, options, permissions)
            },
            lstatAt: { directory, name, info in
                if let e = self.injected(.lstatAt) { return -e }
                return live.lstatAt(directory, name, &info)
            }
        )
    }
}

// MARK: - Logging

/// Collects log records so a test can check what was said.
final class LogRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var records: [(level: Logger.Level, message: String)] = []

    var logger: Logger {
        Logger(label: "tally.tests") { _ in RecordingLogHandler(recorder: self) }
    }

    func append(_ level: Logger.Level, _ message: String) {
        lock.withLock { records.append((level, message)) }
    }

    /// The messages logged at `level`.
    func messages(at level: Logger.Level) -> [String] {
        lock.withLock { records.filter { $0.level == level }.map(\.message) }
    }
}

struct RecordingLogHandler: LogHandler {
    let recorder: LogRecorder
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        recorder.append(event.level, event.message.description)
    }
}

// MARK: - Child processes

enum Harness {
    /// The TallyHarness executable built beside the test bundle.
    ///
    /// Looked for next to the running test binary first (that is where SwiftPM puts it, for
    /// any build directory or configuration), then in the package's `.build/debug`.
    static let executable: String? = {
        var candidates: [String] = []
        let argument0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        candidates.append(argument0.deletingLastPathComponent().appendingPathComponent("TallyHarness").path)
        let bundle = Bundle.main.bundleURL
        candidates.append(bundle.appendingPathComponent("TallyHarness").path)
        candidates.append(bundle.deletingLastPathComponent().appendingPathComponent("TallyHarness").path)
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
                candidates.append(directory.appendingPathComponent(".build/debug/TallyHarness").path)
                break
            }
            directory.deleteLastPathComponent()
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Starts the harness in `mode`.
    static func start(
        _ arguments: [String], in directory: String? = nil, stdin: Pipe? = nil, stdout: Pipe? = nil
    ) throws -> Process {
        guard let executable else {
            throw TallyError.invalidInput(field: "TallyHarness", reason: "the harness executable was not built")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if let stdin { process.standardInput = stdin }
        if let stdout { process.standardOutput = stdout }
        try process.run()
        return process
    }

    /// Runs the harness to completion; returns its exit status and standard output.
    @discardableResult
    static func run(_ arguments: [String], in directory: String? = nil) throws -> (status: Int32, output: String) {
        let output = Pipe()
        let process = try start(arguments, in: directory, stdout: output)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// Runs a command; returns its exit status and combined output.
@discardableResult
func runCommand(_ executable: String, _ arguments: [String]) -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    do {
        try process.run()
    } catch {
        return (-1, "\(error)")
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Mounts a tmpfs of `size` on `directory`, runs `body`, unmounts. Returns false (and runs
/// nothing) when mounting is not possible here, so the caller can report the skip.
func withTmpfs(at directory: String, size: String, _ body: () throws -> Void) throws -> String? {
    let mounted = runCommand("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size),mode=0755", "tmpfs", directory])
    guard mounted.status == 0 else {
        return "cannot mount a tmpfs here (mount exit \(mounted.status): "
            + mounted.output.trimmingCharacters(in: .whitespacesAndNewlines) + ")"
    }
    defer {
        if runCommand("/bin/umount", [directory]).status != 0 {
            runCommand("/bin/umount", ["-l", directory])
        }
    }
    try body()
    return nil
}
