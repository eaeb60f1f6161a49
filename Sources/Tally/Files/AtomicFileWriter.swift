extension AtomicFile {
    /// A streaming atomic writer for files too large to hold in memory.
    ///
    /// Bytes are collected in a fixed ``bufferSize`` buffer and written to the temporary
    /// file as it fills, so memory stays bounded however large the file grows. Nothing is
    /// visible at ``path`` until ``commit()`` returns; ``discard()``, any error, or dropping
    /// the writer without committing removes the temporary file and leaves ``path`` as it was.
    ///
    /// A writer is used from one thread at a time.
    package final class Writer {
        /// The bytes collected before each `write` system call.
        package static let bufferSize = 64 * 1024

        /// The file that ``commit()`` replaces (the final target when a symbolic link was followed).
        package let path: String
        /// How many bytes were handed to ``write(_:)`` so far.
        package private(set) var byteCount: Int64 = 0

        private let permissions: UInt32
        private let backups: Int
        private let operations: FileOperations
        private var syscalls: FileSyscalls { operations.syscalls }
        private let directory: String
        private let tempPath: String
        private var fd: Int32
        /// Whether `tempPath` still names our file; after the rename it may name someone else's.
        private var tempExists = true
        private var finished = false
        private var buffer: UnsafeMutableRawBufferPointer?
        private var buffered = 0

        /// Creates the temporary file beside `path` (and any missing parent directories).
        ///
        /// - Parameters:
        ///   - path: The file ``commit()`` will replace or create.
        ///   - permissions: The mode the published file gets, regardless of the umask.
        ///   - backups: How many previous versions to keep as `path.bak.1…n` (see ``AtomicFile``).
        ///   - followSymlinks: Replace the final target of a symbolic link at `path` instead of refusing.
        ///   - syscalls: The system calls to use.
        /// - Throws: ``TallyError/io(step:path:errno:)`` (`stat`, `mkdir`, `dirsync` or `open`),
        ///   or ``TallyError/invalidInput(field:reason:)`` for a bad argument.
        package init(
            path: String,
            permissions: UInt32 = 0o600,
            backups: Int = 0,
            followSymlinks: Bool = false,
            syscalls: FileSyscalls = .live
        ) throws(TallyError) {
            guard permissions & ~0o7777 == 0 else {
                throw TallyError.invalidInput(
                    field: "permissions", reason: "0o\(String(permissions, radix: 8)) has bits beyond 0o7777")
            }
            guard backups >= 0 else {
                throw TallyError.invalidInput(field: "backups", reason: "\(backups) is negative")
            }
            try FileOperations.checkNamesFile(path)
            let operations = FileOperations(syscalls: syscalls)
            let target = try operations.resolveTarget(path, followSymlinks: followSymlinks)
            let (directory, targetName) = FileOperations.split(target)
            try operations.makeDirectories(directory)

            let created = try operations.createTemporary(for: targetName, in: directory, target: target, permissions: permissions)
            self.tempPath = created.path
            self.fd = created.fd
            self.path = target
            self.directory = directory
            self.permissions = permissions
            self.backups = backups
            self.operations = operations
        }

        deinit {
            discard()
        }

        /// Appends `bytes` to the file.
        ///
        /// - Throws: ``TallyError/io(step:path:errno:)`` with step `write`; the writer is then
        ///   discarded and every later call throws.
        package func write(_ bytes: some Collection<UInt8>) throws(TallyError) {
            try ensureOpen()
            do throws(TallyError) {
                // The standard library's buffer access rethrows untyped errors, so the typed
                // error travels out as a Result.
                let done: Result<Void, TallyError>? = bytes.withContiguousStorageIfAvailable { buffer in
                    Result { () throws(TallyError) in try append(UnsafeRawBufferPointer(buffer)) }
                }
                if let done { try done.get() } else { try appendElements(bytes) }
                byteCount += Int64(bytes.count)
            } catch {
                discard()
                throw error
            }
        }

        /// Writes `bytes` without copying them through the buffer when it is empty: the
        /// one-shot ``AtomicFile/write(_:to:permissions:backups:followSymlinks:syscalls:)``
        /// has all its bytes in memory already.
        func writeUnbuffered(_ bytes: some Collection<UInt8>) throws(TallyError) {
            try ensureOpen()
            do throws(TallyError) {
                let done: Result<Void, TallyError>? = bytes.withContiguousStorageIfAvailable { buffer in
                    Result { () throws(TallyError) in
                        try flush()
                        try operations.writeAll(fd, UnsafeRawBufferPointer(buffer), path: path)
                    }
                }
                if let done { try done.get() } else { try appendElements(bytes) }
                byteCount += Int64(bytes.count)
            } catch {
                discard()
                throw error
            }
        }

        /// Publishes the file: flush, fsync, fchmod, close, then the backups (if any), the
        /// rename over ``path`` and the fsync of its directory.
        ///
        /// - Throws: ``TallyError/io(step:path:errno:)``. The temporary file is gone and
        ///   ``path`` holds its previous contents (when the directory fsync fails after the
        ///   rename, the previous file is put back).
        package func commit() throws(TallyError) {
            try ensureOpen()
            do throws(TallyError) {
                try flush()
                if let buffer {
                    buffer.deallocate()
                    self.buffer = nil
                }
                let synced = FileSyscalls.retryingEINTR { syscalls.fsync(fd) }
                if synced < 0 { throw TallyError.io(step: "fsync", path: path, errno: -synced) }
                let changed = FileSyscalls.retryingEINTR { syscalls.fchmod(fd, permissions) }
                if changed < 0 { throw TallyError.io(step: "chmod", path: path, errno: -changed) }
                let closed = syscalls.close(fd)
                fd = -1
                // Linux releases the descriptor even when close reports EINTR, and the data
                // is already fsynced, so EINTR is not a failure here; anything else is.
                if closed < 0, closed != -Errno.interrupted.rawValue {
                    throw TallyError.io(step: "close", path: path, errno: -closed)
                }
                try publish()
                finished = true
            } catch {
                discard()
                throw error
            }
        }

        /// Abandons the write: removes the temporary file and leaves ``path`` untouched.
        /// Calling it again, or after ``commit()``, does nothing.
        package func discard() {
            if fd >= 0 {
                _ = syscalls.close(fd)
                fd = -1
            }
            if tempExists {
                _ = syscalls.unlink(tempPath)
                tempExists = false
            }
            if let buffer {
                buffer.deallocate()
                self.buffer = nil
            }
            finished = true
        }

        // MARK: - Private

        private func ensureOpen() throws(TallyError) {
            guard !finished else {
                throw TallyError.invalidInput(
                    field: "AtomicFile.Writer", reason: "the writer for \(path) was already committed or discarded")
            }
        }

        private func append(_ bytes: UnsafeRawBufferPointer) throws(TallyError) {
            if buffered + bytes.count > Self.bufferSize { try flush() }
            if bytes.count >= Self.bufferSize {
                try operations.writeAll(fd, bytes, path: path)
                return
            }
            let buffer = self.buffer ?? allocateBuffer()
            UnsafeMutableRawBufferPointer(rebasing: buffer[buffered..<(buffered + bytes.count)])
                .copyMemory(from: bytes)
            buffered += bytes.count
        }

        /// The slow path for collections without contiguous storage: copy element by element.
        private func appendElements(_ bytes: some Collection<UInt8>) throws(TallyError) {
            let buffer = self.buffer ?? allocateBuffer()
            for byte in bytes {
                if buffered == Self.bufferSize { try flush() }
                buffer[buffered] = byte
                buffered += 1
            }
        }

        private func allocateBuffer() -> UnsafeMutableRawBufferPointer {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.bufferSize, alignment: 16)
            self.buffer = buffer
            return buffer
        }

        private func flush() throws(TallyError) {
            guard buffered > 0, let buffer else { return }
            try operations.writeAll(fd, UnsafeRawBufferPointer(rebasing: buffer[0..<buffered]), path: path)
            buffered = 0
        }

        /// Backups, rename, directory fsync — and putting the old file back if that fsync fails,
        /// since an error must mean "nothing changed".
        private func publish() throws(TallyError) {
            let targetExists = try operations.fileKind(path) != nil
            if targetExists && backups > 0 {
                try BackupRotation(path: path, count: backups, operations: operations).rotate()
                try operations.syncDirectory(directory)
            }
            // A second name for the current file, so a failed directory fsync can restore it.
            // Best effort: where hard links are impossible the write still succeeds, it only
            // cannot be undone after the rename.
            var rollback: String?
            if targetExists {
                let name = FileOperations.join(directory, TempFileName.make(for: FileOperations.split(path).name))
                if FileSyscalls.retryingEINTR({ syscalls.link(path, name) }) == 0 { rollback = name }
            }
            let renamed = FileSyscalls.retryingEINTR { syscalls.rename(tempPath, path) }
            if renamed < 0 {
                if let rollback { _ = syscalls.unlink(rollback) }
                throw TallyError.io(step: "rename", path: path, errno: -renamed)
            }
            tempExists = false
            do throws(TallyError) {
                try operations.syncDirectory(directory)
            } catch {
                if let rollback {
                    _ = syscalls.rename(rollback, path)
                    _ = syscalls.unlink(rollback)  // still there if `path` was already that inode
                } else if !targetExists {
                    _ = syscalls.unlink(path)
                }
                try? operations.syncDirectory(directory)
                throw error
            }
            if let rollback { _ = syscalls.unlink(rollback) }
        }
    }
}
