import Foundation
import Glibc

/// Removes temporary files that ``AtomicFile`` left behind when a process died mid-write.
///
/// Only regular files whose name is exactly `.NAME.tmp-XXXXXX` (a dot, a non-empty name,
/// `.tmp-`, six letters or digits) and whose modification time is older than ``minimumAge``
/// are removed. Directories, symbolic links and every other name are left alone, and
/// symbolic links are never followed into other directories.
///
/// The age is what keeps a sweep from deleting a write in progress: choose one well above
/// the longest write you expect (minutes, not seconds). While it publishes, a write also
/// holds short-lived hard links to the file it replaces under such names; they carry that
/// file's older modification time, so a sweep running at that moment may remove one. The
/// writer copes (it relinks a lost backup staging link; a lost rollback link only matters
/// if the directory fsync then fails), so this is safe, merely not free.
public struct TempFileSweeper: Sendable {
    /// Files modified less than this many seconds ago are kept.
    public var minimumAge: TimeInterval
    /// Whether to descend into subdirectories (never through symbolic links).
    public var recursive: Bool
    /// The system calls to use.
    public var syscalls: FileSyscalls

    /// Creates a sweeper.
    ///
    /// - Parameters:
    ///   - minimumAge: Only files whose modification time is at least this many seconds in
    ///     the past are removed.
    ///   - recursive: Also sweep subdirectories.
    ///   - syscalls: The system calls to use.
    public init(minimumAge: TimeInterval, recursive: Bool = false, syscalls: FileSyscalls = .live) {
        self.minimumAge = minimumAge
        self.recursive = recursive
        self.syscalls = syscalls
    }

    /// Sweeps `directory` and returns the paths it removed.
    ///
    /// - Parameters:
    ///   - directory: Where to look.
    ///   - now: The current time; a parameter so the age rule can be tested without waiting.
    /// - Throws: ``TallyError/io(step:path:errno:)`` with step `read` when a directory cannot
    ///   be listed, `stat` or `unlink` when a candidate cannot be examined or removed. Files
    ///   removed before the error stay removed.
    public func sweep(_ directory: String, now: Date = Date()) throws -> [String] {
        var removed: [String] = []
        try sweep(directory, cutoff: now.timeIntervalSince1970 - minimumAge, into: &removed)
        return removed
    }

    private func sweep(_ directory: String, cutoff: TimeInterval, into removed: inout [String]) throws {
        for name in try entries(of: directory) {
            let path = FileOperations.join(directory, name)
            var info = stat()
            let result = syscalls.lstat(path, &info)
            if result == -ENOENT { continue }  // gone since the listing: someone else cleaned up
            if result < 0 { throw TallyError.io(step: "stat", path: path, errno: -result) }
            switch info.st_mode & S_IFMT {
            case S_IFREG where TempFileName.matches(name):
                let modified = TimeInterval(info.st_mtim.tv_sec) + TimeInterval(info.st_mtim.tv_nsec) / 1e9
                guard modified <= cutoff else { continue }
                let unlinked = syscalls.unlink(path)
                if unlinked == -ENOENT { continue }
                if unlinked < 0 { throw TallyError.io(step: "unlink", path: path, errno: -unlinked) }
                removed.append(path)
            case S_IFDIR where recursive:
                try sweep(path, cutoff: cutoff, into: &removed)
            default:
                continue
            }
        }
    }

    /// The names in `directory`, opened with O_NOFOLLOW so a directory swapped for a symbolic
    /// link after its lstat is not entered.
    private func entries(of directory: String) throws -> [String] {
        let fd = FileSyscalls.retryingEINTR {
            syscalls.open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0)
        }
        if fd < 0 { throw TallyError.io(step: "read", path: directory, errno: -fd) }
        guard let stream = fdopendir(fd) else {
            let error = errno
            _ = syscalls.close(fd)
            throw TallyError.io(step: "read", path: directory, errno: error)
        }
        defer { closedir(stream) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                if errno != 0 { throw TallyError.io(step: "read", path: directory, errno: errno) }
                return names
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
    }
}
