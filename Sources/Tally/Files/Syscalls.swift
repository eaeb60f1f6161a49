// The one file of Tally that imports the C library. Every system call, constant and C type
// the rest of the package needs is named here, in portable Swift terms, so that:
//
// - the package builds on Linux (Glibc, Musl) and macOS (Darwin) from one source: the few
//   places where the platforms differ (`struct stat` field names, `flock` vs `struct flock`,
//   `syncfs`, the width of `mode_t`) are settled below and nowhere else;
// - tests can fail any file-system step deterministically: the calls Tally's file
//   protocols make go through ``FileSyscalls``, a value of closures a test can replace (and
//   that the power-loss tests record);
// - a CI step can check that no other source file imports the C library.
//
// The convention for fallible calls is the kernel's: the result, or the negated errno
// (`-ENOENT`). Returning the error number instead of leaving it in the thread's `errno`
// means nothing that runs between the call and the check (a deallocation, a log line) can
// overwrite it.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#else
#error("Tally needs a POSIX C library (Glibc, Musl or Darwin)")
#endif

// MARK: - Error numbers

/// A C error number (`errno`), with names for the ones Tally handles and its message.
package struct Errno: RawRepresentable, Hashable, Sendable, Error, CustomStringConvertible {
    /// The C value, which differs between platforms: compare with the named values.
    package let rawValue: Int32

    package init(rawValue: Int32) { self.rawValue = rawValue }
    package init(_ rawValue: Int32) { self.rawValue = rawValue }

    package static let noSuchFile = Errno(ENOENT)
    package static let fileExists = Errno(EEXIST)
    package static let interrupted = Errno(EINTR)
    package static let ioError = Errno(EIO)
    package static let permissionDenied = Errno(EACCES)
    package static let notPermitted = Errno(EPERM)
    package static let readOnlyFileSystem = Errno(EROFS)
    package static let noSpace = Errno(ENOSPC)
    package static let quotaExceeded = Errno(EDQUOT)
    package static let notDirectory = Errno(ENOTDIR)
    package static let isDirectory = Errno(EISDIR)
    package static let tooManySymbolicLinks = Errno(ELOOP)
    package static let nameTooLong = Errno(ENAMETOOLONG)
    package static let invalidArgument = Errno(EINVAL)
    package static let badFileDescriptor = Errno(EBADF)
    package static let wouldBlock = Errno(EWOULDBLOCK)
    package static let notSupported = Errno(EOPNOTSUPP)
    package static let notImplemented = Errno(ENOSYS)
    package static let tooManyLinks = Errno(EMLINK)
    package static let brokenPipe = Errno(EPIPE)
    package static let fileTooLarge = Errno(EFBIG)
    package static let noSuchDevice = Errno(ENXIO)

    /// The system's message for this error number, e.g. "No such file or directory".
    package var description: String {
        guard let text = strerror(rawValue) else { return "error \(rawValue)" }
        return String(cString: text)
    }

    /// The message for a raw error number.
    package static func message(_ number: Int32) -> String { Errno(number).description }
}

// MARK: - Files and their metadata

/// Flags of `open(2)`, by meaning rather than by platform value.
package struct OpenOptions: OptionSet, Sendable {
    package let rawValue: Int32
    package init(rawValue: Int32) { self.rawValue = rawValue }

    package static let readOnly = OpenOptions([])
    package static let writeOnly = OpenOptions(rawValue: O_WRONLY)
    package static let readWrite = OpenOptions(rawValue: O_RDWR)
    package static let create = OpenOptions(rawValue: O_CREAT)
    /// With ``create``: fail if the name exists (never reuse anything already there).
    package static let exclusive = OpenOptions(rawValue: O_EXCL)
    package static let truncate = OpenOptions(rawValue: O_TRUNC)
    /// Fail with ELOOP when the final component is a symbolic link.
    package static let noFollow = OpenOptions(rawValue: O_NOFOLLOW)
    package static let closeOnExec = OpenOptions(rawValue: O_CLOEXEC)
    package static let directory = OpenOptions(rawValue: O_DIRECTORY)
    /// Never block in `open`: a FIFO without a writer opens at once instead of hanging.
    package static let nonBlocking = OpenOptions(rawValue: O_NONBLOCK)
}

/// What a directory entry is.
package enum FileKind: Sendable, Equatable {
    case regular, directory, symbolicLink, fifo, socket, characterDevice, blockDevice, unknown

    init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFREG: self = .regular
        case S_IFDIR: self = .directory
        case S_IFLNK: self = .symbolicLink
        case S_IFIFO: self = .fifo
        case S_IFSOCK: self = .socket
        case S_IFCHR: self = .characterDevice
        case S_IFBLK: self = .blockDevice
        default: self = .unknown
        }
    }

    /// A phrase for messages: "a FIFO", "a symbolic link".
    package var description: String {
        switch self {
        case .regular: return "a regular file"
        case .directory: return "a directory"
        case .symbolicLink: return "a symbolic link"
        case .fifo: return "a FIFO (named pipe)"
        case .socket: return "a socket"
        case .characterDevice: return "a character device"
        case .blockDevice: return "a block device"
        case .unknown: return "a special file"
        }
    }
}

/// The parts of `struct stat` Tally uses, in the same terms on every platform.
package struct FileInfo: Sendable, Equatable {
    package var kind: FileKind
    /// The permission bits (`mode & 0o7777`).
    package var permissions: UInt32
    package var size: Int64
    /// Last modification, in seconds since 1970.
    package var modified: Double
    package var device: UInt64
    package var inode: UInt64
    package var linkCount: UInt64

    package init(kind: FileKind = .regular, permissions: UInt32 = 0o600, size: Int64 = 0, modified: Double = 0,
                 device: UInt64 = 0, inode: UInt64 = 0, linkCount: UInt64 = 1) {
        self.kind = kind
        self.permissions = permissions
        self.size = size
        self.modified = modified
        self.device = device
        self.inode = inode
        self.linkCount = linkCount
    }

    init(_ raw: stat) {
        #if canImport(Darwin)
        let time = raw.st_mtimespec
        #else
        let time = raw.st_mtim
        #endif
        self.init(kind: FileKind(mode: raw.st_mode), permissions: UInt32(raw.st_mode & 0o7777),
                  size: Int64(raw.st_size), modified: Double(time.tv_sec) + Double(time.tv_nsec) / 1e9,
                  device: UInt64(truncatingIfNeeded: raw.st_dev), inode: UInt64(truncatingIfNeeded: raw.st_ino),
                  linkCount: UInt64(truncatingIfNeeded: raw.st_nlink))
    }
}

/// `flock(2)` operations.
package enum LockOperation: Sendable {
    case shared, exclusive, unlock

    fileprivate func raw(nonBlocking: Bool) -> Int32 {
        let base: Int32
        switch self {
        case .shared: base = LOCK_SH
        case .exclusive: base = LOCK_EX
        case .unlock: base = LOCK_UN
        }
        return nonBlocking ? base | LOCK_NB : base
    }
}

// MARK: - The injectable seam

/// The file-system calls of Tally's file protocols, gathered in one replaceable value.
///
/// Every step of ``AtomicFile``, ``FileLock``, ``TempFileSweeper``, the mirror and the
/// readers of untrusted files goes through one of these closures, so a test can make any
/// single step fail (or return short, or be interrupted) deterministically, and the
/// power-loss tests can record the exact sequence of operations a protocol performs.
/// Production code uses ``live``.
///
/// Each closure returns what the system call returns on success, or the negated errno.
package struct FileSyscalls: Sendable {
    /// `open(path, options, permissions)`: a file descriptor, or `-errno`.
    package var open: @Sendable (_ path: String, _ options: OpenOptions, _ permissions: UInt32) -> Int32
    /// Opens a directory read-only so it can be fsynced, listed or locked: a descriptor, or `-errno`.
    package var openDirectory: @Sendable (_ path: String) -> Int32
    /// `read(fd, buffer)`: bytes read (0 at end of file), or `-errno`.
    package var read: @Sendable (_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Int
    /// `write(fd, buffer)`: bytes written (possibly fewer than asked), or `-errno`.
    package var write: @Sendable (_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Int
    /// `fsync(fd)`: 0, or `-errno`. Used for files and for directories.
    package var fsync: @Sendable (_ fd: Int32) -> Int32
    /// Makes every file system holding `fd` durable at once (`syncfs` on Linux): 0, or
    /// `-errno`; `-ENOSYS` where the platform has no such call, so that callers fall back to
    /// an fsync per file (an fsync of `fd` alone would leave the other files unsynced).
    package var syncFileSystem: @Sendable (_ fd: Int32) -> Int32
    /// `fchmod(fd, permissions)`: 0, or `-errno`.
    package var fchmod: @Sendable (_ fd: Int32, _ permissions: UInt32) -> Int32
    /// `fstat(fd)` into `info`: 0, or `-errno`.
    package var fstat: @Sendable (_ fd: Int32, _ info: inout FileInfo) -> Int32
    /// `close(fd)`: 0, or `-errno`.
    package var close: @Sendable (_ fd: Int32) -> Int32
    /// `rename(from, to)`: 0, or `-errno`.
    package var rename: @Sendable (_ from: String, _ to: String) -> Int32
    /// `link(existing, new)`: 0, or `-errno`.
    package var link: @Sendable (_ existing: String, _ new: String) -> Int32
    /// `unlink(path)`: 0, or `-errno`.
    package var unlink: @Sendable (_ path: String) -> Int32
    /// `mkdir(path, permissions)`: 0, or `-errno`.
    package var mkdir: @Sendable (_ path: String, _ permissions: UInt32) -> Int32
    /// `lstat(path)` into `info`: 0, or `-errno`. Never follows a final symbolic link.
    package var lstat: @Sendable (_ path: String, _ info: inout FileInfo) -> Int32
    /// `flock(fd, operation)`, optionally without blocking: 0, or `-errno`.
    package var flock: @Sendable (_ fd: Int32, _ operation: LockOperation, _ nonBlocking: Bool) -> Int32
    /// `openat(directory, name, options, permissions)`: opens `name` in the open directory
    /// `directory`, without walking a path to it again: a descriptor, or `-errno`.
    package var openAt: @Sendable (_ directory: Int32, _ name: String, _ options: OpenOptions, _ permissions: UInt32) -> Int32
    /// `fstatat(directory, name, AT_SYMLINK_NOFOLLOW)` into `info`: ``lstat`` relative to an
    /// open directory. 0, or `-errno`.
    package var lstatAt: @Sendable (_ directory: Int32, _ name: String, _ info: inout FileInfo) -> Int32

    /// Creates a seam from explicit closures; tests usually start from ``live`` and replace one.
    package init(
        open: @escaping @Sendable (_ path: String, _ options: OpenOptions, _ permissions: UInt32) -> Int32,
        openDirectory: @escaping @Sendable (_ path: String) -> Int32,
        read: @escaping @Sendable (_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Int,
        write: @escaping @Sendable (_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Int,
        fsync: @escaping @Sendable (_ fd: Int32) -> Int32,
        syncFileSystem: @escaping @Sendable (_ fd: Int32) -> Int32,
        fchmod: @escaping @Sendable (_ fd: Int32, _ permissions: UInt32) -> Int32,
        fstat: @escaping @Sendable (_ fd: Int32, _ info: inout FileInfo) -> Int32,
        close: @escaping @Sendable (_ fd: Int32) -> Int32,
        rename: @escaping @Sendable (_ from: String, _ to: String) -> Int32,
        link: @escaping @Sendable (_ existing: String, _ new: String) -> Int32,
        unlink: @escaping @Sendable (_ path: String) -> Int32,
        mkdir: @escaping @Sendable (_ path: String, _ permissions: UInt32) -> Int32,
        lstat: @escaping @Sendable (_ path: String, _ info: inout FileInfo) -> Int32,
        flock: @escaping @Sendable (_ fd: Int32, _ operation: LockOperation, _ nonBlocking: Bool) -> Int32,
        openAt: @escaping @Sendable (_ directory: Int32, _ name: String, _ options: OpenOptions, _ permissions: UInt32) -> Int32
            = System.liveOpenAt,
        lstatAt: @escaping @Sendable (_ directory: Int32, _ name: String, _ info: inout FileInfo) -> Int32 = System.liveLstatAt
    ) {
        self.open = open
        self.openDirectory = openDirectory
        self.read = read
        self.write = write
        self.fsync = fsync
        self.syncFileSystem = syncFileSystem
        self.fchmod = fchmod
        self.fstat = fstat
        self.close = close
        self.rename = rename
        self.link = link
        self.unlink = unlink
        self.mkdir = mkdir
        self.lstat = lstat
        self.flock = flock
        self.openAt = openAt
        self.lstatAt = lstatAt
    }

    /// The real system calls.
    package static let live = FileSyscalls(
        open: { path, options, permissions in
            let fd = System.cOpen(path, options.rawValue | O_CLOEXEC, mode_t(permissions))
            return fd >= 0 ? fd : -errno
        },
        openDirectory: { path in
            let fd = System.cOpen(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
            return fd >= 0 ? fd : -errno
        },
        read: { fd, buffer in
            let count = System.cRead(fd, buffer.baseAddress, buffer.count)
            return count >= 0 ? count : -Int(errno)
        },
        write: { fd, buffer in
            let count = System.cWrite(fd, buffer.baseAddress, buffer.count)
            return count >= 0 ? count : -Int(errno)
        },
        fsync: { fd in System.cFsync(fd) == 0 ? 0 : -errno },
        syncFileSystem: { fd in
            if let syncfs = System.syncfs { return syncfs(fd) == 0 ? 0 : -errno }
            return -ENOSYS
        },
        fchmod: { fd, permissions in System.cFchmod(fd, mode_t(permissions)) == 0 ? 0 : -errno },
        fstat: { fd, info in
            var raw = stat()
            guard System.cFstat(fd, &raw) == 0 else { return -errno }
            info = FileInfo(raw)
            return 0
        },
        close: { fd in System.cClose(fd) == 0 ? 0 : -errno },
        rename: { from, to in System.cRename(from, to) == 0 ? 0 : -errno },
        link: { existing, new in System.cLink(existing, new) == 0 ? 0 : -errno },
        unlink: { path in System.cUnlink(path) == 0 ? 0 : -errno },
        mkdir: { path, permissions in System.cMkdir(path, mode_t(permissions)) == 0 ? 0 : -errno },
        lstat: { path, info in
            var raw = stat()
            guard System.cLstat(path, &raw) == 0 else { return -errno }
            info = FileInfo(raw)
            return 0
        },
        flock: { fd, operation, nonBlocking in
            System.cFlock(fd, operation.raw(nonBlocking: nonBlocking)) == 0 ? 0 : -errno
        }
    )

    /// Runs `call` again while it reports `EINTR`: a signal arriving mid-call is not a failure.
    @inline(__always)
    package static func retryingEINTR<T: SignedInteger>(_ call: () -> T) -> T {
        while true {
            let result = call()
            if result != -T(EINTR) { return result }
        }
    }
}

// MARK: - Calls that need no fault injection

/// The other C-library calls Tally makes: standard streams, directories, paths, time,
/// signals, locks. None of them is part of a durability protocol, so none is injectable.
package enum System {
    // Qualified names for the calls the seam above wraps: inside `FileSyscalls` the bare
    // names would refer to its own members.
    fileprivate static func cOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { open(path, flags, mode) }
    fileprivate static func cRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
    fileprivate static func cWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int { write(fd, buffer, count) }
    fileprivate static func cFsync(_ fd: Int32) -> Int32 { fsync(fd) }
    fileprivate static func cFchmod(_ fd: Int32, _ mode: mode_t) -> Int32 { fchmod(fd, mode) }
    fileprivate static func cFstat(_ fd: Int32, _ info: inout stat) -> Int32 { fstat(fd, &info) }
    fileprivate static func cClose(_ fd: Int32) -> Int32 { close(fd) }
    fileprivate static func cRename(_ from: String, _ to: String) -> Int32 { rename(from, to) }
    fileprivate static func cLink(_ existing: String, _ new: String) -> Int32 { link(existing, new) }
    fileprivate static func cUnlink(_ path: String) -> Int32 { unlink(path) }
    fileprivate static func cMkdir(_ path: String, _ mode: mode_t) -> Int32 { mkdir(path, mode) }
    fileprivate static func cLstat(_ path: String, _ info: inout stat) -> Int32 { lstat(path, &info) }

    /// The real `openat` (the default of ``FileSyscalls/openAt``).
    package static let liveOpenAt: @Sendable (Int32, String, OpenOptions, UInt32) -> Int32 = { directory, name, options, permissions in
        let fd = openat(directory, name, options.rawValue | O_CLOEXEC, mode_t(permissions))
        return fd >= 0 ? fd : -errno
    }

    /// The real `fstatat(…, AT_SYMLINK_NOFOLLOW)` (the default of ``FileSyscalls/lstatAt``).
    package static let liveLstatAt: @Sendable (Int32, String, inout FileInfo) -> Int32 = { directory, name, info in
        var raw = stat()
        guard fstatat(directory, name, &raw, AT_SYMLINK_NOFOLLOW) == 0 else { return -errno }
        info = FileInfo(raw)
        return 0
    }
    /// Linux's `syncfs(2)`, looked up at run time: the C library declares it only with
    /// `_GNU_SOURCE`, which the Swift module does not set, and other platforms lack it.
    fileprivate static let syncfs: (@convention(c) (Int32) -> Int32)? = {
        #if os(Linux)
        // RTLD_DEFAULT (a null handle): the symbol as the process sees it.
        guard let symbol = dlsym(nil, "syncfs") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Int32).self)
        #else
        return nil
        #endif
    }()

    fileprivate static func cFlock(_ fd: Int32, _ operation: Int32) -> Int32 {
        // A bare `flock` names the `struct flock` of fcntl.h; this is the function.
        let call: (Int32, Int32) -> Int32 = flock(_:_:)
        return call(fd, operation)
    }

    // MARK: Standard streams

    /// The descriptors of the standard streams.
    package static let standardInput: Int32 = 0
    package static let standardOutput: Int32 = 1
    package static let standardError: Int32 = 2

    /// Writes all of `bytes` to `fd`, continuing after short writes and EINTR. Returns the
    /// error that stopped it, or nil. Never traps, whatever state the descriptor is in.
    package static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Errno? {
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return Errno(errno)
            }
            if written == 0 { return .ioError }
            offset += written
        }
        return nil
    }

    /// Whether `fd` is a terminal.
    package static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Makes a write to a closed pipe fail with EPIPE instead of killing the process, so the
    /// command can report it and exit with its documented code.
    package static func ignoreBrokenPipeSignal() {
        _ = signal(SIGPIPE, SIG_IGN)
    }

    /// What `fd` is (a pipe, a terminal, a regular file), or nil when it is closed.
    package static func kind(of fd: Int32) -> FileKind? {
        var raw = stat()
        guard fstat(fd, &raw) == 0 else { return nil }
        return FileKind(mode: raw.st_mode)
    }

    // MARK: Paths

    /// The canonical absolute path of `path` with every symbolic link resolved, or nil when
    /// it does not exist or cannot be resolved.
    package static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The target of the symbolic link at `path`: the text, or `-errno`.
    package static func readLink(_ path: String) -> Result<String, Errno> {
        var buffer = [CChar](repeating: 0, count: 4097)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { return .failure(Errno(errno)) }
        return .success(String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// `lstat` without fault injection, for code that only looks (the key-to-path check).
    package static func lstatInfo(_ path: String) -> Result<FileInfo, Errno> {
        var raw = stat()
        guard lstat(path, &raw) == 0 else { return .failure(Errno(errno)) }
        return .success(FileInfo(raw))
    }

    /// `stat` (following links) without fault injection.
    package static func statInfo(_ path: String) -> Result<FileInfo, Errno> {
        var raw = stat()
        guard stat(path, &raw) == 0 else { return .failure(Errno(errno)) }
        return .success(FileInfo(raw))
    }

    /// The current working directory, or nil.
    package static func currentDirectory() -> String? {
        guard let path = getcwd(nil, 0) else { return nil }
        defer { free(path) }
        return String(cString: path)
    }

    // MARK: Directories

    /// One entry of a directory listing.
    package struct DirectoryEntry: Sendable {
        package var name: String
        /// The entry's type as `readdir` reports it; `.unknown` on file systems that do not
        /// fill it in (the caller must `lstat` then).
        package var kind: FileKind
    }

    /// An open directory stream (`fdopendir`/`readdir`), closed on deinit.
    package final class DirectoryStream {
        private var stream: OpaquePointer?

        /// Takes ownership of an open directory descriptor (see ``FileSyscalls/openDirectory``);
        /// on failure the descriptor is closed and the errno returned.
        package static func open(descriptor fd: Int32) -> Result<DirectoryStream, Errno> {
            guard let stream = fdopendir(fd) else {
                let error = Errno(errno)
                _ = System.cClose(fd)
                return .failure(error)
            }
            return .success(DirectoryStream(stream))
        }

        private init(_ stream: OpaquePointer) {
            self.stream = stream
        }

        deinit {
            if let stream { closedir(stream) }
        }

        /// The next entry other than `.` and `..`; nil at the end; the errno on a read error.
        package func next() -> Result<DirectoryEntry, Errno>? {
            guard let stream else { return nil }
            while true {
                errno = 0
                guard let entry = readdir(stream) else {
                    return errno == 0 ? nil : .failure(Errno(errno))
                }
                // Each field is read in place, the struct never copied: the record `readdir`
                // returns is only as long as its name (`d_reclen`), not `sizeof(struct
                // dirent)`, so a copy of it or of its 256-byte `d_name` reads past the record,
                // and the last one in glibc's buffer can end just before an unmapped page (a
                // segfault W7's benchmark hit once, mirroring 100,000 files; AddressSanitizer
                // reports every such read). `&entry.pointee.d_name` is the field's own address,
                // as Foundation reads it; `d_type` is a one-byte load.
                let name = withUnsafePointer(to: &entry.pointee.d_name) { field in
                    String(cString: UnsafeRawPointer(field).assumingMemoryBound(to: CChar.self))
                }
                if name == "." || name == ".." { continue }
                let kind: FileKind
                switch Int32(entry.pointee.d_type) {
                case Int32(DT_REG): kind = .regular
                case Int32(DT_DIR): kind = .directory
                case Int32(DT_LNK): kind = .symbolicLink
                case Int32(DT_FIFO): kind = .fifo
                case Int32(DT_SOCK): kind = .socket
                case Int32(DT_CHR): kind = .characterDevice
                case Int32(DT_BLK): kind = .blockDevice
                default: kind = .unknown
                }
                return .success(DirectoryEntry(name: name, kind: kind))
            }
        }

        /// Closes the stream now.
        package func close() {
            if let stream { closedir(stream) }
            stream = nil
        }
    }

    /// Removes an empty directory (`rmdir`); the errno when it cannot.
    package static func removeDirectory(_ path: String) -> Errno? {
        rmdir(path) == 0 ? nil : Errno(errno)
    }

    // MARK: Memory

    /// The offset of the first `byte` in `buffer`, or nil (memchr: fast even in debug builds).
    package static func firstIndex(of byte: UInt8, in buffer: UnsafeRawBufferPointer) -> Int? {
        guard let base = buffer.baseAddress, !buffer.isEmpty,
              let found = memchr(base, Int32(byte), buffer.count) else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }

    /// Whether two byte buffers are equal (memcmp).
    package static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        guard let left = a.baseAddress, let right = b.baseAddress else { return a.count == 0 }
        return memcmp(left, right, a.count) == 0
    }

    // MARK: Time and processes

    /// Sleeps for `seconds` (resuming after signals).
    package static func sleep(seconds: Double) {
        guard seconds > 0, seconds.isFinite else { return }
        let whole = seconds.rounded(.down)
        var request = timespec(tv_sec: Int(whole), tv_nsec: Int((seconds - whole) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
    }

    /// Ends the process with `code` (without running atexit handlers that Swift does not need).
    package static func exit(_ code: Int32) -> Never {
        #if canImport(Darwin)
        Darwin.exit(code)
        #elseif canImport(Glibc)
        Glibc.exit(code)
        #else
        Musl.exit(code)
        #endif
    }

    /// This process's id.
    package static var processID: Int32 { Int32(getpid()) }

    /// Waits up to `seconds` for `fd` to become readable (poll); false on timeout or error.
    package static func waitReadable(_ fd: Int32, seconds: Double) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(max(0, min(seconds, 3_600)) * 1_000)
        while true {
            let ready = poll(&entry, 1, milliseconds)
            if ready < 0 && errno == EINTR { continue }
            return ready > 0
        }
    }

    /// Whether a process with this id exists (signal 0).
    package static func processExists(_ pid: Int32) -> Bool {
        kill(pid_t(pid), 0) == 0 || errno == EPERM
    }

    /// Runs `executable` (looked up in `PATH` when it has no slash) with `arguments`,
    /// sharing this process's standard streams, and waits for it. `environment` replaces
    /// the variables it names (nil values remove them). Returns the exit status (128 + the
    /// signal for a killed child), or the error that kept it from starting.
    package static func run(_ executable: String, _ arguments: [String],
                            environment changes: [String: String?] = [:]) -> Result<Int32, Errno> {
        run(executable, arguments, environment: changes, capturing: false).map(\.status)
    }

    /// ``run(_:_:environment:)``, with the child's standard output and error captured
    /// together (up to 1 MiB is kept) instead of shared.
    package static func runCapturing(_ executable: String, _ arguments: [String],
                                     environment changes: [String: String?] = [:]) -> Result<(status: Int32, output: String), Errno> {
        run(executable, arguments, environment: changes, capturing: true)
    }

    private static func run(_ executable: String, _ arguments: [String], environment changes: [String: String?],
                            capturing: Bool) -> Result<(status: Int32, output: String), Errno> {
        var environment: [String] = []
        var index = 0
        #if canImport(Darwin)
        let inherited: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = _NSGetEnviron().pointee
        #else
        let inherited: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
        #endif
        while let entry = inherited?[index] {
            let text = String(cString: entry)
            let name = String(text.prefix { $0 != "=" })
            if changes[name] == nil { environment.append(text) }
            index += 1
        }
        for case let (name, value?) in changes { environment.append("\(name)=\(value)") }
        let argv = ([executable] + arguments).map { strdup($0) }
        let envp = environment.map { strdup($0) }
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid = pid_t()
        var argvList = argv + [nil]
        var envpList = envp + [nil]
        var pipeEnds: [Int32] = [-1, -1]
        #if canImport(Darwin)
        var actions: posix_spawn_file_actions_t? = nil
        #else
        var actions = posix_spawn_file_actions_t()
        #endif
        if capturing {
            guard pipe(&pipeEnds) == 0 else { return .failure(Errno(errno)) }
            posix_spawn_file_actions_init(&actions)
            posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
            posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 2)
            posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
        }
        defer { if capturing { posix_spawn_file_actions_destroy(&actions) } }
        let started = argvList.withUnsafeMutableBufferPointer { argvBuffer -> Int32 in
            envpList.withUnsafeMutableBufferPointer { envpBuffer -> Int32 in
                // Both lists hold at least their nil terminator, so the addresses exist.
                guard let argvStart = argvBuffer.baseAddress, let envpStart = envpBuffer.baseAddress else { return EINVAL }
                if capturing { return posix_spawnp(&pid, executable, &actions, nil, argvStart, envpStart) }
                return posix_spawnp(&pid, executable, nil, nil, argvStart, envpStart)
            }
        }
        if capturing { close(pipeEnds[1]) }
        guard started == 0 else {
            if capturing { close(pipeEnds[0]) }
            return .failure(Errno(started))
        }
        var output: [UInt8] = []
        if capturing {
            var buffer = [UInt8](repeating: 0, count: 4_096)
            while true {
                let count = buffer.withUnsafeMutableBytes { cRead(pipeEnds[0], $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                if output.count < 1 << 20 { output.append(contentsOf: buffer[0..<count]) }
            }
            close(pipeEnds[0])
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { return .failure(Errno(errno)) }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, spelled out (the C macros are not imported).
        let signal = status & 0x7F
        return .success((signal == 0 ? (status >> 8) & 0xFF : 128 + signal, String(decoding: output, as: UTF8.self)))
    }

    /// Whether an executable named `name` is on `PATH` (or at `name`, when it has a slash).
    package static func findExecutable(_ name: String) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

// MARK: - File-change notification

/// Wakes a waiting thread when a file in one directory is written, so that a follower of
/// the ledger notices another process's commit without polling: Linux `inotify` on the
/// database's directory (a watch on the directory, not on `-wal` itself, survives the WAL
/// file being deleted and created again). Elsewhere it is unavailable and ``wait(seconds:)``
/// only sleeps, so callers poll at their fallback interval.
///
/// While a watch is set, every write to a file of the directory costs its writer an event
/// the kernel queues (or merges into the last one); ``pause()`` removes the watch and
/// ``resume()`` sets it again.
package final class FileChangeMonitor: @unchecked Sendable {
    // @unchecked: one thread uses it (the store's change watcher); the descriptor is only
    // closed in deinit.
    private let descriptor: Int32
    private let names: Set<String>
    private let directory: String
    /// The watch on `directory`; -1 while paused.
    private var watch: Int32 = -1
    #if canImport(Glibc) || canImport(Musl)
    private static let mask = UInt32(IN_MODIFY) | UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO) | UInt32(IN_CREATE)
    #endif

    /// Whether this platform delivers notifications (otherwise callers poll).
    package static var isAvailable: Bool {
        #if canImport(Glibc) || canImport(Musl)
        return true
        #else
        return false
        #endif
    }

    /// Watches `directory` for writes to the files named `names` (bare names, no slash).
    /// Returns nil when the platform has no notification or the watch cannot be set up.
    package init?(directory: String, names: Set<String>) {
        #if canImport(Glibc) || canImport(Musl)
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        let watch = inotify_add_watch(fd, directory, Self.mask)
        guard watch >= 0 else {
            close(fd)
            return nil
        }
        descriptor = fd
        self.names = names
        self.directory = directory
        self.watch = watch
        #else
        return nil
        #endif
    }

    deinit {
        #if canImport(Glibc) || canImport(Musl)
        close(descriptor)
        #endif
    }

    /// True between ``pause()`` and a successful ``resume()``.
    package var isPaused: Bool { watch < 0 }

    /// Removes the watch: writes to the directory's files queue nothing until ``resume()``
    /// (events queued already are still reported by ``wait(seconds:)``).
    package func pause() {
        #if canImport(Glibc) || canImport(Musl)
        guard watch >= 0 else { return }
        _ = inotify_rm_watch(descriptor, watch)
        watch = -1
        #endif
    }

    /// Sets the watch again; false when it cannot be (the directory is gone): then it
    /// stays paused.
    @discardableResult
    package func resume() -> Bool {
        #if canImport(Glibc) || canImport(Musl)
        guard watch < 0 else { return true }
        watch = inotify_add_watch(descriptor, directory, Self.mask)
        return watch >= 0
        #else
        return false
        #endif
    }

    /// Waits up to `seconds` for a write to one of the watched files. Returns true when
    /// one happened (several may be merged into one wake-up), false on timeout.
    package func wait(seconds: Double) -> Bool {
        #if canImport(Glibc) || canImport(Musl)
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(max(0, min(seconds, 3_600)) * 1_000)
        let ready = poll(&entry, 1, milliseconds)
        guard ready > 0 else { return false }
        // Drain every queued event; report whether any named a watched file.
        var relevant = false
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            var offset = 0
            let header = MemoryLayout<inotify_event>.size
            while offset + header <= count {
                let length = buffer.withUnsafeBytes { raw -> Int in
                    Int(raw.loadUnaligned(fromByteOffset: offset + header - MemoryLayout<UInt32>.size, as: UInt32.self))
                }
                if length > 0, offset + header + length <= count {
                    let nameBytes = buffer[(offset + header)..<(offset + header + length)].prefix { $0 != 0 }
                    if names.contains(String(decoding: nameBytes, as: UTF8.self)) { relevant = true }
                }
                offset += header + length
            }
        }
        return relevant
        #else
        System.sleep(seconds: seconds)
        return false
        #endif
    }
}

// MARK: - Locks

/// A mutual-exclusion lock over `pthread_mutex_t`, which every supported platform has
/// (Foundation's NSLock is not in FoundationEssentials, and `Synchronization.Mutex` needs
/// macOS 15).
package final class PlatformLock: @unchecked Sendable {
    fileprivate let mutex: UnsafeMutablePointer<pthread_mutex_t>

    package init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    package func lock() { pthread_mutex_lock(mutex) }
    package func unlock() { pthread_mutex_unlock(mutex) }

    /// Runs `body` holding the lock.
    package func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// A condition variable paired with a ``PlatformLock``: its own, or another condition's.
package final class PlatformCondition: @unchecked Sendable {
    private let lockValue: PlatformLock
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    package convenience init() {
        self.init(lock: PlatformLock())
    }

    /// A second condition on `other`'s lock, so that one party can be woken without waking
    /// everyone who waits on `other`. Locking either locks both.
    package convenience init(sharingLockOf other: PlatformCondition) {
        self.init(lock: other.lockValue)
    }

    private init(lock: PlatformLock) {
        lockValue = lock
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
    }

    package func lock() { lockValue.lock() }
    package func unlock() { lockValue.unlock() }

    /// Waits (the lock held) until signalled.
    package func wait() { pthread_cond_wait(condition, lockValue.mutex) }

    /// Waits (the lock held) until signalled or `seconds` have passed; false on timeout.
    package func wait(seconds: Double) -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let nanos = Double(now.tv_nsec) + max(0, seconds) * 1e9
        var deadline = timespec(tv_sec: now.tv_sec + Int(nanos / 1e9), tv_nsec: Int(nanos.truncatingRemainder(dividingBy: 1e9)))
        return pthread_cond_timedwait(condition, lockValue.mutex, &deadline) == 0
    }

    package func signal() { pthread_cond_signal(condition) }
    package func broadcast() { pthread_cond_broadcast(condition) }
}

// MARK: - Threads

/// Threads Tally starts itself: the second stage of the bulk pipelines (``BatchHandOver``).
package enum PlatformThread {
    /// What starts a thread named by its first argument to run the closure, returning false
    /// when the system refuses one: ``detach(named:_:)``, or a test's stand-in.
    package typealias Starter = @Sendable (String, @escaping @Sendable () -> Void) -> Bool

    private final class Start {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Offers the rest of the calling thread's time slice to another runnable thread
    /// (`sched_yield`); returns at once when there is none.
    package static func yield() {
        _ = sched_yield()
    }

    /// Starts a detached thread that runs `body` and ends. `name` names it in debuggers on
    /// Darwin (Glibc's module does not export `pthread_setname_np`). Returns false when the
    /// system refuses another thread.
    package static func detach(named name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
        let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t?
        #endif
        let result = pthread_create(&thread, &attributes, { argument in
            let pointer: UnsafeMutableRawPointer? = argument  // optional on Linux, not on Darwin
            guard let pointer else { return nil }
            let start = Unmanaged<Start>.fromOpaque(pointer).takeRetainedValue()
            #if canImport(Darwin)
            _ = pthread_setname_np(start.name)
            #endif
            start.body()
            return nil
        }, start)
        guard result == 0 else {
            Unmanaged<Start>.fromOpaque(start).release()
            return false
        }
        return true
    }
}

// MARK: - Shared libraries

/// A shared library opened at run time (dlopen), for dependencies only some programs need:
/// Tally loads libpq this way, so a program that never opens a PostgreSQL store never maps it.
/// Never closed: the functions taken from it stay valid for the life of the process.
package struct SharedLibrary: @unchecked Sendable {  // the handle is immutable and process-wide
    private let handle: UnsafeMutableRawPointer

    /// Opens the first of `names` that the dynamic loader finds (each a file name searched the
    /// loader's usual way, or a path), binding every symbol now (RTLD_NOW) and keeping them
    /// out of the global namespace (RTLD_LOCAL). On failure, the loader's message for each name.
    package static func open(firstOf names: [String]) -> Result<SharedLibrary, SharedLibraryError> {
        var messages: [String] = []
        for name in names {
            if let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) { return .success(SharedLibrary(handle: handle)) }
            messages.append(dlerror().map { String(cString: $0) } ?? "\(name): not found")
        }
        return .failure(SharedLibraryError(messages: messages))
    }

    /// The address of the function or variable `name` (dlsym), or nil when the library has none.
    package func address(of name: String) -> UnsafeMutableRawPointer? {
        dlsym(handle, name)
    }
}

/// Why ``SharedLibrary/open(firstOf:)`` found none of the names it tried.
package struct SharedLibraryError: Error, Sendable {
    /// The dynamic loader's message for each name tried, in order (each names its file).
    package let messages: [String]
}
