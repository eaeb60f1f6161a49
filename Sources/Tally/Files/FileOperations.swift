import Foundation
import Glibc

/// Small building blocks shared by the `Files/` types, each turning a failed system call
/// into a `TallyError.io` that names the step and the path.
///
/// They live here so the step names and the EINTR handling are written once.
struct FileOperations {
    let syscalls: FileSyscalls

    /// Splits `path` into its directory and final component. `"x"` lives in `"."`, `"/x"` in `"/"`.
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let name = String(path[path.index(after: slash)...])
        var directory = String(path[..<slash])
        while directory.count > 1, directory.hasSuffix("/") { directory.removeLast() }
        return (directory.isEmpty ? "/" : directory, name)
    }

    /// Joins a directory and a name without doubling the slash.
    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The file type bits of `lstat(path)`, or nil when nothing is there.
    func fileType(_ path: String) throws -> mode_t? {
        var info = stat()
        let result = syscalls.lstat(path, &info)
        if result == -ENOENT { return nil }
        if result < 0 { throw TallyError.io(step: "stat", path: path, errno: -result) }
        return info.st_mode & S_IFMT
    }

    /// The path whose contents a write to `path` replaces.
    ///
    /// A symbolic link is refused unless `followSymlinks`, in which case the chain is followed
    /// (up to 40 links, like the kernel) to its final target, which need not exist yet.
    /// Refusing uses ELOOP, the errno `O_NOFOLLOW` itself reports, so callers see one error
    /// whether the link was there before the write started or appeared during it.
    func resolveTarget(_ path: String, followSymlinks: Bool) throws -> String {
        var current = path
        for _ in 0..<40 {
            guard let type = try fileType(current) else { return current }
            switch type {
            case S_IFLNK:
                guard followSymlinks else { throw TallyError.io(step: "open", path: current, errno: ELOOP) }
                let destination = try readLink(current)
                current = destination.hasPrefix("/")
                    ? destination : Self.join(Self.split(current).directory, destination)
            case S_IFDIR:
                throw TallyError.io(step: "open", path: current, errno: EISDIR)
            default:
                return current
            }
        }
        throw TallyError.io(step: "open", path: path, errno: ELOOP)
    }

    private func readLink(_ path: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = Glibc.readlink(path, &buffer, buffer.count - 1)
        if count < 0 { throw TallyError.io(step: "stat", path: path, errno: errno) }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Creates `directory` and any missing parents with mode 0755 (less the umask, as
    /// `mkdir -p` does), fsyncing each parent that gained an entry so the new directories
    /// survive power loss along with the file about to be written into them.
    /// Refuses a path that does not name a file ("", "dir/", ".", "..").
    static func checkNamesFile(_ path: String) throws {
        let name = split(path).name
        guard !path.isEmpty, !name.isEmpty, name != ".", name != ".." else {
            throw TallyError.invalidInput(field: "path", reason: "'\(path)' does not name a file")
        }
    }

    /// Creates and opens a new temporary file `.NAME.tmp-XXXXXX` for `name` in `directory`.
    /// O_EXCL + O_NOFOLLOW: never reuse or write through anything already at the temporary
    /// name; a collision only means another random name is needed.
    func createTemporary(for name: String, in directory: String, target: String,
                         permissions: mode_t) throws -> (path: String, fd: Int32) {
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC
        var attempts = 0
        while true {
            let candidate = FileOperations.join(directory, TempFileName.make(for: name))
            let opened = FileSyscalls.retryingEINTR { syscalls.open(candidate, flags, permissions) }
            if opened >= 0 { return (candidate, opened) }
            attempts += 1
            guard opened == -EEXIST, attempts < 100 else {
                throw TallyError.io(step: "open", path: target, errno: -opened)
            }
        }
    }

    func makeDirectories(_ directory: String) throws {
        switch try fileType(directory) {
        case .some(S_IFDIR), .some(S_IFLNK):
            // A link is resolved by the kernel on open; if it does not lead to a directory,
            // the open reports ENOTDIR with the path, which is as clear as anything we could say.
            return
        case nil:
            break
        default:
            throw TallyError.io(step: "mkdir", path: directory, errno: ENOTDIR)
        }
        let parent = Self.split(directory).directory
        if parent != directory { try makeDirectories(parent) }
        let result = FileSyscalls.retryingEINTR { syscalls.mkdir(directory, 0o755) }
        if result == -EEXIST { return }  // another writer made it first; that is fine
        if result < 0 { throw TallyError.io(step: "mkdir", path: directory, errno: -result) }
        try syncDirectory(parent)
    }

    /// fsyncs a directory so the entries created or renamed in it are durable.
    func syncDirectory(_ directory: String) throws {
        let fd = FileSyscalls.retryingEINTR { syscalls.openDirectory(directory) }
        if fd < 0 { throw TallyError.io(step: "dirsync", path: directory, errno: -fd) }
        let result = FileSyscalls.retryingEINTR { syscalls.fsync(fd) }
        _ = syscalls.close(fd)  // read-only descriptor: nothing can be lost by a failed close
        if result < 0 { throw TallyError.io(step: "dirsync", path: directory, errno: -result) }
    }

    /// Writes all of `bytes`, continuing after short writes and EINTR.
    func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            let written = FileSyscalls.retryingEINTR { syscalls.write(fd, rest) }
            if written < 0 { throw TallyError.io(step: "write", path: path, errno: Int32(-written)) }
            // A regular file never accepts zero bytes without an error; treat it as one
            // rather than spinning forever.
            if written == 0 { throw TallyError.io(step: "write", path: path, errno: EIO) }
            offset += written
        }
    }

    /// Reads a whole file. `nil` when it does not exist.
    func readAll(_ path: String) throws -> Data? {
        let fd = FileSyscalls.retryingEINTR { syscalls.open(path, O_RDONLY | O_CLOEXEC, 0) }
        if fd == -ENOENT { return nil }
        if fd < 0 { throw TallyError.io(step: "open", path: path, errno: -fd) }
        defer { _ = syscalls.close(fd) }
        var data = Data()
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let count = FileSyscalls.retryingEINTR { syscalls.read(fd, chunk) }
            if count < 0 { throw TallyError.io(step: "read", path: path, errno: Int32(-count)) }
            if count == 0 { return data }
            data.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<count]))
        }
    }
}
