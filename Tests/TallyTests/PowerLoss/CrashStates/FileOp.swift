/// Identifies an open file descriptor inside a recorded log.
///
/// It is an opaque id, not necessarily the kernel's number: a recorder may use
/// real fd numbers (an id may be reused once it has been closed) or any counter.
struct FileDescriptorID: Hashable, Sendable, CustomStringConvertible {
    /// The recorder's number for this descriptor.
    let rawValue: Int

    /// Wraps a recorder-chosen descriptor number.
    init(_ rawValue: Int) {
        self.rawValue = rawValue
    }

    /// Short form used in diagnostics, e.g. `fd3`.
    var description: String { "fd\(rawValue)" }
}

/// One file-system operation as performed by library code through its I/O seam,
/// in the order it happened. Paths are relative to the directory under test
/// ("" or "." is that directory itself) and use "/" separators.
enum FileOp: Hashable, Sendable {
    /// A new, empty regular file (`open(O_CREAT|O_EXCL)`); the name must not exist.
    case create(path: String, fd: FileDescriptorID)
    /// An existing regular file opened for I/O (no truncation; log `truncate` for `O_TRUNC`).
    case open(path: String, fd: FileDescriptorID)
    /// `pwrite` of `bytes` at `offset`; the contents matter because crash states show them.
    case write(fd: FileDescriptorID, offset: Int, bytes: [UInt8])
    /// `ftruncate` to `length` (shrinks, or extends with zeros).
    case truncate(fd: FileDescriptorID, length: Int)
    /// `fsync` on a regular file: persists its data and size, not its names.
    case fsync(fd: FileDescriptorID)
    /// `fdatasync`: modelled like `fsync`, since the size needed to read the data is persisted too.
    case fdatasync(fd: FileDescriptorID)
    /// `fsync` on a directory: persists that directory's entry table.
    case fsyncDirectory(path: String)
    /// `syncfs` (Linux): everything of the file system is durable, every file's data and
    /// every directory's entries, as `sync(2)` promises for one file system.
    case syncFileSystem
    /// `rename`, atomically replacing an existing regular-file target.
    case rename(from: String, to: String)
    /// `link`: a second name for an existing regular file; `new` must not exist.
    case link(existing: String, new: String)
    /// `unlink` of a regular file's name (the inode lives on while an fd is open).
    case unlink(path: String)
    /// `mkdir`; the new directory's own entry lives in its parent.
    case mkdir(path: String)
    /// `close`; has no durability effect, it only ends the descriptor.
    case close(fd: FileDescriptorID)
    /// `fchmod`: metadata only, ignored for contents (validated so logs stay honest).
    case fchmod(fd: FileDescriptorID, mode: UInt32)
    /// `chmod` by path: metadata only, ignored for contents.
    case chmod(path: String, mode: UInt32)
    /// The library reported success to its caller; crash states after it are held
    /// to the protocol's durability promise.
    case protocolReturned(label: String)
    /// From here on the file at `path` holds `bytes`, written outside the seam
    /// (e.g. by SQLite). Creates the file if it is missing. Unsynced until an
    /// `fsync` on an fd opened for it.
    case externalContent(path: String, bytes: [UInt8])
    /// As `externalContent`, already durable: code outside the seam wrote `bytes` and synced
    /// them (SQLite fsyncs what it relies on; its protocol is not modelled here). A new file's
    /// name is as unsynced as any other new entry.
    case externalSyncedContent(path: String, bytes: [UInt8])
}

extension FileOp: CustomStringConvertible {
    /// Compact form for violation reports; byte payloads are shown as lengths.
    var description: String {
        switch self {
        case let .create(path, fd): "create(\(path)) -> \(fd)"
        case let .open(path, fd): "open(\(path)) -> \(fd)"
        case let .write(fd, offset, bytes): "write(\(fd), @\(offset), \(bytes.count) bytes)"
        case let .truncate(fd, length): "truncate(\(fd), \(length))"
        case let .fsync(fd): "fsync(\(fd))"
        case let .fdatasync(fd): "fdatasync(\(fd))"
        case let .fsyncDirectory(path): "fsyncDirectory(\(path.isEmpty ? "." : path))"
        case .syncFileSystem: "syncfs"
        case let .rename(from, to): "rename(\(from) -> \(to))"
        case let .link(existing, new): "link(\(existing) -> \(new))"
        case let .unlink(path): "unlink(\(path))"
        case let .mkdir(path): "mkdir(\(path))"
        case let .close(fd): "close(\(fd))"
        case let .fchmod(fd, mode): "fchmod(\(fd), 0o\(String(mode, radix: 8)))"
        case let .chmod(path, mode): "chmod(\(path), 0o\(String(mode, radix: 8)))"
        case let .protocolReturned(label): "protocolReturned(\(label))"
        case let .externalContent(path, bytes): "externalContent(\(path), \(bytes.count) bytes)"
        case let .externalSyncedContent(path, bytes): "externalSyncedContent(\(path), \(bytes.count) bytes)"
        }
    }
}

/// Builds a `[FileOp]` by hand, handing out descriptor ids the way `open` would,
/// so tests read like the protocol they describe.
struct FileOpLog: Sendable {
    /// The operations recorded so far, in order.
    private(set) var operations: [FileOp] = []
    // Starts at 3 only so ids look like real descriptors in diagnostics.
    private var nextDescriptor = 3

    /// An empty log.
    init() {}

    /// Appends an already-built operation (what a recorder does).
    mutating func append(_ operation: FileOp) {
        operations.append(operation)
    }

    /// Logs `create(path)` and returns the new descriptor.
    @discardableResult
    mutating func create(_ path: String) -> FileDescriptorID {
        let fd = allocateDescriptor()
        operations.append(.create(path: path, fd: fd))
        return fd
    }

    /// Logs `open(path)` of an existing file and returns the new descriptor.
    @discardableResult
    mutating func open(_ path: String) -> FileDescriptorID {
        let fd = allocateDescriptor()
        operations.append(.open(path: path, fd: fd))
        return fd
    }

    /// Logs a write of `bytes` at `offset`.
    mutating func write(_ fd: FileDescriptorID, at offset: Int = 0, _ bytes: [UInt8]) {
        operations.append(.write(fd: fd, offset: offset, bytes: bytes))
    }

    /// Logs a write of the UTF-8 bytes of `text` at `offset`.
    mutating func write(_ fd: FileDescriptorID, at offset: Int = 0, text: String) {
        write(fd, at: offset, Array(text.utf8))
    }

    /// Logs `ftruncate(fd, length)`.
    mutating func truncate(_ fd: FileDescriptorID, to length: Int) {
        operations.append(.truncate(fd: fd, length: length))
    }

    /// Logs `fsync(fd)`.
    mutating func fsync(_ fd: FileDescriptorID) {
        operations.append(.fsync(fd: fd))
    }

    /// Logs `fdatasync(fd)`.
    mutating func fdatasync(_ fd: FileDescriptorID) {
        operations.append(.fdatasync(fd: fd))
    }

    /// Logs an fsync of the directory at `path` ("" is the directory under test).
    mutating func fsyncDirectory(_ path: String = "") {
        operations.append(.fsyncDirectory(path: path))
    }

    /// Logs a `syncfs` of the file system.
    mutating func syncFileSystem() {
        operations.append(.syncFileSystem)
    }

    /// Logs `rename(from, to)`.
    mutating func rename(_ from: String, to: String) {
        operations.append(.rename(from: from, to: to))
    }

    /// Logs `link(existing, new)`.
    mutating func link(_ existing: String, as new: String) {
        operations.append(.link(existing: existing, new: new))
    }

    /// Logs `unlink(path)`.
    mutating func unlink(_ path: String) {
        operations.append(.unlink(path: path))
    }

    /// Logs `mkdir(path)`.
    mutating func mkdir(_ path: String) {
        operations.append(.mkdir(path: path))
    }

    /// Logs `close(fd)`.
    mutating func close(_ fd: FileDescriptorID) {
        operations.append(.close(fd: fd))
    }

    /// Logs `fchmod(fd, mode)`.
    mutating func fchmod(_ fd: FileDescriptorID, mode: UInt32) {
        operations.append(.fchmod(fd: fd, mode: mode))
    }

    /// Logs the success marker for the protocol call named `label`.
    mutating func protocolReturned(_ label: String) {
        operations.append(.protocolReturned(label: label))
    }

    /// Logs that code outside the seam left `bytes` in the file at `path`.
    mutating func externalContent(_ path: String, _ bytes: [UInt8]) {
        operations.append(.externalContent(path: path, bytes: bytes))
    }

    /// Logs Tally's atomic-replace sequence: create `temporaryPath`, write, fsync,
    /// fchmod, close, rename over `path`, fsync the parent directory. The flags
    /// drop single steps so tests can show what each one is for.
    mutating func atomicReplace(
        _ path: String,
        with bytes: [UInt8],
        temporaryPath: String? = nil,
        fsyncFile: Bool = true,
        fsyncDirectory syncDirectory: Bool = true
    ) {
        let temporary = temporaryPath ?? path + ".tmp"
        let fd = create(temporary)
        write(fd, bytes)
        if fsyncFile { fsync(fd) }
        fchmod(fd, mode: 0o600)
        close(fd)
        rename(temporary, to: path)
        if syncDirectory { fsyncDirectory(Self.parentDirectory(of: path)) }
    }

    private mutating func allocateDescriptor() -> FileDescriptorID {
        defer { nextDescriptor += 1 }
        return FileDescriptorID(nextDescriptor)
    }

    private static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }
}
