extension AtomicFile {
    /// A file produced by a writer that works by path rather than through ``Writer`` —
    /// SQLite writing a backup copy, for instance — and then published atomically.
    ///
    /// ``init(replacing:permissions:syscalls:)`` reserves an empty temporary file
    /// `.NAME.tmp-XXXXXX` beside the target (the name ``TempFileSweeper`` knows, so a copy
    /// abandoned by a crash is swept like any other). The producer fills ``temporaryPath``;
    /// ``publish(removingFirst:)`` then fsyncs it, renames it over ``path`` and fsyncs the
    /// directory. Until then ``path`` is untouched, and ``discard()`` (or dropping the value)
    /// removes the temporary file.
    ///
    /// A `Staged` file is used from one thread at a time.
    package final class Staged {
        /// The file ``publish(removingFirst:)`` replaces or creates.
        package let path: String
        /// Where the producer writes, in the same directory as ``path``.
        package let temporaryPath: String

        private let permissions: UInt32
        private let operations: FileOperations
        private var syscalls: FileSyscalls { operations.syscalls }
        private let directory: String
        private var finished = false

        /// Reserves a new, empty temporary file beside `path`, creating missing parent
        /// directories.
        ///
        /// - Parameters:
        ///   - path: The file to publish to. A symbolic link or a directory there is refused,
        ///     as ``AtomicFile/write(_:to:permissions:backups:followSymlinks:syscalls:)`` refuses it.
        ///   - permissions: The published file's mode, applied with `fchmod` at publication.
        ///   - syscalls: The system calls to use.
        /// - Throws: ``TallyError/io(step:path:errno:)`` (`stat`, `mkdir`, `dirsync`, `open`, `close`).
        package init(replacing path: String, permissions: UInt32 = 0o600, syscalls: FileSyscalls = .live) throws(TallyError) {
            try FileOperations.checkNamesFile(path)
            let name = FileOperations.split(path).name
            let operations = FileOperations(syscalls: syscalls)
            let target = try operations.resolveTarget(path, followSymlinks: false)
            let directory = FileOperations.split(target).directory
            try operations.makeDirectories(directory)
            let created = try operations.createTemporary(for: name, in: directory, target: target, permissions: permissions)
            let closed = syscalls.close(created.fd)
            if closed < 0, closed != -Errno.interrupted.rawValue {
                _ = syscalls.unlink(created.path)
                throw TallyError.io(step: "close", path: created.path, errno: -closed)
            }
            temporaryPath = created.path
            self.path = target
            self.directory = directory
            self.permissions = permissions
            self.operations = operations
        }

        deinit {
            discard()
        }

        /// Reserves a temporary file beside `path` and fills it with a copy of `source`,
        /// streamed in bounded memory.
        ///
        /// - Throws: ``TallyError/io(step:path:errno:)`` (`open`, `read`, `write`, …); no
        ///   temporary file is left behind.
        package static func copy(of source: String, replacing path: String, permissions: UInt32 = 0o600,
                                syscalls: FileSyscalls = .live) throws(TallyError) -> Staged {
            let staged = try Staged(replacing: path, permissions: permissions, syscalls: syscalls)
            do throws(TallyError) {
                try staged.fill(from: source)
            } catch {
                staged.discard()
                throw error
            }
            return staged
        }

        private func fill(from source: String) throws(TallyError) {
            let input = FileSyscalls.retryingEINTR { syscalls.open(source, .readOnly, 0) }
            if input < 0 { throw TallyError.io(step: "open", path: source, errno: -input) }
            defer { _ = syscalls.close(input) }
            let output = FileSyscalls.retryingEINTR { syscalls.open(temporaryPath, [.writeOnly, .truncate, .noFollow], 0) }
            if output < 0 { throw TallyError.io(step: "open", path: temporaryPath, errno: -output) }
            var outputOpen = true
            defer { if outputOpen { _ = syscalls.close(output) } }
            let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: Writer.bufferSize * 4, alignment: 16)
            defer { chunk.deallocate() }
            while true {
                let count = FileSyscalls.retryingEINTR { syscalls.read(input, chunk) }
                if count < 0 { throw TallyError.io(step: "read", path: source, errno: Int32(-count)) }
                if count == 0 { break }
                try operations.writeAll(output, UnsafeRawBufferPointer(rebasing: chunk[0..<count]), path: temporaryPath)
            }
            outputOpen = false
            let closed = syscalls.close(output)
            if closed < 0, closed != -Errno.interrupted.rawValue { throw TallyError.io(step: "close", path: temporaryPath, errno: -closed) }
        }

        /// Publishes the temporary file as ``path``: fsync and chmod it, remove each path in
        /// `removingFirst` (missing ones are fine) and fsync the directory, rename it over
        /// ``path``, and fsync the directory again.
        ///
        /// The removals come first and are made durable before the rename so that, after a
        /// crash at any point, ``path`` is never paired with a sidecar that belonged to the
        /// file it replaced (for a database: its `-wal`, `-journal` and `-shm`). Callers must
        /// make sure those sidecars hold nothing they still need before calling this.
        ///
        /// - Throws: ``TallyError/io(step:path:errno:)`` (`open`, `fsync`, `chmod`, `unlink`,
        ///   `dirsync`, `rename`). On failure before the rename the temporary file is removed
        ///   and ``path`` is untouched (though paths in `removingFirst` may already be gone).
        package func publish(removingFirst: [String] = []) throws(TallyError) {
            guard !finished else {
                throw TallyError.internal("the staged file for \(path) was already published or discarded")
            }
            do throws(TallyError) {
                try syncAndChmod()
                for stale in removingFirst {
                    let result = FileSyscalls.retryingEINTR { syscalls.unlink(stale) }
                    if result != 0 && result != -Errno.noSuchFile.rawValue {
                        throw TallyError.io(step: "unlink", path: stale, errno: -result)
                    }
                }
                // Synced even when nothing was left to remove: another program (SQLite itself,
                // closing the last connection) may have deleted a sidecar without syncing the
                // directory, and that deletion must reach the disk before the rename does.
                if !removingFirst.isEmpty { try operations.syncDirectory(directory) }
                let renamed = FileSyscalls.retryingEINTR { syscalls.rename(temporaryPath, path) }
                if renamed < 0 { throw TallyError.io(step: "rename", path: path, errno: -renamed) }
                finished = true
            } catch {
                discard()
                throw error
            }
            // The rename is done: the new file is in place whatever happens next, so a failed
            // directory fsync is reported but there is no temporary file left to remove.
            try operations.syncDirectory(directory)
        }

        /// Publishes the temporary file under the first name `candidate(1)`, `candidate(2)`, …
        /// that nothing holds yet (a hard link, which fails rather than replaces, so two
        /// writers can never publish to one name), removes the temporary name, and fsyncs the
        /// directory. Returns the name used.
        ///
        /// - Throws: ``TallyError/io(step:path:errno:)``; the temporary file is removed.
        package func publishUnderNewName(_ candidate: (Int) -> String) throws(TallyError) -> String {
            guard !finished else {
                throw TallyError.internal("the staged file for \(path) was already published or discarded")
            }
            do throws(TallyError) {
                try syncAndChmod()
                for sequence in 1...10_000 {
                    let name = candidate(sequence)
                    let linked = FileSyscalls.retryingEINTR { syscalls.link(temporaryPath, name) }
                    if linked == -Errno.fileExists.rawValue { continue }
                    if linked < 0 { throw TallyError.io(step: "link", path: name, errno: -linked) }
                    finished = true
                    _ = syscalls.unlink(temporaryPath)
                    try operations.syncDirectory(directory)
                    return name
                }
                throw TallyError.io(step: "link", path: candidate(10_000), errno: Errno.fileExists.rawValue)
            } catch {
                discard()
                throw error
            }
        }

        /// Publishes the temporary file at ``path`` only if nothing is there (a hard link,
        /// which fails rather than replaces), removes the temporary name and fsyncs the
        /// directory: for files that must never overwrite another, such as a private key.
        ///
        /// - Throws: ``TallyError/io(step:path:errno:)`` with step `link` and `EEXIST` when
        ///   ``path`` exists; the temporary file is removed.
        package func publishAsNew() throws(TallyError) {
            guard !finished else {
                throw TallyError.internal("the staged file for \(path) was already published or discarded")
            }
            do throws(TallyError) {
                try syncAndChmod()
                let linked = FileSyscalls.retryingEINTR { syscalls.link(temporaryPath, path) }
                if linked < 0 { throw TallyError.io(step: "link", path: path, errno: -linked) }
                finished = true
                _ = syscalls.unlink(temporaryPath)
                try operations.syncDirectory(directory)
            } catch {
                discard()
                throw error
            }
        }

        /// Writes `bytes` into the temporary file (before publishing).
        package func fill(with bytes: [UInt8]) throws(TallyError) {
            let fd = FileSyscalls.retryingEINTR { syscalls.open(temporaryPath, [.writeOnly, .noFollow], 0) }
            guard fd >= 0 else { throw TallyError.io(step: "open", path: temporaryPath, errno: -fd) }
            defer { _ = syscalls.close(fd) }
            // (Not `withUnsafeBytes` with a throwing closure: it rethrows untyped errors.)
            let failure: TallyError? = bytes.withUnsafeBytes { raw in
                do throws(TallyError) {
                    try operations.writeAll(fd, raw, path: temporaryPath)
                    return nil
                } catch {
                    return error
                }
            }
            if let failure { throw failure }
        }

        /// fsyncs the temporary file and gives it its permissions.
        private func syncAndChmod() throws(TallyError) {
            let fd = FileSyscalls.retryingEINTR { syscalls.open(temporaryPath, [.readOnly, .noFollow], 0) }
            if fd < 0 { throw TallyError.io(step: "open", path: temporaryPath, errno: -fd) }
            // fsync through a read-only descriptor is enough: it flushes the inode's data,
            // whoever wrote it (here: another library, through its own descriptor).
            let synced = FileSyscalls.retryingEINTR { syscalls.fsync(fd) }
            let changed = synced < 0 ? 0 : FileSyscalls.retryingEINTR { syscalls.fchmod(fd, permissions) }
            _ = syscalls.close(fd)
            if synced < 0 { throw TallyError.io(step: "fsync", path: path, errno: -synced) }
            if changed < 0 { throw TallyError.io(step: "chmod", path: path, errno: -changed) }
        }

        /// Removes the temporary file and leaves ``path`` untouched. Calling it again, or
        /// after ``publish(removingFirst:)``, does nothing.
        package func discard() {
            guard !finished else { return }
            finished = true
            _ = syscalls.unlink(temporaryPath)
        }
    }

    /// Writes `bytes` to a new file at `path`, durably and whole, refusing (with `EEXIST`)
    /// when something is already there.
    package static func createNew(_ bytes: [UInt8], at path: String, permissions: UInt32 = 0o600,
                                  syscalls: FileSyscalls = .live) throws(TallyError) {
        let staged = try Staged(replacing: path, permissions: permissions, syscalls: syscalls)
        try staged.fill(with: bytes)
        try staged.publishAsNew()
    }

    /// Removes the file at `path`. Returns false when there was nothing to remove.
    ///
    /// The removal is not durable until the parent directory is fsynced: after power loss
    /// the file may be back. Use ``removeDurably(_:syscalls:)`` for a removal the caller
    /// reports as done, or sync the directory once after several removals.
    ///
    /// - Throws: ``TallyError/io(step:path:errno:)`` with step `unlink`.
    @discardableResult
    package static func remove(_ path: String, syscalls: FileSyscalls = .live) throws(TallyError) -> Bool {
        let result = FileSyscalls.retryingEINTR { syscalls.unlink(path) }
        if result == -Errno.noSuchFile.rawValue { return false }
        if result < 0 { throw TallyError.io(step: "unlink", path: path, errno: -result) }
        return true
    }

    /// Removes the file at `path` and fsyncs its directory, so the removal survives power
    /// loss. Returns false when there was nothing to remove (and syncs nothing).
    ///
    /// - Throws: ``TallyError/io(step:path:errno:)`` with step `unlink` or `dirsync`.
    @discardableResult
    package static func removeDurably(_ path: String, syscalls: FileSyscalls = .live) throws(TallyError) -> Bool {
        guard try remove(path, syscalls: syscalls) else { return false }
        try FileOperations(syscalls: syscalls).syncDirectory(FileOperations.split(path).directory)
        return true
    }

    /// Whether `name` (one path component) is one of Tally's temporary file names,
    /// `.NAME.tmp-XXXXXX`, as ``Staged`` and ``Writer`` create them.
    package static func isTemporaryName(_ name: String) -> Bool {
        TempFileName.matches(name)
    }
}
