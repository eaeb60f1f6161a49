typealias InodeID = Int

/// A change to one directory's entry table. Removals and moves name the inode
/// they expect so that, when only some changes survive a crash, a change never
/// removes a different file that happens to have the same name.
enum EntryChange: Hashable, Sendable {
    case set(name: String, inode: InodeID)
    case remove(name: String, inode: InodeID)
    case move(from: String, to: String, inode: InodeID)

    func apply(to table: inout [String: InodeID]) {
        switch self {
        case let .set(name, inode):
            table[name] = inode
        case let .remove(name, inode):
            if table[name] == inode { table[name] = nil }
        case let .move(from, to, inode):
            // One op, so a surviving rename replaces the target in one step:
            // the target name never points at nothing.
            if table[from] == inode { table[from] = nil }
            table[to] = inode
        }
    }
}

/// An entry change with a log-wide id; a cross-directory rename is one id
/// recorded in both directories, which is how the enumerator keeps it atomic.
struct EntryOp: Hashable, Sendable {
    let id: Int
    let change: EntryChange
}

/// A directory's inode: persisted table, unsynced changes in order, and the
/// table the running process sees.
struct DirectoryInode: Sendable {
    var persisted: [String: InodeID] = [:]
    var pending: [EntryOp] = []
    var current: [String: InodeID] = [:]

    mutating func record(_ op: EntryOp) {
        pending.append(op)
        op.change.apply(to: &current)
    }

    mutating func insertPersisted(_ name: String, _ inode: InodeID) {
        persisted[name] = inode
        current[name] = inode
    }

    /// Persists `pending[0...index]`; journal order means nothing later can be
    /// durable before something earlier in the same directory.
    mutating func persist(through index: Int) {
        for op in pending[...index] { op.change.apply(to: &persisted) }
        pending.removeFirst(index + 1)
    }
}

/// Why a log cannot have happened; wrapped with the op index by the caller.
struct LogProblem: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// The simulated file system: replays a log op by op, tracking for every inode
/// what is durable and what is only in memory.
struct FileSystemModel: Sendable {
    static let root: InodeID = 0

    private(set) var files: [InodeID: FileInode] = [:]
    private(set) var directories: [InodeID: DirectoryInode] = [0: DirectoryInode()]
    /// Entry-op ids of cross-directory renames, mapped to the two directories.
    private(set) var crossDirectoryOps: [Int: [InodeID]] = [:]
    private(set) var returnedLabels: [String] = []
    private var descriptors: [FileDescriptorID: InodeID] = [:]
    private var nextInode = 1
    private var nextEntryOpID = 0

    /// Loads the initial tree as fully persisted: it is what was on disk before
    /// the protocol ran.
    init(initial: DirectoryState) throws(CrashStateError) {
        do throws(LogProblem) {
            let byDepth = initial.directories.sorted {
                ($0.split(separator: "/").count, $0) < ($1.split(separator: "/").count, $1)
            }
            for path in byDepth {
                let (parent, name) = try locateNewEntry(path)
                let inode = allocateInode()
                directories[inode] = DirectoryInode()
                directories[parent]?.insertPersisted(name, inode)
            }
            for path in initial.files.keys.sorted() {
                let (parent, name) = try locateNewEntry(path)
                let inode = allocateInode()
                files[inode] = FileInode(content: initial.files[path] ?? [])
                directories[parent]?.insertPersisted(name, inode)
            }
        } catch {
            throw .invalidInitialState(reason: error.reason)
        }
    }

    /// Replays one op, or explains why the log is impossible (a recorder bug).
    mutating func apply(_ op: FileOp, at index: Int) throws(CrashStateError) {
        do throws(LogProblem) {
            try applyUnchecked(op)
        } catch {
            throw .invalidLog(operationIndex: index, operation: op, reason: error.reason)
        }
    }

    private mutating func applyUnchecked(_ op: FileOp) throws(LogProblem) {
        switch op {
        case let .create(path, fd):
            try requireUnused(fd)
            let (parent, name) = try locateNewEntry(path)
            let inode = allocateInode()
            files[inode] = FileInode(content: [])
            record(.set(name: name, inode: inode), in: parent)
            descriptors[fd] = inode
        case let .open(path, fd):
            try requireUnused(fd)
            descriptors[fd] = try existingFile(path)
        case let .write(fd, offset, bytes):
            guard offset >= 0 else { throw LogProblem("negative offset") }
            let inode = try openFile(fd)
            files[inode]?.record(.write(offset: offset, bytes: bytes))
        case let .truncate(fd, length):
            guard length >= 0 else { throw LogProblem("negative length") }
            let inode = try openFile(fd)
            files[inode]?.record(.truncate(length: length))
        case let .fsync(fd), let .fdatasync(fd):
            let inode = try openFile(fd)
            files[inode]?.persist()
        case let .fsyncDirectory(path):
            guard let inode = lookup(path), directories[inode] != nil else {
                throw LogProblem("\(path) is not an existing directory")
            }
            persistDirectory(inode)
        case .syncFileSystem:
            for inode in files.keys { files[inode]?.persist() }
            for inode in directories.keys.sorted() { persistDirectory(inode) }
        case let .rename(from, to):
            try rename(from, to)
        case let .link(existing, new):
            let inode = try existingFile(existing)
            let (parent, name) = try locateNewEntry(new)
            record(.set(name: name, inode: inode), in: parent)
        case let .unlink(path):
            let inode = try existingFile(path)
            let (parent, name) = try locateEntry(path)
            record(.remove(name: name, inode: inode), in: parent)
        case let .mkdir(path):
            let (parent, name) = try locateNewEntry(path)
            let inode = allocateInode()
            directories[inode] = DirectoryInode()
            record(.set(name: name, inode: inode), in: parent)
        case let .close(fd):
            _ = try openFile(fd)
            descriptors[fd] = nil
        case let .fchmod(fd, _):
            _ = try openFile(fd)
        case let .chmod(path, _):
            guard lookup(path) != nil else { throw LogProblem("\(path) does not exist") }
        case let .protocolReturned(label):
            returnedLabels.append(label)
        case let .externalContent(path, bytes), let .externalSyncedContent(path, bytes):
            let inode: InodeID
            if let existing = lookup(path) {
                guard files[existing] != nil else { throw LogProblem("\(path) is a directory") }
                inode = existing
            } else {
                // Created outside the seam (e.g. a SQLite -wal): its name is as
                // unsynced as any other new entry.
                let (parent, name) = try locateNewEntry(path)
                inode = allocateInode()
                files[inode] = FileInode(content: [])
                record(.set(name: name, inode: inode), in: parent)
            }
            files[inode]?.record(.replace(bytes: bytes))
            if case .externalSyncedContent = op { files[inode]?.persist() }
        }
    }

    private mutating func rename(_ from: String, _ to: String) throws(LogProblem) {
        let (sourceDirectory, sourceName) = try locateEntry(from)
        guard let inode = directories[sourceDirectory]?.current[sourceName] else {
            throw LogProblem("\(from) does not exist")
        }
        let (targetDirectory, targetName) = try locateEntry(to)
        let existing = directories[targetDirectory]?.current[targetName]
        if existing == inode { return }  // POSIX: two names of one file, nothing happens.
        if let existing, directories[existing] != nil || directories[inode] != nil {
            throw LogProblem("renaming onto a directory, or a directory onto a file, is not modelled")
        }
        if directories[inode] != nil, contains(inode, targetDirectory) {
            throw LogProblem("cannot move \(from) inside itself")
        }
        if sourceDirectory == targetDirectory {
            record(.move(from: sourceName, to: targetName, inode: inode), in: sourceDirectory)
            return
        }
        let id = allocateEntryOpID()
        directories[sourceDirectory]?.record(EntryOp(id: id, change: .remove(name: sourceName, inode: inode)))
        directories[targetDirectory]?.record(EntryOp(id: id, change: .set(name: targetName, inode: inode)))
        crossDirectoryOps[id] = [sourceDirectory, targetDirectory]
    }

    /// fsync on a directory persists all its pending changes. A cross-directory
    /// rename among them is one journal transaction, so it becomes durable in
    /// the other directory too, together with what precedes it there (journal
    /// order); that may cascade to further directories.
    private mutating func persistDirectory(_ directory: InodeID) {
        var work: [(directory: InodeID, throughID: Int?)] = [(directory, nil)]
        while let item = work.popLast() {
            let (inode, throughID) = (item.directory, item.throughID)
            guard let pending = directories[inode]?.pending, !pending.isEmpty else { continue }
            let end: Int
            if let throughID {
                guard let index = pending.firstIndex(where: { $0.id == throughID }) else { continue }
                end = index
            } else {
                end = pending.count - 1
            }
            directories[inode]?.persist(through: end)
            for op in pending[...end] {
                for other in crossDirectoryOps[op.id] ?? [] where other != inode {
                    work.append((other, op.id))
                }
            }
        }
    }

    private mutating func record(_ change: EntryChange, in directory: InodeID) {
        let op = EntryOp(id: allocateEntryOpID(), change: change)
        directories[directory]?.record(op)
    }

    private mutating func allocateInode() -> InodeID {
        defer { nextInode += 1 }
        return nextInode
    }

    private mutating func allocateEntryOpID() -> Int {
        defer { nextEntryOpID += 1 }
        return nextEntryOpID
    }

    // MARK: - Lookups in the namespace the running process sees

    /// The tree the running process sees now (before any crash): what a recorder compares
    /// with the real directory to find changes made outside the seam.
    func currentTree() -> DirectoryState {
        var files: [String: [UInt8]] = [:]
        var directories: Set<String> = []
        var stack: [(InodeID, String)] = [(Self.root, "")]
        while let (directory, prefix) = stack.popLast() {
            for (name, inode) in self.directories[directory]?.current ?? [:] {
                let path = prefix.isEmpty ? name : prefix + "/" + name
                if self.directories[inode] != nil {
                    directories.insert(path)
                    stack.append((inode, path))
                } else {
                    files[path] = self.files[inode]?.current ?? []
                }
            }
        }
        return DirectoryState(exactFiles: files, directories: directories)
    }

    /// The inode at `path` in the current (in-memory) namespace.
    func lookup(_ path: String) -> InodeID? {
        guard let components = RelativePath.components(path) else { return nil }
        var inode = Self.root
        for name in components {
            guard let next = directories[inode]?.current[name] else { return nil }
            inode = next
        }
        return inode
    }

    /// A path to `directory` in the current namespace, for error messages.
    func currentPath(of directory: InodeID) -> String? {
        if directory == Self.root { return "" }
        var stack: [(InodeID, String)] = [(Self.root, "")]
        while let entry = stack.popLast() {
            let (inode, path) = entry
            for (name, child) in directories[inode]?.current ?? [:] where directories[child] != nil {
                let childPath = path.isEmpty ? name : path + "/" + name
                if child == directory { return childPath }
                stack.append((child, childPath))
            }
        }
        return nil
    }

    private func contains(_ ancestor: InodeID, _ inode: InodeID) -> Bool {
        if ancestor == inode { return true }
        guard let table = directories[ancestor]?.current else { return false }
        return table.values.contains { contains($0, inode) }
    }

    private func locateEntry(_ path: String) throws(LogProblem) -> (InodeID, String) {
        guard let components = RelativePath.components(path), let name = components.last else {
            throw LogProblem("\"\(path)\" is not a relative path to an entry")
        }
        let parentPath = components.dropLast().joined(separator: "/")
        guard let parent = lookup(parentPath), directories[parent] != nil else {
            throw LogProblem("parent directory of \(path) does not exist")
        }
        return (parent, name)
    }

    private func locateNewEntry(_ path: String) throws(LogProblem) -> (InodeID, String) {
        let (parent, name) = try locateEntry(path)
        guard directories[parent]?.current[name] == nil else {
            throw LogProblem("\(path) already exists")
        }
        return (parent, name)
    }

    private func existingFile(_ path: String) throws(LogProblem) -> InodeID {
        guard let inode = lookup(path), files[inode] != nil else {
            throw LogProblem("\(path) is not an existing regular file")
        }
        return inode
    }

    private func openFile(_ fd: FileDescriptorID) throws(LogProblem) -> InodeID {
        guard let inode = descriptors[fd] else { throw LogProblem("\(fd) is not open") }
        return inode
    }

    private func requireUnused(_ fd: FileDescriptorID) throws(LogProblem) {
        guard descriptors[fd] == nil else { throw LogProblem("\(fd) is already open") }
    }
}
