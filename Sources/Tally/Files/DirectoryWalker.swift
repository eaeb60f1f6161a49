/// Streams the regular files under a mirror root as paths relative to it, depth first,
/// with `readdir` and the entry types it already returns: no `stat` per file and no
/// listing held in memory, so walking 100,000 files costs little more than reading their
/// directories. Symbolic links are neither returned nor followed; they, and FIFOs, sockets
/// and devices, are reported in ``specialFiles`` so a checker can say so.
///
/// A subdirectory that cannot be opened or read is skipped and recorded in ``problems``,
/// so the checker can say which part of the mirror it could not see.
final class DirectoryWalker: Sequence, IteratorProtocol {
    /// Directories (relative paths, "" for the root) that could not be read, with errno.
    private(set) var problems: [(relative: String, errno: Int32)] = []
    /// Entries that are neither regular files nor directories (relative path, kind).
    private(set) var specialFiles: [(relative: String, kind: FileKind)] = []

    private let root: String
    private let syscalls: FileSyscalls
    private var stack: [(stream: System.DirectoryStream, relative: String)] = []

    init(root: String, syscalls: FileSyscalls = .live) {
        self.root = root
        self.syscalls = syscalls
        open("")
    }

    func next() -> String? {
        while let top = stack.last {
            guard let result = top.stream.next() else {
                stack.removeLast()
                continue
            }
            let entry: System.DirectoryEntry
            switch result {
            case let .success(found):
                entry = found
            case let .failure(error):
                problems.append((top.relative, error.rawValue))
                stack.removeLast()
                continue
            }
            let relative = top.relative.isEmpty ? entry.name : top.relative + "/" + entry.name
            var kind = entry.kind
            if kind == .unknown {
                // Some file systems do not fill d_type; only then is a stat needed.
                var info = FileInfo()
                guard syscalls.lstat(FileOperations.join(root, relative), &info) == 0 else { continue }
                kind = info.kind
            }
            switch kind {
            case .directory: open(relative)
            case .regular: return relative
            default: specialFiles.append((relative, kind))
            }
        }
        return nil
    }

    private func open(_ relative: String) {
        let path = relative.isEmpty ? root : FileOperations.join(root, relative)
        // O_NOFOLLOW below the root: a directory swapped for a link after readdir is not
        // entered. The root itself may be a link, as the user named it.
        let options: OpenOptions = relative.isEmpty ? [.readOnly, .directory] : [.readOnly, .directory, .noFollow]
        let descriptor = FileSyscalls.retryingEINTR { syscalls.open(path, options, 0) }
        guard descriptor >= 0 else {
            problems.append((relative, -descriptor))
            return
        }
        switch System.DirectoryStream.open(descriptor: descriptor) {
        case let .success(stream): stack.append((stream, relative))
        case let .failure(error): problems.append((relative, error.rawValue))
        }
    }
}
