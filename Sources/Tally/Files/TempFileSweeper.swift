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
package struct TempFileSweeper: Sendable {
    /// Files modified less than this many seconds ago are kept.
    package var minimumAge: Double
    /// Whether to descend into subdirectories (never through symbolic links).
    package var recursive: Bool
    /// The system calls to use.
    package var syscalls: FileSyscalls

    /// Creates a sweeper.
    ///
    /// - Parameters:
    ///   - minimumAge: Only files whose modification time is at least this many seconds in
    ///     the past are removed.
    ///   - recursive: Also sweep subdirectories.
    ///   - syscalls: The system calls to use.
    package init(minimumAge: Double, recursive: Bool = false, syscalls: FileSyscalls = .live) {
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
    package func sweep(_ directory: String, now: Double = Clock.secondsSince1970()) throws(TallyError) -> [String] {
        var removed: [String] = []
        try sweep(directory, cutoff: now - minimumAge, into: &removed)
        return removed
    }

    private func sweep(_ directory: String, cutoff: Double, into removed: inout [String]) throws(TallyError) {
        for name in try entries(of: directory) {
            let path = FileOperations.join(directory, name)
            var info = FileInfo()
            let result = syscalls.lstat(path, &info)
            if result == -Errno.noSuchFile.rawValue { continue }  // gone since the listing: someone else cleaned up
            if result < 0 { throw TallyError.io(step: "stat", path: path, errno: -result) }
            switch info.kind {
            case .regular where TempFileName.matches(name):
                guard info.modified <= cutoff else { continue }
                let unlinked = syscalls.unlink(path)
                if unlinked == -Errno.noSuchFile.rawValue { continue }
                if unlinked < 0 { throw TallyError.io(step: "unlink", path: path, errno: -unlinked) }
                removed.append(path)
            case .directory where recursive:
                try sweep(path, cutoff: cutoff, into: &removed)
            default:
                continue
            }
        }
    }

    /// The names in `directory`, opened with O_NOFOLLOW so a directory swapped for a symbolic
    /// link after its lstat is not entered.
    private func entries(of directory: String) throws(TallyError) -> [String] {
        try FileOperations(syscalls: syscalls).listDirectory(directory).map(\.name)
    }
}
