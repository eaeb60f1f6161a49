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

    init(root: String, syscalls: FileSyscalls = .live) {
        self.root = root
        self.operations = FileOperations(syscalls: syscalls)
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
            if parentProblem == nil {
                // Links inside the mirror were allowed by the check above, so this follows them.
                parentDirectory = OpenDirectory(parent.isEmpty ? root : FileOperations.join(root, parent),
                                                syscalls: operations.syscalls)
            }
        }
        if let parentProblem { return .impossible(parentProblem) }
        let path = path(of: key)
        do throws(TallyError) {
            let found: [UInt8]?
            if let parentDirectory {
                let name = String(FileOperations.lastComponent(key)) + MirrorFile.suffix
                found = try operations.readUntrusted(named: name, in: parentDirectory.descriptor, path: path, limit: limit)
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
