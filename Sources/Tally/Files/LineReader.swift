/// Reads a file one line at a time with bounded memory: a fixed read buffer plus at most
/// one line, which may not exceed `maximumLineBytes` (so a damaged or hostile file cannot
/// make the reader allocate without limit).
///
/// Lines are split on `\n`; the newline is not part of the line. ``endedWithNewline`` tells
/// whether the last line returned was terminated, which lets callers spot a file cut short.
package final class LineReader {
    /// The file being read.
    package let path: String
    /// The 1-based number of the last line returned (0 before the first).
    package private(set) var lineNumber = 0
    /// True when the last line returned ended with `\n`.
    package private(set) var endedWithNewline = true
    /// Bytes consumed so far, including newlines.
    package private(set) var bytesRead: Int64 = 0

    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private let syscalls: FileSyscalls
    private let maximumLineBytes: Int
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var atEndOfFile = false

    /// Opens `path` for reading. The user named this file, so a pipe (`<(cmd)`,
    /// `/dev/stdin`) is read like a file; a directory, socket or block device is refused.
    ///
    /// - Throws: ``TallyError/io(step:path:errno:)`` with step `open` when it cannot be read,
    ///   ``TallyError/unsafeFile(path:reason:)`` for something that is not a file or a pipe.
    package convenience init(path: String, maximumLineBytes: Int = 16 << 20, bufferSize: Int = 1 << 20,
                             syscalls: FileSyscalls = .live) throws(TallyError) {
        let descriptor = FileSyscalls.retryingEINTR { syscalls.open(path, .readOnly, 0) }
        guard descriptor >= 0 else {
            throw TallyError.io(step: "open", path: path, errno: -descriptor)
        }
        var info = FileInfo()
        if syscalls.fstat(descriptor, &info) == 0 {
            switch info.kind {
            case .regular, .fifo, .characterDevice: break
            case .directory:
                _ = syscalls.close(descriptor)
                throw TallyError.io(step: "read", path: path, errno: Errno.isDirectory.rawValue)
            default:
                _ = syscalls.close(descriptor)
                throw FileOperations.unsafe(path, info.kind)
            }
        }
        self.init(descriptor: descriptor, name: path, owned: true, maximumLineBytes: maximumLineBytes,
                  bufferSize: bufferSize, syscalls: syscalls)
    }

    /// Reads an already open descriptor (standard input), named `name` in errors.
    package init(descriptor: Int32, name: String, owned: Bool, maximumLineBytes: Int = 16 << 20,
                 bufferSize: Int = 1 << 20, syscalls: FileSyscalls = .live) {
        self.path = name
        self.descriptor = descriptor
        self.ownsDescriptor = owned
        self.syscalls = syscalls
        self.maximumLineBytes = max(1, maximumLineBytes)
        self.buffer = [UInt8](repeating: 0, count: max(4096, bufferSize))
    }

    deinit {
        if ownsDescriptor { _ = syscalls.close(descriptor) }
    }

    /// The size of the file in bytes (for progress), or nil when unknown (a pipe).
    package var fileSize: Int64? {
        var info = FileInfo()
        guard syscalls.fstat(descriptor, &info) == 0, info.kind == .regular else { return nil }
        return info.size
    }

    /// Calls `body` with the next line's bytes (valid only during the call) and returns its
    /// result, or returns nil at the end of the file.
    ///
    /// - Throws: ``TallyError/snapshot(path:line:reason:)`` for a line over the limit, or
    ///   ``TallyError/io(step:path:errno:)`` for a read error; rethrows `body`'s errors.
    package func nextLine<T>(_ body: (UnsafeBufferPointer<UInt8>) throws(TallyError) -> T) throws(TallyError) -> T? {
        var scanned = 0  // bytes after `start` already searched for a newline
        while true {
            if let newline = findNewline(from: start + scanned) {
                return try emit(upTo: newline, newline: true, body)
            }
            scanned = end - start
            if scanned > maximumLineBytes {
                throw TallyError.snapshot(path: path, line: lineNumber + 1, reason: "the line is longer than \(maximumLineBytes) bytes; the file is damaged or not a snapshot")
            }
            if atEndOfFile {
                guard end > start else { return nil }
                return try emit(upTo: end, newline: false, body)
            }
            try fill()
        }
    }

    /// The index of the next `\n` in the filled part of the buffer (memchr: this loop sees
    /// every byte of a snapshot, so it must be fast even in debug builds).
    private func findNewline(from index: Int) -> Int? {
        guard index < end else { return nil }
        return buffer.withUnsafeBytes { raw -> Int? in
            System.firstIndex(of: UInt8(ascii: "\n"), in: UnsafeRawBufferPointer(rebasing: raw[index..<end])).map { $0 + index }
        }
    }

    private func emit<T>(upTo index: Int, newline: Bool, _ body: (UnsafeBufferPointer<UInt8>) throws(TallyError) -> T) throws(TallyError) -> T {
        lineNumber += 1
        endedWithNewline = newline
        let lineStart = start
        start = newline ? index + 1 : index
        bytesRead += Int64(start - lineStart)
        guard index - lineStart <= maximumLineBytes else {
            throw TallyError.snapshot(path: path, line: lineNumber, reason: "the line is longer than \(maximumLineBytes) bytes; the file is damaged or not a snapshot")
        }
        return try buffer.withBytes { (all) throws(TallyError) -> T in try body(UnsafeBufferPointer(rebasing: all[lineStart..<index])) }
    }

    /// Reads more bytes after the pending ones, compacting or growing the buffer as needed.
    private func fill() throws(TallyError) {
        if start > 0 {
            let pending = end - start
            if pending > 0 {
                let from = start
                buffer.withUnsafeMutableBytes { raw in
                    guard let base = raw.baseAddress else { return }
                    base.copyMemory(from: base + from, byteCount: pending)
                }
            }
            end = pending
            start = 0
        }
        if end == buffer.count {
            buffer += [UInt8](repeating: 0, count: min(buffer.count, maximumLineBytes + 1))
        }
        while true {
            let from = end
            let count = buffer.withUnsafeMutableBytes { raw -> Int in
                syscalls.read(descriptor, UnsafeMutableRawBufferPointer(rebasing: raw[from...]))
            }
            if count < 0 {
                if count == -Int(Errno.interrupted.rawValue) { continue }
                throw TallyError.io(step: "read", path: path, errno: Int32(-count))
            }
            if count == 0 { atEndOfFile = true }
            end += count
            return
        }
    }
}
