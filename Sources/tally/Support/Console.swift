import Tally

/// Standard output and standard error, written so that nothing is lost silently and nothing
/// traps.
///
/// - Standard output is buffered and every write is checked: a full disk (`> /dev/full`), a
///   closed pipe (`| head`, with SIGPIPE ignored so it arrives as EPIPE) or a closed
///   descriptor stops the command with ``OutputFailure`` (exit 5, "write to standard output
///   failed: …"). The buffer is flushed before the process exits and after each line of a
///   followed stream.
/// - Standard error is written directly and its failures are ignored: an error message that
///   cannot be shown must not turn into a crash or another exit code.
enum Console {
    /// The checked standard output.
    nonisolated(unsafe) static var out = StandardOutput()

    /// Writes `line` and a newline to standard error, best effort.
    static func error(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        _ = bytes.withUnsafeBytes { System.writeAll(System.standardError, $0) }
    }

    /// Writes raw text to standard error (the progress bar), best effort.
    static func errorText(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { System.writeAll(System.standardError, $0) }
    }
}

/// A write to standard output failed; the command stops with exit 5.
struct OutputFailure: Error {
    let errno: Errno
    var message: String { "write to standard output failed: \(errno.description)" }
}

/// Buffered, checked standard output (see ``Console``).
struct StandardOutput {
    private var buffer: [UInt8] = []
    private static let flushThreshold = 64 * 1024

    /// Appends `text`; writes the buffer out once it is large.
    mutating func write(_ text: String) throws(OutputFailure) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    /// Appends raw bytes (a snapshot streamed to standard output).
    mutating func write(bytes: UnsafeRawBufferPointer) throws(OutputFailure) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    /// Appends `text` and a newline.
    mutating func line(_ text: String = "") throws(OutputFailure) {
        try write(text)
        try write("\n")
    }

    /// Appends one JSON document (or one line of JSON Lines) for `value`, encoded with
    /// Tally's own JSON (sorted keys, numbers as RFC 8785 writes them).
    mutating func json(_ value: some Encodable) throws {
        try line(try JSONValue(encoding: value).description)
    }

    /// Appends one JSON document for a report, with the command's `exit_status` added, so
    /// a program reading it need not also look at the process status.
    mutating func json(_ value: some Encodable, exitStatus: ExitStatus) throws {
        guard case var .object(members) = try JSONValue(encoding: value) else { return try json(value) }
        members["exit_status"] = .number(Double(exitStatus.rawValue))
        try line(JSONValue.object(members).description)
    }

    /// Writes everything buffered.
    mutating func flush() throws(OutputFailure) {
        guard !buffer.isEmpty else { return }
        let failure = buffer.withUnsafeBytes { System.writeAll(System.standardOutput, $0) }
        buffer.removeAll(keepingCapacity: true)
        if let failure { throw OutputFailure(errno: failure) }
    }
}
