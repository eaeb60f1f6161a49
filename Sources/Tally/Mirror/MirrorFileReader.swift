/// Finds and reads the mirror file of each database key, with the guarantees of
/// ``SafePath/path(forKey:under:suffix:)`` but a fraction of its system calls: the
/// directory chain of a key is checked for escaping symbolic links once per directory
/// (keys arrive in key order, so neighbours share it), and the file itself is read with
/// ``FileOperations/readUntrusted(_:limit:)``: never through a link, never blocking on a
/// FIFO, never beyond a size limit.
struct MirrorFileReader {
    /// What reading a key's file found.
    enum Outcome {
        /// The file's bytes.
        case bytes(path: String, [UInt8])
        /// No file there.
        case absent(path: String)
        /// The key cannot have a mirror file here (a directory on its path is a link out of
        /// the mirror); why.
        case impossible(String)
        /// A link, a special file or an oversized file is where the file belongs.
        case unsafe(path: String, reason: String)
        /// The file is there but cannot be read.
        case unreadable(path: String, TallyError)
    }

    let root: String
    let operations: FileOperations
    private var checkedParent: String?
    private var parentProblem: String?
    /// The checked parent directory, open, so that its files are found with `openat` and
    /// `fstatat` instead of walking their whole path twice each (as the raw C peer of the
    /// benchmarks does); nil when it cannot be opened, and then files are read by path.
    private var parentDirectory: OpenDirectory?
    /// The kinds of the checked parent's entries by name, when directories are listed.
    private var parentListing: [String: FileKind]?
    /// Whether each parent directory is listed once (see ``init(root:syscalls:listsDirectories:)``).
    let listsDirectories: Bool

    /// The most entries a listing keeps (about 100 bytes each); a larger directory's files
    /// are looked at one by one.
    static let maximumListedEntries = 250_000

    /// A reader of the mirror under `root`. With `listsDirectories`, for passes that read
    /// most files of a directory (a whole mirror, a reconcile), each directory is listed once: a name
    /// that is not there is absent without a system call, and a file `readdir` reports as
    /// regular is opened without the `fstatat` that otherwise precedes it (a tenth of a
    /// re-mirror's time). Readers of a few keys (write-through) leave it off.
    init(root: String, syscalls: FileSyscalls = .live, listsDirectories: Bool = false) {
        self.root = root
        self.operations = FileOperations(syscalls: syscalls)
        self.listsDirectories = listsDirectories
    }

    /// The path of `key`'s mirror file.
    func path(of key: String) -> String {
        FileOperations.join(root, key + MirrorFile.suffix)
    }

    /// Reads `key`'s file, refusing more than `limit` bytes.
    mutating func read(_ key: String, limit: Int) -> Outcome {
        let parent = key.utf8.lastIndex(of: UInt8(ascii: "/")).map { String(key[..<$0]) } ?? ""  // bytes, not Characters: faster
        if parent != checkedParent {
            checkedParent = parent
            parentProblem = nil
            parentDirectory = nil
            if !parent.isEmpty {
                do throws(TallyError) {
                    _ = try SafePath.path(forKey: parent, under: root, suffix: "")
                } catch {
                    parentProblem = error.problem
                }
            }
            parentListing = nil
            if parentProblem == nil {
                // Links inside the mirror were allowed by the check above, so this follows them.
                let directory = parent.isEmpty ? root : FileOperations.join(root, parent)
                parentDirectory = OpenDirectory(directory, syscalls: operations.syscalls)
                if listsDirectories, parentDirectory != nil { parentListing = listing(of: directory) }
            }
        }
        if let parentProblem { return .impossible(parentProblem) }
        let path = path(of: key)
        do throws(TallyError) {
            let found: [UInt8]?
            if let parentDirectory {
                let name = String(FileOperations.lastComponent(key)) + MirrorFile.suffix
                var listedAsRegular = false
                if let parentListing {
                    switch parentListing[name] {
                    case nil: return .absent(path: path)
                    case .regular?: listedAsRegular = true
                    case _?: break  // looked at again, and reported, as without a listing
                    }
                }
                found = try operations.readUntrusted(named: name, in: parentDirectory.descriptor, path: path, limit: limit,
                                                     listedAsRegular: listedAsRegular)
            } else {
                found = try operations.readUntrusted(path, limit: limit)
            }
            guard let bytes = found else { return .absent(path: path) }
            return .bytes(path: path, bytes)
        } catch {
            switch error {
            case let .unsafeFile(_, reason): return .unsafe(path: path, reason: reason)
            case let .io(_, _, code) where code == Errno.notDirectory.rawValue: return .absent(path: path)
            default: return .unreadable(path: path, error)
            }
        }
    }

    /// The entries of `directory` by name; nil when it cannot be listed or has more than
    /// ``maximumListedEntries`` (its files are then looked at one by one).
    private func listing(of directory: String) -> [String: FileKind]? {
        guard let entries = try? operations.listDirectory(directory), entries.count <= Self.maximumListedEntries else { return nil }
        var kinds: [String: FileKind] = [:]
        kinds.reserveCapacity(entries.count)
        for entry in entries { kinds[entry.name] = entry.kind }
        return kinds
    }

    /// The most Tally reads of a mirror file whose document renders to `expected` bytes:
    /// generous (an older version may be larger), but bounded.
    static func limit(expected: Int) -> Int {
        max(64 << 20, expected * 2)
    }
}

/// A directory kept open while its files are read, closed when the last reference goes.
private final class OpenDirectory {
    let descriptor: Int32
    private let syscalls: FileSyscalls

    /// Opens `path` as a directory; nil when that fails (missing, not a directory, …).
    init?(_ path: String, syscalls: FileSyscalls) {
        let descriptor = FileSyscalls.retryingEINTR { syscalls.openDirectory(path) }
        guard descriptor >= 0 else { return nil }
        self.descriptor = descriptor
        self.syscalls = syscalls
    }

    deinit { _ = syscalls.close(descriptor) }
}
