import Glibc

/// The system calls the `Files/` code makes, gathered in one replaceable value.
///
/// Every file operation in ``AtomicFile``, ``FileLock`` and ``TempFileSweeper`` goes through
/// one of these closures, so a test can make any single step fail (or return short, or be
/// interrupted) deterministically and check that nothing is half-written. Production code
/// uses ``live`` and never needs to look at this type.
///
/// Each closure returns what the system call returns on success, or the **negated errno**
/// on failure (`-EIO`, `-ENOSPC`, …), the way the kernel itself reports errors. Returning the
/// error number instead of leaving it in the thread's `errno` means nothing that runs
/// between the call and the check (a deallocation, a log line) can overwrite it.
public struct FileSyscalls: Sendable {
    /// `open(path, flags, mode)`: a file descriptor, or `-errno`.
    public var open: @Sendable (_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32
    /// Opens a directory read-only so it can be fsynced or locked: a descriptor, or `-errno`.
    public var openDirectory: @Sendable (_ path: String) -> Int32
    /// `read(fd, buffer)`: bytes read (0 at end of file), or `-errno`.
    public var read: @Sendable (_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Int
    /// `write(fd, buffer)`: bytes written (possibly fewer than asked), or `-errno`.
    public var write: @Sendable (_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Int
    /// `fsync(fd)`: 0, or `-errno`. Used for files and for directories.
    public var fsync: @Sendable (_ fd: Int32) -> Int32
    /// `fchmod(fd, mode)`: 0, or `-errno`.
    public var fchmod: @Sendable (_ fd: Int32, _ mode: mode_t) -> Int32
    /// `close(fd)`: 0, or `-errno`.
    public var close: @Sendable (_ fd: Int32) -> Int32
    /// `rename(from, to)`: 0, or `-errno`.
    public var rename: @Sendable (_ from: String, _ to: String) -> Int32
    /// `link(existing, new)`: 0, or `-errno`.
    public var link: @Sendable (_ existing: String, _ new: String) -> Int32
    /// `unlink(path)`: 0, or `-errno`.
    public var unlink: @Sendable (_ path: String) -> Int32
    /// `mkdir(path, mode)`: 0, or `-errno`.
    public var mkdir: @Sendable (_ path: String, _ mode: mode_t) -> Int32
    /// `lstat(path, &info)`: 0, or `-errno`. Never follows a final symbolic link.
    public var lstat: @Sendable (_ path: String, _ info: inout stat) -> Int32
    /// `flock(fd, operation)`: 0, or `-errno`.
    public var flock: @Sendable (_ fd: Int32, _ operation: Int32) -> Int32

    /// Creates a seam from explicit closures; tests usually start from ``live`` and replace one.
    public init(
        open: @escaping @Sendable (_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32,
        openDirectory: @escaping @Sendable (_ path: String) -> Int32,
        read: @escaping @Sendable (_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Int,
        write: @escaping @Sendable (_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Int,
        fsync: @escaping @Sendable (_ fd: Int32) -> Int32,
        fchmod: @escaping @Sendable (_ fd: Int32, _ mode: mode_t) -> Int32,
        close: @escaping @Sendable (_ fd: Int32) -> Int32,
        rename: @escaping @Sendable (_ from: String, _ to: String) -> Int32,
        link: @escaping @Sendable (_ existing: String, _ new: String) -> Int32,
        unlink: @escaping @Sendable (_ path: String) -> Int32,
        mkdir: @escaping @Sendable (_ path: String, _ mode: mode_t) -> Int32,
        lstat: @escaping @Sendable (_ path: String, _ info: inout stat) -> Int32,
        flock: @escaping @Sendable (_ fd: Int32, _ operation: Int32) -> Int32
    ) {
        self.open = open
        self.openDirectory = openDirectory
        self.read = read
        self.write = write
        self.fsync = fsync
        self.fchmod = fchmod
        self.close = close
        self.rename = rename
        self.link = link
        self.unlink = unlink
        self.mkdir = mkdir
        self.lstat = lstat
        self.flock = flock
    }

    /// The real system calls.
    public static let live = FileSyscalls(
        open: { path, flags, mode in
            let fd = Glibc.open(path, flags, mode)
            return fd >= 0 ? fd : -errno
        },
        openDirectory: { path in
            let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            return fd >= 0 ? fd : -errno
        },
        read: { fd, buffer in
            let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
            return count >= 0 ? count : -Int(errno)
        },
        write: { fd, buffer in
            let count = Glibc.write(fd, buffer.baseAddress, buffer.count)
            return count >= 0 ? count : -Int(errno)
        },
        fsync: { fd in Glibc.fsync(fd) == 0 ? 0 : -errno },
        fchmod: { fd, mode in Glibc.fchmod(fd, mode) == 0 ? 0 : -errno },
        close: { fd in Glibc.close(fd) == 0 ? 0 : -errno },
        rename: { from, to in Glibc.rename(from, to) == 0 ? 0 : -errno },
        link: { existing, new in Glibc.link(existing, new) == 0 ? 0 : -errno },
        unlink: { path in Glibc.unlink(path) == 0 ? 0 : -errno },
        mkdir: { path, mode in Glibc.mkdir(path, mode) == 0 ? 0 : -errno },
        lstat: { path, info in Glibc.lstat(path, &info) == 0 ? 0 : -errno },
        flock: { fd, operation in systemFlock(fd, operation) == 0 ? 0 : -errno }
    )

    /// The `flock` function; a bare `flock` names the `struct flock` of fcntl.h instead.
    private static let systemFlock: @Sendable (Int32, Int32) -> Int32 = { fd, operation in
        let call: (Int32, Int32) -> Int32 = Glibc.flock(_:_:)
        return call(fd, operation)
    }
}

extension FileSyscalls {
    /// Runs `call` again while it reports `EINTR`: a signal arriving mid-call is not a failure.
    @inline(__always)
    static func retryingEINTR<T: SignedInteger>(_ call: () -> T) -> T {
        while true {
            let result = call()
            if result != -T(EINTR) { return result }
        }
    }
}
