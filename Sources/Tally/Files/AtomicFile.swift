/// Writes files that appear whole or not at all.
///
/// The new contents go to a temporary file `.NAME.tmp-XXXXXX` beside the target (the same
/// directory, so the final `rename` cannot cross a filesystem), which is written completely,
/// fsynced, given its permissions, closed, renamed over the target, and made durable by
/// fsyncing the directory. Readers therefore see either the old file or the new one, and
/// after a crash the file is one or the other — never a mixture or a truncated copy.
///
/// On any error the temporary file is removed, the target is left exactly as it was, and
/// the error is ``TallyError/io(step:path:errno:)`` with `step` one of `mkdir`, `stat`,
/// `open`, `write`, `fsync`, `chmod`, `close`, `link`, `rename` or `dirsync`.
///
/// Several writers may replace the same path at once, from threads or processes: each has
/// its own temporary file and `rename` is atomic, so the result is one writer's complete
/// contents. (With `backups`, concurrent writers can shuffle each other's backups; take a
/// ``FileLock`` around such writes if the backup order matters.)
///
/// ## Backups
///
/// With `backups: n`, the file being replaced is kept as `NAME.bak.1` and older copies
/// move down to `NAME.bak.n`; the copy that was at `NAME.bak.n` is dropped. The steps run in
/// this order, chosen so that `NAME` is a complete file at every instant:
///
/// 1. the new contents are written and fsynced to the temporary file;
/// 2. `NAME.bak.(n-1)` → `NAME.bak.n`, …, `NAME.bak.1` → `NAME.bak.2` (renames, oldest
///    first, so each step overwrites only the copy being dropped or one already copied down);
/// 3. `NAME` is hard-linked to a temporary name which is renamed to `NAME.bak.1`
///    (a link, not a rename, so `NAME` never disappears; through a temporary name because
///    `link` cannot replace an existing file);
/// 4. the directory is fsynced, so the backup is durable before the file it preserves is
///    replaced — without this barrier a filesystem may persist step 5 but not step 3;
/// 5. the temporary file is renamed over `NAME` and the directory fsynced.
///
/// Dying between any two steps loses at most one backup generation, never `NAME`.
/// On a filesystem without hard links, step 3 copies the file instead.
package enum AtomicFile {
    /// Atomically replaces the file at `path` with `bytes`.
    ///
    /// - Parameters:
    ///   - bytes: The complete new contents.
    ///   - path: The file to replace or create. Missing parent directories are created.
    ///   - permissions: The new file's mode, applied with `fchmod` so the umask does not
    ///     change it. Nothing of the old file (owner, mode, extended attributes) is kept.
    ///   - backups: How many previous versions to keep as `path.bak.1…n`; 0 keeps none.
    ///   - followSymlinks: When `path` is a symbolic link, replace the file it finally points
    ///     to instead of refusing with `ELOOP`.
    ///   - syscalls: The system calls to use; tests pass a fault-injecting seam.
    /// - Throws: ``TallyError/io(step:path:errno:)`` naming the failed step, or
    ///   ``TallyError/invalidInput(field:reason:)`` for a bad argument. The target is untouched.
    package static func write(
        _ bytes: some Collection<UInt8>,
        to path: String,
        permissions: UInt32 = 0o600,
        backups: Int = 0,
        followSymlinks: Bool = false,
        syscalls: FileSyscalls = .live
    ) throws(TallyError) {
        let writer = try Writer(
            path: path, permissions: permissions, backups: backups,
            followSymlinks: followSymlinks, syscalls: syscalls)
        try writer.writeUnbuffered(bytes)
        try writer.commit()
    }

    /// The name of backup number `index` (1 = newest) of the file at `path`.
    package static func backupPath(of path: String, index: Int) -> String {
        "\(path).bak.\(index)"
    }
}
