import Foundation

@testable import Tally

/// A ``FileSyscalls`` seam that logs, as ``FileOp``s, every file-system operation a protocol
/// performs under one directory (`root`), and forwards each call to the real system.
///
/// What is logged, with paths relative to `root`:
///
/// - `open` with `O_CREAT` of a name that did not exist: `create`; with `O_TRUNC`: `open` and
///   `truncate(0)`. A plain `open` is logged lazily, just before the first write, fsync or
///   fchmod through its descriptor, so reading a file costs no crash point;
/// - `write` with the descriptor's current offset and the bytes the kernel accepted;
/// - `fsync` of a file, `fsync` of a directory (`fsyncDirectory`), `syncfs`;
/// - `rename`, `link`, `unlink`, `mkdir`, `fchmod`, `close` that succeeded;
/// - ``markReturned(_:)``: the moment the protocol reported success to its caller.
///
/// Durability calls are recorded, not performed (`fsync` and `syncfs` return 0 without
/// reaching the disk): the crash states are computed from the log, and a real fsync would
/// only slow the tests down. With ``syncFileSystemAvailable`` false, `syncFileSystem`
/// returns `-ENOSYS` as on platforms without `syncfs`, so the fallback is recorded instead.
///
/// Changes made outside the seam (SQLite writing a database, its `-wal` and `-shm`) are
/// found by comparing the real tree with the tree the log implies, before every mutating
/// call and at the end, when ``observesExternalChanges`` is on: a new or changed file becomes
/// `externalSyncedContent` (SQLite's own protocol, which fsyncs what it relies on, is not
/// modelled: its data is taken as durable when it is first seen), a vanished
/// file an `unlink` (a name SQLite removes is as unsynced as any other: SQLite does not fsync
/// the directory after deleting a `-wal`). With it off, any such difference is a ``problems``
/// entry: the protocol changed a file behind the seam's back.
final class SyscallRecorder: @unchecked Sendable {
    /// The directory whose files are recorded (absolute, without a trailing slash).
    let root: String
    /// The tree under `root` when recording started: the generator's initial state.
    let initial: DirectoryState
    /// Whether changes made outside the seam are turned into external operations.
    let observesExternalChanges: Bool
    /// Whether `syncFileSystem` is available; false makes it return `-ENOSYS`.
    let syncFileSystemAvailable: Bool

    private enum Descriptor {
        /// A regular file under `root`; `id` is nil until the descriptor is first logged.
        case file(path: String, id: FileDescriptorID?, offset: Int)
        case directory(path: String)
    }

    private let lock = NSLock()
    private var operations: [FileOp] = []
    private var model: FileSystemModel
    private var descriptors: [Int32: Descriptor] = [:]
    private var nextDescriptor = 3
    private var problemList: [String] = []
    private var externalCount = 0

    /// Starts recording the tree under `root` as it is now.
    init(root: String, observesExternalChanges: Bool = false, syncFileSystemAvailable: Bool = true) throws {
        var trimmed = root
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.root = trimmed
        self.observesExternalChanges = observesExternalChanges
        self.syncFileSystemAvailable = syncFileSystemAvailable
        initial = try DirectoryState(readingDirectoryAt: trimmed)
        model = try FileSystemModel(initial: initial)
    }

    /// The operations logged so far.
    var log: [FileOp] { lock.withLock { operations } }
    /// Inconsistencies between the log and the disk (must be empty for a faithful log).
    var problems: [String] { lock.withLock { problemList } }
    /// How many operations were made outside the seam (external content, unlink, mkdir).
    var externalOperations: Int { lock.withLock { externalCount } }

    /// Logs that the protocol call `label` reported success.
    func markReturned(_ label: String) {
        lock.withLock {
            catchUp()
            append(.protocolReturned(label: label))
        }
    }

    /// Ends the recording: takes in what changed outside the seam since the last call, then
    /// checks that the log accounts for the whole tree as it is on disk.
    func finish() {
        lock.withLock {
            catchUp()
            compare(reportingAs: "after the last operation")
        }
    }

    /// The seam: every closure logs (when the call changed something under `root`) and forwards.
    var syscalls: FileSyscalls {
        let live = FileSyscalls.live
        return FileSyscalls(
            open: { path, options, permissions in
                self.lock.withLock {
                    let relative = self.relative(path)
                    if relative != nil { self.catchUp() }
                    let existed = FileManager.default.fileExists(atPath: path)
                    let fd = live.open(path, options, permissions)
                    guard fd >= 0, let relative else { return fd }
                    if options.contains(.directory) {
                        self.descriptors[fd] = .directory(path: relative)
                    } else if options.contains(.create) && !existed {
                        let id = self.allocate()
                        self.append(.create(path: relative, fd: id))
                        self.descriptors[fd] = .file(path: relative, id: id, offset: 0)
                    } else {
                        self.descriptors[fd] = .file(path: relative, id: nil, offset: 0)
                        if options.contains(.truncate) {
                            let id = self.logged(fd)
                            self.append(.truncate(fd: id, length: 0))
                        }
                    }
                    return fd
                }
            },
            openDirectory: { path in
                self.lock.withLock {
                    let fd = live.openDirectory(path)
                    if fd >= 0, let relative = self.relative(path) { self.descriptors[fd] = .directory(path: relative) }
                    return fd
                }
            },
            read: { fd, buffer in
                self.lock.withLock {
                    let count = live.read(fd, buffer)
                    if count > 0, case let .file(path, id, offset)? = self.descriptors[fd] {
                        self.descriptors[fd] = .file(path: path, id: id, offset: offset + count)
                    }
                    return count
                }
            },
            write: { fd, buffer in
                self.lock.withLock {
                    guard case let .file(path, _, offset)? = self.descriptors[fd] else { return live.write(fd, buffer) }
                    self.catchUp()
                    let count = live.write(fd, buffer)
                    guard count > 0 else { return count }
                    let id = self.logged(fd)
                    self.append(.write(fd: id, offset: offset, bytes: Array(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))))
                    self.descriptors[fd] = .file(path: path, id: id, offset: offset + count)
                    return count
                }
            },
            fsync: { fd in
                self.lock.withLock {
                    switch self.descriptors[fd] {
                    case .file?:
                        self.catchUp()
                        self.append(.fsync(fd: self.logged(fd)))
                    case let .directory(path)?:
                        self.catchUp()
                        self.append(.fsyncDirectory(path: path))
                    case nil:
                        break
                    }
                    return 0
                }
            },
            syncFileSystem: { fd in
                self.lock.withLock {
                    guard self.syncFileSystemAvailable else { return -Errno.notImplemented.rawValue }
                    if self.descriptors[fd] != nil {
                        self.catchUp()
                        self.append(.syncFileSystem)
                    }
                    return 0
                }
            },
            fchmod: { fd, permissions in
                self.lock.withLock {
                    let result = live.fchmod(fd, permissions)
                    if result == 0, case .file? = self.descriptors[fd] {
                        self.append(.fchmod(fd: self.logged(fd), mode: permissions))
                    }
                    return result
                }
            },
            fstat: { fd, info in live.fstat(fd, &info) },
            close: { fd in
                self.lock.withLock {
                    let result = live.close(fd)
                    if case let .file(_, id?, _)? = self.descriptors[fd] { self.append(.close(fd: id)) }
                    self.descriptors[fd] = nil
                    return result
                }
            },
            rename: { from, to in
                self.lock.withLock {
                    let (source, target) = (self.relative(from), self.relative(to))
                    if source != nil || target != nil { self.catchUp() }
                    let result = live.rename(from, to)
                    guard result == 0 else { return result }
                    if let source, let target {
                        self.append(.rename(from: source, to: target))
                    } else if source != nil || target != nil {
                        self.problemList.append("rename(\(from), \(to)) crosses the recorded directory's boundary")
                    }
                    return result
                }
            },
            link: { existing, new in
                self.lock.withLock {
                    guard let source = self.relative(existing), let target = self.relative(new) else {
                        return live.link(existing, new)
                    }
                    self.catchUp()
                    let result = live.link(existing, new)
                    if result == 0 { self.append(.link(existing: source, new: target)) }
                    return result
                }
            },
            unlink: { path in
                self.lock.withLock {
                    guard let relative = self.relative(path) else { return live.unlink(path) }
                    self.catchUp()
                    let result = live.unlink(path)
                    if result == 0 { self.append(.unlink(path: relative)) }
                    return result
                }
            },
            mkdir: { path, permissions in
                self.lock.withLock {
                    guard let relative = self.relative(path) else { return live.mkdir(path, permissions) }
                    self.catchUp()
                    let result = live.mkdir(path, permissions)
                    if result == 0 { self.append(.mkdir(path: relative)) }
                    return result
                }
            },
            lstat: { path, info in live.lstat(path, &info) },
            flock: { fd, operation, nonBlocking in live.flock(fd, operation, nonBlocking) }
        )
    }

    // MARK: - Private (called with the lock held)

    /// `path` relative to `root`, or nil when it lies outside.
    private func relative(_ path: String) -> String? {
        if path == root { return "" }
        guard path.hasPrefix(root + "/") else { return nil }
        let relative = String(path.dropFirst(root.count + 1))
        guard RelativePath.components(relative) != nil else {
            problemList.append("\(path) is not a plain path under \(root)")
            return nil
        }
        return relative
    }

    private func allocate() -> FileDescriptorID {
        defer { nextDescriptor += 1 }
        return FileDescriptorID(nextDescriptor)
    }

    /// The log's id for `fd`, logging its `open` now if it has none yet.
    private func logged(_ fd: Int32) -> FileDescriptorID {
        guard case let .file(path, id, offset)? = descriptors[fd] else { return FileDescriptorID(-1) }
        if let id { return id }
        let new = allocate()
        append(.open(path: path, fd: new))
        descriptors[fd] = .file(path: path, id: new, offset: offset)
        return new
    }

    private func append(_ operation: FileOp) {
        do {
            try model.apply(operation, at: operations.count)
        } catch {
            problemList.append("\(error)")
        }
        operations.append(operation)
    }

    /// Logs what changed under `root` outside the seam since the last logged operation.
    private func catchUp() {
        guard observesExternalChanges else { return }
        guard let disk = try? DirectoryState(readingDirectoryAt: root) else {
            problemList.append("cannot read \(root)")
            return
        }
        let expected = model.currentTree()
        guard disk != expected else { return }
        let byDepth: (String, String) -> Bool = {
            ($0.split(separator: "/").count, $0) < ($1.split(separator: "/").count, $1)
        }
        for directory in disk.directories.subtracting(expected.directories).sorted(by: byDepth) {
            append(.mkdir(path: directory))
            externalCount += 1
        }
        for path in disk.files.keys.sorted() where disk.files[path] != expected.files[path] {
            append(.externalSyncedContent(path: path, bytes: disk.files[path] ?? []))
            externalCount += 1
        }
        for path in expected.files.keys.sorted() where disk.files[path] == nil {
            append(.unlink(path: path))
            externalCount += 1
        }
        compare(reportingAs: "after catching up with external changes")
    }

    private func compare(reportingAs moment: String) {
        guard let disk = try? DirectoryState(readingDirectoryAt: root) else {
            problemList.append("cannot read \(root)")
            return
        }
        let expected = model.currentTree()
        guard disk != expected else { return }
        let files = Set(disk.files.keys).union(expected.files.keys).filter { disk.files[$0] != expected.files[$0] }
        let directories = disk.directories.symmetricDifference(expected.directories)
        problemList.append("\(moment), the log does not account for the disk: files \(files.sorted()), directories \(directories.sorted())")
    }
}
