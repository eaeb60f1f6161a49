import Glibc

/// Finds and reads the mirror file of each database key for the directory reconciler,
/// with the guarantees of ``SafePath/path(forKey:under:suffix:)`` but a fraction of its
/// system calls: the directory chain of a key is checked for escaping symbolic links once
/// per directory (keys arrive in key order, so neighbours share it), and the file itself is
/// opened with `O_NOFOLLOW`, falling back to the full check only when it is a link.
struct MirrorFileReader {
    /// What reading a key's file found.
    enum Outcome {
        /// The file's bytes.
        case bytes(path: String, [UInt8])
        /// No file there.
        case absent(path: String)
        /// The key cannot have a mirror file; why.
        case impossible(String)
        /// The file is there but cannot be read.
        case unreadable(path: String, TallyError)
    }

    let root: String
    private var checkedParent: String?
    private var parentProblem: String?

    init(root: String) {
        self.root = root
    }

    mutating func read(_ key: String) -> Outcome {
        if key == "MANIFEST" {
            return .impossible("its file would be the mirror's \(MirrorFile.manifestName); rename the document")
        }
        let parent = key.lastIndex(of: "/").map { String(key[..<$0]) } ?? ""
        if parent != checkedParent {
            checkedParent = parent
            parentProblem = parent.isEmpty ? nil : problem { _ = try SafePath.path(forKey: parent, under: root, suffix: "") }
        }
        if let parentProblem { return .impossible(parentProblem) }
        let path = FileOperations.join(root, key + MirrorFile.suffix)
        var descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if descriptor < 0 {
            let code = errno
            switch code {
            case ENOENT, ENOTDIR, ENAMETOOLONG:
                // Absent — unless the key could never have a file, which is worth saying.
                if let reason = problem({ _ = try SafePath.path(forKey: key, under: root, suffix: MirrorFile.suffix) }) {
                    return .impossible(reason)
                }
                return code == ENAMETOOLONG ? .unreadable(path: path, .io(step: "open", path: path, errno: code)) : .absent(path: path)
            case ELOOP:
                // The file is a symbolic link: allowed when it stays inside the root.
                if let reason = problem({ _ = try SafePath.path(forKey: key, under: root, suffix: MirrorFile.suffix) }) {
                    return .impossible(reason)
                }
                descriptor = open(path, O_RDONLY | O_CLOEXEC)
                if descriptor < 0 {
                    let code = errno
                    return code == ENOENT ? .absent(path: path) : .unreadable(path: path, .io(step: "open", path: path, errno: code))
                }
            default:
                return .unreadable(path: path, .io(step: "open", path: path, errno: code))
            }
        }
        defer { close(descriptor) }
        switch readAll(descriptor) {
        case let .success(bytes): return .bytes(path: path, bytes)
        case let .failure(code): return .unreadable(path: path, .io(step: "read", path: path, errno: code))
        }
    }

    /// The reason `body` throws, or nil when it does not.
    private func problem(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    private enum ReadResult {
        case success([UInt8])
        case failure(Int32)
    }

    /// Reads the whole file, sized by `fstat` so a typical file takes one read.
    private func readAll(_ descriptor: Int32) -> ReadResult {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return .failure(errno) }
        guard info.st_mode & S_IFMT == S_IFREG else { return .failure(info.st_mode & S_IFMT == S_IFDIR ? EISDIR : EINVAL) }
        var bytes = [UInt8](repeating: 0, count: max(Int(info.st_size), 0) + 1)
        var count = 0
        while true {
            if count == bytes.count { bytes.append(contentsOf: repeatElement(0, count: max(bytes.count, 4096))) }
            let read = bytes.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return Glibc.read(descriptor, base + count, raw.count - count)
            }
            if read < 0 {
                if errno == EINTR { continue }
                return .failure(errno)
            }
            if read == 0 { break }
            count += read
        }
        bytes.removeSubrange(count...)
        return .success(bytes)
    }
}
