/// Small building blocks shared by the `Files/` types, each turning a failed system call
/// into a `TallyError.io` that names the step and the path.
///
/// They live here so the step names and the EINTR handling are written once.
package struct FileOperations {
    package let syscalls: FileSyscalls

    package init(syscalls: FileSyscalls) {
        self.syscalls = syscalls
    }

    /// Splits `path` into its directory and final component. `"x"` lives in `"."`, `"/x"` in `"/"`.
    package static func split(_ path: String) -> (directory: String, name: String) {
        // On the UTF-8 view: "/" is one byte that never occurs inside a multi-byte character,
        // and searching bytes instead of Characters made this 10 % of a re-mirror.
        let utf8 = path.utf8
        guard let slash = utf8.lastIndex(of: UInt8(ascii: "/")) else { return (".", path) }
        let name = String(lastComponent(path))
        var end = slash
        while end > utf8.startIndex, utf8[utf8.index(before: end)] == UInt8(ascii: "/") { end = utf8.index(before: end) }
        return (end == utf8.startIndex ? "/" : String(path[..<end]), name)
    }

    /// The final component of `path` as a slice of it (the whole path when it has no slash),
    /// for callers that only look at the name and should not allocate for it.
    package static func lastComponent(_ path: String) -> Substring {
        let utf8 = path.utf8
        return path[(utf8.lastIndex(of: UInt8(ascii: "/")).map { utf8.index(after: $0) } ?? utf8.startIndex)...]
    }

    /// Joins a directory and a name without doubling the slash.
    package static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The size of the file at `path` (following links), or nil when it cannot be read.
    package static func size(of path: String) -> Int64? {
        if case let .success(info) = System.statInfo(path) { return info.size }
        return nil
    }

    /// What is at `path` (`lstat`: a link is reported as a link), or nil when nothing is.
    package func fileKind(_ path: String) throws(TallyError) -> FileKind? {
        try fileInfo(path)?.kind
    }

    /// `lstat(path)`, or nil when nothing is there.
    package func fileInfo(_ path: String) throws(TallyError) -> FileInfo? {
        var info = FileInfo()
        let result = syscalls.lstat(path, &info)
        if result == -Errno.noSuchFile.rawValue { return nil }
        if result < 0 { throw TallyError.io(step: "stat", path: path, errno: -result) }
        return info
    }

    /// The path whose contents a write to `path` replaces.
    ///
    /// A symbolic link is refused unless `followSymlinks`, in which case the chain is followed
    /// (up to 40 links, like the kernel) to its final target, which need not exist yet.
    /// Refusing uses ELOOP, the errno `O_NOFOLLOW` itself reports, so callers see one error
    /// whether the link was there before the write started or appeared during it.
    package func resolveTarget(_ path: String, followSymlinks: Bool) throws(TallyError) -> String {
        var current = path
        for _ in 0..<40 {
            guard let kind = try fileKind(current) else { return current }
            switch kind {
            case .symbolicLink:
                guard followSymlinks else {
                    throw TallyError.io(step: "open", path: current, errno: Errno.tooManySymbolicLinks.rawValue)
                }
                let destination: String
                switch System.readLink(current) {
                case let .success(text): destination = text
                case let .failure(error): throw TallyError.io(step: "stat", path: current, errno: error.rawValue)
                }
                current = destination.hasPrefix("/")
                    ? destination : Self.join(Self.split(current).directory, destination)
            case .directory:
                throw TallyError.io(step: "open", path: current, errno: Errno.isDirectory.rawValue)
            default:
                return current
            }
        }
        throw TallyError.io(step: "open", path: path, errno: Errno.tooManySymbolicLinks.rawValue)
    }

    /// Creates `directory` and any missing parents with mode 0755 (less the umask, as
    /// `mkdir -p` does), fsyncing each parent that gained an entry so the new directories
    /// survive power loss along with the file about to be written into them.
    /// Refuses a path that does not name a file ("", "dir/", ".", "..").
    package static func checkNamesFile(_ path: String) throws(TallyError) {
        let name = split(path).name
        guard !path.isEmpty, !name.isEmpty, name != ".", name != ".." else {
            throw TallyError.invalidInput(field: "path", reason: "'\(path)' does not name a file")
        }
    }

    /// Creates and opens a new temporary file `.NAME.tmp-XXXXXX` for `name` in `directory`.
    /// O_EXCL + O_NOFOLLOW: never reuse or write through anything already at the temporary
    /// name; a collision only means another random name is needed.
    package func createTemporary(for name: String, in directory: String, target: String,
                         permissions: UInt32) throws(TallyError) -> (path: String, fd: Int32) {
        let options: OpenOptions = [.writeOnly, .create, .exclusive, .noFollow]
        var attempts = 0
        while true {
            let candidate = FileOperations.join(directory, TempFileName.make(for: name))
            let opened = FileSyscalls.retryingEINTR { syscalls.open(candidate, options, permissions) }
            if opened >= 0 { return (candidate, opened) }
            attempts += 1
            guard opened == -Errno.fileExists.rawValue, attempts < 100 else {
                throw TallyError.io(step: "open", path: target, errno: -opened)
            }
        }
    }

    /// Fails with ``TallyError/invalidInput(field:reason:)`` when `path` exists and is not a
    /// directory, so that a call writing into a directory it creates when missing (a mirror,
    /// a backup) says so before it starts, instead of at its first `mkdir` or `open`.
    package static func requireDirectoryOrAbsent(_ path: String, field: String) throws(TallyError) {
        guard case let .success(info) = System.statInfo(path), info.kind != .directory else { return }
        throw TallyError.invalidInput(
            field: field, reason: "\(path) is \(info.kind.description), not a directory; name a directory (it is created when missing)")
    }

    /// Fails with ``TallyError/invalidInput(field:reason:)`` when `path` is a directory, for a
    /// call that writes one file at `path`.
    package static func requireNotDirectory(_ path: String, field: String) throws(TallyError) {
        guard case let .success(info) = System.statInfo(path), info.kind == .directory else { return }
        throw TallyError.invalidInput(field: field, reason: "\(path) is a directory; name the file to write")
    }

    package func makeDirectories(_ directory: String) throws(TallyError) {
        switch try fileKind(directory) {
        case .some(.directory), .some(.symbolicLink):
            // A link is resolved by the kernel on open; if it does not lead to a directory,
            // the open reports ENOTDIR with the path, which is as clear as anything we could say.
            return
        case nil:
            break
        default:
            throw TallyError.io(step: "mkdir", path: directory, errno: Errno.notDirectory.rawValue)
        }
        let parent = Self.split(directory).directory
        if parent != directory { try makeDirectories(parent) }
        let result = FileSyscalls.retryingEINTR { syscalls.mkdir(directory, 0o755) }
        if result == -Errno.fileExists.rawValue { return }  // another writer made it first; that is fine
        if result < 0 { throw TallyError.io(step: "mkdir", path: directory, errno: -result) }
        try syncDirectory(parent)
    }

    /// fsyncs a directory so the entries created or renamed in it are durable.
    package func syncDirectory(_ directory: String) throws(TallyError) {
        let fd = FileSyscalls.retryingEINTR { syscalls.openDirectory(directory) }
        if fd < 0 { throw TallyError.io(step: "dirsync", path: directory, errno: -fd) }
        let result = FileSyscalls.retryingEINTR { syscalls.fsync(fd) }
        _ = syscalls.close(fd)  // read-only descriptor: nothing can be lost by a failed close
        if result < 0 { throw TallyError.io(step: "dirsync", path: directory, errno: -result) }
    }

    /// Writes all of `bytes`, continuing after short writes and EINTR.
    package func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(TallyError) {
        var offset = 0
        while offset < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            let written = FileSyscalls.retryingEINTR { syscalls.write(fd, rest) }
            if written < 0 { throw TallyError.io(step: "write", path: path, errno: Int32(-written)) }
            // A regular file never accepts zero bytes without an error; treat it as one
            // rather than spinning forever.
            if written == 0 { throw TallyError.io(step: "write", path: path, errno: Errno.ioError.rawValue) }
            offset += written
        }
    }

    /// The entries of `directory` (not following a link at its own name), with the kinds
    /// of entries whose type `readdir` did not report filled in by `lstat`.
    package func listDirectory(_ directory: String) throws(TallyError) -> [System.DirectoryEntry] {
        let fd = FileSyscalls.retryingEINTR { syscalls.open(directory, [.readOnly, .directory, .noFollow], 0) }
        if fd < 0 { throw TallyError.io(step: "read", path: directory, errno: -fd) }
        let stream: System.DirectoryStream
        switch System.DirectoryStream.open(descriptor: fd) {
        case let .success(opened): stream = opened
        case let .failure(error): throw TallyError.io(step: "read", path: directory, errno: error.rawValue)
        }
        var entries: [System.DirectoryEntry] = []
        while let next = stream.next() {
            switch next {
            case var .success(entry):
                if entry.kind == .unknown, let info = try fileInfo(Self.join(directory, entry.name)) { entry.kind = info.kind }
                entries.append(entry)
            case let .failure(error):
                throw TallyError.io(step: "read", path: directory, errno: error.rawValue)
            }
        }
        return entries
    }

    /// Reads a whole file that someone else may have written (a mirror file, a manifest, a
    /// snapshot header), so that it can neither hang Tally nor lead it elsewhere: a symbolic
    /// link is never followed, a FIFO, socket or device is reported without being read (and
    /// without blocking in `open`), and a file over `limit` bytes is refused instead of
    /// being loaded. Returns nil when nothing is at `path`.
    ///
    /// - Throws: ``TallyError/unsafeFile(path:reason:)`` for a link, a special file or an
    ///   oversized file; ``TallyError/io(step:path:errno:)`` for other failures.
    package func readUntrusted(_ path: String, limit: Int) throws(TallyError) -> [UInt8]? {
        let syscalls = self.syscalls
        return try readUntrusted(path, limit: limit, lstat: { syscalls.lstat(path, &$0) },
                                 open: { syscalls.open(path, $0, 0) })
    }

    /// ``readUntrusted(_:limit:)`` of the file `name` in the open directory `directory`
    /// (`openat`/`fstatat`: no path walk per file, and a directory swapped for a link after
    /// it was opened is not followed). `path` names the file in errors.
    ///
    /// `listedAsRegular` is for callers that have just read the directory and saw a regular
    /// file under `name` (`readdir`'s `d_type`): that look stands in for the `fstatat` before
    /// opening. The file is still opened without following a link or blocking, and checked
    /// through its descriptor, so a swap after the listing is refused as before.
    package func readUntrusted(named name: String, in directory: Int32, path: String,
                               limit: Int, listedAsRegular: Bool = false) throws(TallyError) -> [UInt8]? {
        let syscalls = self.syscalls
        return try readUntrusted(path, limit: limit, lstat: listedAsRegular ? nil : { syscalls.lstatAt(directory, name, &$0) },
                                 open: { syscalls.openAt(directory, name, $0, 0) })
    }

    private func readUntrusted(_ path: String, limit: Int, lstat: ((inout FileInfo) -> Int32)?,
                               open: (OpenOptions) -> Int32) throws(TallyError) -> [UInt8]? {
        // Look before opening, so a device or FIFO is never even opened (opening some
        // devices has effects); the descriptor is checked again below against a swap.
        if let lstat {
            var before = FileInfo()
            let looked = lstat(&before)
            if looked == -Errno.noSuchFile.rawValue { return nil }
            if looked < 0 { throw TallyError.io(step: "stat", path: path, errno: -looked) }
            try Self.requireRegular(before, path: path, limit: limit)
        }
        let fd = FileSyscalls.retryingEINTR { open([.readOnly, .noFollow, .nonBlocking]) }
        switch fd {
        case -Errno.noSuchFile.rawValue: return nil
        case -Errno.tooManySymbolicLinks.rawValue: throw Self.unsafe(path, .symbolicLink)
        case -Errno.noSuchDevice.rawValue: throw Self.unsafe(path, .socket)
        case ..<0: throw TallyError.io(step: "open", path: path, errno: -fd)
        default: break
        }
        defer { _ = syscalls.close(fd) }
        var info = FileInfo()
        let status = syscalls.fstat(fd, &info)
        if status < 0 { throw TallyError.io(step: "stat", path: path, errno: -status) }
        try Self.requireRegular(info, path: path, limit: limit)
        return try readToEnd(fd, path: path, limit: limit, expected: Int(info.size))
    }

    /// Reads from an open descriptor until the end, refusing more than `limit` bytes.
    package func readToEnd(_ fd: Int32, path: String, limit: Int, expected: Int = 0) throws(TallyError) -> [UInt8] {
        var bytes: [UInt8] = []
        if expected > 0, expected < limit {
            // The size is known (fstat): read straight into the result, asking for one byte
            // more. Exactly `expected` bytes back means the end was reached, and the read that
            // would return 0 is skipped (one system call in six of a re-mirror). Any other
            // count is not taken as the end: the loop below goes on until read returns 0.
            var result = 0
            bytes = [UInt8](unsafeUninitializedCapacity: expected + 1) { buffer, initialized in
                result = FileSyscalls.retryingEINTR { syscalls.read(fd, UnsafeMutableRawBufferPointer(buffer)) }
                initialized = max(result, 0)
            }
            if result < 0 { throw TallyError.io(step: "read", path: path, errno: Int32(-result)) }
            if result == 0 || result == expected { return bytes }
        }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let count = FileSyscalls.retryingEINTR { syscalls.read(fd, chunk) }
            if count < 0 { throw TallyError.io(step: "read", path: path, errno: Int32(-count)) }
            if count == 0 { return bytes }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<count]))
            if bytes.count > limit {
                throw TallyError.unsafeFile(path: path, reason: "it holds more than \(Self.describeSize(limit)), the limit for this file")
            }
        }
    }

    package static func requireRegular(_ info: FileInfo, path: String, limit: Int) throws(TallyError) {
        guard info.kind == .regular else { throw unsafe(path, info.kind) }
        guard info.size <= Int64(limit) else {
            throw TallyError.unsafeFile(path: path, reason: "it is \(describeSize(Int(info.size))), over the limit of \(describeSize(limit)) for this file")
        }
    }

    package static func unsafe(_ path: String, _ kind: FileKind) -> TallyError {
        .unsafeFile(path: path, reason: "it is \(kind.description), not a regular file")
    }

    package static func describeSize(_ bytes: Int) -> String {
        bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }
}
