/// Moves `NAME.bak.1…n` down one place and preserves the current `NAME` as `NAME.bak.1`,
/// without ever removing `NAME` (the order and its reasons are documented on ``AtomicFile``).
struct BackupRotation {
    let path: String
    let count: Int
    let operations: FileOperations

    private var syscalls: FileSyscalls { operations.syscalls }

    func rotate() throws(TallyError) {
        // Oldest first: each rename overwrites only the copy being dropped (.bak.n) or a
        // name whose copy has just moved further down.
        if count >= 2 {
            for index in stride(from: count - 1, through: 1, by: -1) {
                let from = AtomicFile.backupPath(of: path, index: index)
                let to = AtomicFile.backupPath(of: path, index: index + 1)
                let result = FileSyscalls.retryingEINTR { syscalls.rename(from, to) }
                // A missing generation (fewer writes than backups so far) leaves a gap to skip.
                if result < 0, result != -Errno.noSuchFile.rawValue {
                    throw TallyError.io(step: "rename", path: from, errno: -result)
                }
            }
        }
        try preserveCurrent()
    }

    /// Makes `NAME.bak.1` a second name (or, failing that, a copy) of the current `NAME`.
    private func preserveCurrent() throws(TallyError) {
        let (directory, name) = FileOperations.split(path)
        let newest = AtomicFile.backupPath(of: path, index: 1)
        // The staging link carries the old file's modification time, so a concurrent
        // TempFileSweeper may take it for an orphan and remove it before the rename; then
        // the rename reports ENOENT and a fresh link is made.
        for attempt in 1...3 {
            let staging = FileOperations.join(directory, TempFileName.make(for: name))
            let linked = FileSyscalls.retryingEINTR { syscalls.link(path, staging) }
            switch linked {
            case 0:
                let renamed = FileSyscalls.retryingEINTR { syscalls.rename(staging, newest) }
                // When `newest` already is this inode (a retry after a failed write, or another
                // writer just did the same), rename succeeds without doing anything and the
                // staging name is still there; remove it either way.
                _ = syscalls.unlink(staging)
                if renamed == 0 { return }
                if renamed == -Errno.noSuchFile.rawValue && attempt < 3 { continue }
                throw TallyError.io(step: "rename", path: newest, errno: -renamed)
            case -Errno.noSuchFile.rawValue where attempt < 3:
                // Another writer replaced NAME while we linked it: Linux refuses to link an
                // inode whose last name just went away. The new NAME is complete; link that.
                continue
            case -Errno.notPermitted.rawValue, -Errno.notSupported.rawValue, -Errno.notImplemented.rawValue,
                 -Errno.tooManyLinks.rawValue:
                // The filesystem cannot hard-link (vfat, some FUSE and network mounts), or this
                // inode has too many links: fall back to an atomic copy.
                try copyCurrent(to: newest)
                return
            default:
                throw TallyError.io(step: "link", path: path, errno: -linked)
            }
        }
    }

    private func copyCurrent(to destination: String) throws(TallyError) {
        var info = FileInfo()
        let status = syscalls.lstat(path, &info)
        if status < 0 { throw TallyError.io(step: "stat", path: path, errno: -status) }
        let source = FileSyscalls.retryingEINTR { syscalls.open(path, [.readOnly, .noFollow], 0) }
        if source < 0 { throw TallyError.io(step: "open", path: path, errno: -source) }
        defer { _ = syscalls.close(source) }
        let writer = try AtomicFile.Writer(
            path: destination, permissions: info.permissions, syscalls: syscalls)
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: AtomicFile.Writer.bufferSize, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let count = FileSyscalls.retryingEINTR { syscalls.read(source, chunk) }
            if count < 0 { throw TallyError.io(step: "read", path: path, errno: Int32(-count)) }
            if count == 0 { break }
            try writer.write(UnsafeRawBufferPointer(rebasing: chunk[0..<count]))
        }
        try writer.commit()
    }
}
