import Glibc

/// Streams the regular files under a mirror root as paths relative to it, depth first,
/// with `readdir` and the entry types it already returns — no `stat` per file and no
/// listing held in memory, so walking 100,000 files costs little more than reading their
/// directories. Symbolic links are neither returned nor followed.
///
/// A subdirectory that cannot be opened or read is skipped and recorded in ``problems``,
/// so the checker can say which part of the mirror it could not see.
final class DirectoryWalker: Sequence, IteratorProtocol {
    /// Directories (relative paths, "" for the root) that could not be read, with errno.
    private(set) var problems: [(relative: String, errno: Int32)] = []

    private let root: String
    private var stack: [(stream: OpaquePointer, relative: String)] = []

    init(root: String) {
        self.root = root
        open("")
    }

    deinit {
        for entry in stack { closedir(entry.stream) }
    }

    func next() -> String? {
        while let top = stack.last {
            errno = 0
            guard let entry = readdir(top.stream) else {
                if errno != 0 { problems.append((top.relative, errno)) }
                closedir(top.stream)
                stack.removeLast()
                continue
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let relative = top.relative.isEmpty ? name : top.relative + "/" + name
            var type = Int32(entry.pointee.d_type)
            if type == Int32(DT_UNKNOWN) {
                // Some filesystems do not fill d_type; only then is a stat needed.
                var info = stat()
                guard lstat(FileOperations.join(root, relative), &info) == 0 else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFREG: type = Int32(DT_REG)
                case S_IFDIR: type = Int32(DT_DIR)
                default: continue
                }
            }
            if type == Int32(DT_DIR) {
                open(relative)
            } else if type == Int32(DT_REG) {
                return relative
            }
        }
        return nil
    }

    private func open(_ relative: String) {
        let path = relative.isEmpty ? root : FileOperations.join(root, relative)
        // O_NOFOLLOW below the root: a directory swapped for a link after readdir is not
        // entered. The root itself may be a link, as the user named it.
        let flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (relative.isEmpty ? 0 : O_NOFOLLOW)
        let descriptor = Glibc.open(path, flags)
        guard descriptor >= 0 else {
            problems.append((relative, errno))
            return
        }
        guard let stream = fdopendir(descriptor) else {
            problems.append((relative, errno))
            close(descriptor)
            return
        }
        stack.append((stream, relative))
    }
}
