/// An advisory `flock` lock on a sidecar file `PATH.lock`, shared or exclusive, with a timeout.
///
/// The lock lives on a separate file because the protected file itself is replaced by
/// ``AtomicFile`` renames: a lock on the old inode would not exclude a process that opens
/// the new one. The sidecar is created on first use and never deleted — deleting a lock
/// file lets two processes each lock a different inode under the same name.
///
/// `flock` locks belong to an open file description, and every `FileLock` opens its own, so
/// two instances exclude each other whether they are in different processes or in different
/// threads of one process. An instance itself is meant for one thread at a time; create one
/// per thread or task. Freeing it (deinit) releases the lock.
package final class FileLock {
    /// How the lock is held.
    package enum Mode: Sendable, Equatable {
        /// Many holders at once, excluding ``exclusive`` holders (readers).
        case shared
        /// One holder, excluding everyone else (writers).
        case exclusive
    }

    /// The file this lock protects.
    package let path: String
    /// The sidecar file actually locked, `path + ".lock"`.
    package let lockPath: String
    /// The mode currently held, or nil when unlocked.
    package private(set) var mode: Mode?

    private let syscalls: FileSyscalls
    private var fd: Int32

    /// Opens (creating if needed, with any missing parent directories) the sidecar lock file
    /// for `path`. Does not lock yet.
    ///
    /// - Parameters:
    ///   - path: The file to protect; the lock file is `path + ".lock"`.
    ///   - permissions: Mode of a newly created lock file. Anyone who can open it can block
    ///     writers with a shared lock, hence the private default.
    ///   - syscalls: The system calls to use.
    /// - Throws: ``TallyError/io(step:path:errno:)`` (`mkdir`, `open`).
    package init(path: String, permissions: UInt32 = 0o600, syscalls: FileSyscalls = .live) throws(TallyError) {
        let lockPath = path + ".lock"
        let operations = FileOperations(syscalls: syscalls)
        try operations.makeDirectories(FileOperations.split(lockPath).directory)
        // Read-only is enough for flock and lets a reader without write access take a shared lock.
        let opened = FileSyscalls.retryingEINTR { syscalls.open(lockPath, [.readOnly, .create, .noFollow], permissions) }
        if opened < 0 { throw TallyError.io(step: "open", path: lockPath, errno: -opened) }
        self.path = path
        self.lockPath = lockPath
        self.syscalls = syscalls
        self.fd = opened
    }

    deinit {
        guard fd >= 0 else { return }
        // Unlock before closing. The lock belongs to the open file description, which a
        // child process forked by another thread at this moment shares until its exec closes
        // it (O_CLOEXEC): closing only this descriptor would leave the lock held meanwhile,
        // and the next taker would be refused for no reason.
        if mode != nil { _ = syscalls.flock(fd, .unlock, false) }
        _ = syscalls.close(fd)
    }

    /// Takes the lock, waiting at most `timeout` seconds (nil waits as long as it takes,
    /// 0 tries once).
    ///
    /// Calling it while holding the other mode converts the lock; like `flock`, the
    /// conversion is not atomic (another process may get in between).
    ///
    /// - Throws: ``TallyError/lockTimeout(path:seconds:)`` naming ``lockPath`` when the lock
    ///   stayed busy; ``TallyError/io(step:path:errno:)`` with step `lock` for other failures.
    package func lock(_ mode: Mode, timeout: Double? = nil) throws(TallyError) {
        guard fd >= 0 else { throw TallyError.io(step: "lock", path: lockPath, errno: Errno.badFileDescriptor.rawValue) }
        let operation: LockOperation = mode == .shared ? .shared : .exclusive
        // Beyond a few decades (or infinity, or NaN) a timeout means "wait": converting such a
        // value to nanoseconds would overflow.
        guard let timeout, timeout.isFinite, timeout < 1e9 else {
            let result = FileSyscalls.retryingEINTR { syscalls.flock(fd, operation, false) }
            if result < 0 { throw TallyError.io(step: "lock", path: lockPath, errno: -result) }
            self.mode = mode
            return
        }
        // flock has no timeout of its own; poll without blocking, backing off from 1 ms to
        // 50 ms so a short wait is noticed quickly and a long one costs little CPU.
        var clock = ContinuousClock.now
        let deadline = clock.advanced(by: .nanoseconds(Int64(max(0, timeout) * 1e9)))
        var pause: Int64 = 1_000_000
        while true {
            let result = FileSyscalls.retryingEINTR { syscalls.flock(fd, operation, true) }
            if result == 0 {
                self.mode = mode
                return
            }
            if result != -Errno.wouldBlock.rawValue { throw TallyError.io(step: "lock", path: lockPath, errno: -result) }
            clock = ContinuousClock.now
            if clock >= deadline { throw TallyError.lockTimeout(path: lockPath, seconds: timeout) }
            let remaining = clock.duration(to: deadline)
            let sleep = min(Duration.nanoseconds(pause), remaining)
            let parts = sleep.components
            System.sleep(seconds: Double(parts.seconds) + Double(parts.attoseconds) / 1e18)
            pause = min(pause * 2, 50_000_000)
        }
    }

    /// Releases the lock. Unlocking a lock not held does nothing.
    ///
    /// - Throws: ``TallyError/io(step:path:errno:)`` with step `lock`.
    package func unlock() throws(TallyError) {
        guard fd >= 0, mode != nil else { return }
        let result = FileSyscalls.retryingEINTR { syscalls.flock(fd, .unlock, false) }
        if result < 0 { throw TallyError.io(step: "lock", path: lockPath, errno: -result) }
        mode = nil
    }

    /// Runs `body` holding the lock in `mode`, releasing it afterwards even when `body` throws.
    ///
    /// - Throws: What ``lock(_:timeout:)`` throws, or what `body` throws.
    package func withLock<T>(_ mode: Mode, timeout: Double? = nil, _ body: () throws -> T) throws -> T {
        try lock(mode, timeout: timeout)
        defer { try? unlock() }
        return try body()
    }

    /// Opens a ``FileLock`` for `path`, runs `body` holding it, and closes it.
    ///
    /// - Throws: What ``init(path:permissions:syscalls:)``, ``lock(_:timeout:)`` or `body` throws.
    package static func withLock<T>(
        path: String, _ mode: Mode, timeout: Double? = nil, syscalls: FileSyscalls = .live,
        _ body: () throws -> T
    ) throws -> T {
        let lock = try FileLock(path: path, syscalls: syscalls)
        return try lock.withLock(mode, timeout: timeout, body)
    }
}
