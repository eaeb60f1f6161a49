import Foundation

/// Reads a file one line at a time with bounded memory: a fixed read buffer plus at most
/// one line, which may not exceed `maximumLineBytes` (so a damaged or hostile file cannot
/// make the reader allocate without limit).
///
/// Lines are split on `\n`; the newline is not part of the line. ``endedWithNewline`` tells
/// whether the last line returned was terminated, which lets callers spot a file cut short.
public final class LineReader {
    /// The file being read.
    public let path: String
    /// The 1-based number of the last line returned (0 before the first).
    public private(set) var lineNumber = 0
    /// True when the last line returned ended with `\n`.
    public private(set) var endedWithNewline = true
    /// Bytes consumed so far, including newlines.
    public private(set) var bytesRead: Int64 = 0

    private let descriptor: Int32
    private let maximumLineBytes: Int
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var atEndOfFile = false

    /// Opens `path` for reading.
    ///
    /// - Throws: ``TallyError/io(step:path:errno:)`` with step `open` when it cannot be read.
    public init(path: String, maximumLineBytes: Int = 16 << 20, bufferSize: Int = 1 << 20) throws(TallyError) {
        self.path = path
        self.maximumLineBytes = max(1, maximumLineBytes)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw TallyError.io(step: "open", path: path, errno: errno) }
        var status = stat()
        if fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR {
            close(descriptor)
            throw TallyError.io(step: "read", path: path, errno: EISDIR)
        }
        self.descriptor = descriptor
        self.buffer = [UInt8](repeating: 0, count: max(4096, bufferSize))
    }

    deinit {
        close(descriptor)
    }

    /// The size of the file in bytes (for progress), or nil when unknown.
    public var fileSize: Int64? {
        var status = stat()
        return fstat(descriptor, &status) == 0 ? Int64(status.st_size) : nil
    }

    /// Calls `body` with the next line's bytes (valid only during the call) and returns its
    /// result, or returns nil at the end of the file.
    ///
    /// - Throws: ``TallyError/snapshot(path:line:reason:)`` for a line over the limit, or
    ///   ``TallyError/io(step:path:errno:)`` for a read error; rethrows `body`'s errors.
    public func nextLine<T>(_ body: (UnsafeBufferPointer<UInt8>) throws -> T) throws -> T? {
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
        return buffer.withUnsafeBufferPointer { raw -> Int? in
            guard let base = raw.baseAddress,
                  let found = memchr(base + index, Int32(UInt8(ascii: "\n")), end - index) else { return nil }
            return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        }
    }

    private func emit<T>(upTo index: Int, newline: Bool, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) throws -> T {
        lineNumber += 1
        endedWithNewline = newline
        let lineStart = start
        start = newline ? index + 1 : index
        bytesRead += Int64(start - lineStart)
        guard index - lineStart <= maximumLineBytes else {
            throw TallyError.snapshot(path: path, line: lineNumber, reason: "the line is longer than \(maximumLineBytes) bytes; the file is damaged or not a snapshot")
        }
        return try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[lineStart..<index])) }
    }

    /// Reads more bytes after the pending ones, compacting or growing the buffer as needed.
    private func fill() throws(TallyError) {
        if start > 0 {
            let pending = end - start
            if pending > 0 {
                buffer.withUnsafeMutableBufferPointer { raw in
                    guard let base = raw.baseAddress else { return }
                    memmove(base, base + start, pending)
                }
            }
            end = pending
            start = 0
        }
        if end == buffer.count {
            buffer += [UInt8](repeating: 0, count: min(buffer.count, maximumLineBytes + 1))
        }
        while true {
            let count = buffer.withUnsafeMutableBufferPointer { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return read(descriptor, base + end, raw.count - end)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw TallyError.io(step: "read", path: path, errno: errno)
            }
            if count == 0 { atEndOfFile = true }
            end += count
            return
        }
    }
}
