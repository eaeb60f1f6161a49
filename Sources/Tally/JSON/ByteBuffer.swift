/// A growable run of bytes for the JSON writers' hot paths (canonical JSON of every document
/// and payload written, verified or exported).
///
/// It starts in stack space lent by ``with(scratchCapacity:_:)`` and moves to the heap only
/// when the output outgrows it, so encoding a typical document allocates nothing but its
/// result. Why not `[UInt8]`: every `append` on an array checks uniqueness and capacity out
/// of line, and `append(contentsOf:)` copies through generic code. callgrind put those at a
/// third of canonicalizing a 220-byte invoice; here an append is a capacity compare and a
/// store.
///
/// Noncopyable, so the storage has one owner and is freed exactly once.
struct ByteBuffer: ~Copyable {
    private var start: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// How many bytes have been written.
    private(set) var count = 0
    /// Whether `start` is heap memory this buffer allocated (as opposed to the lent scratch).
    private var ownsStorage = false

    private init(scratch: UnsafeMutableBufferPointer<UInt8>) {
        if let base = scratch.baseAddress, scratch.count > 0 {
            start = base
            capacity = scratch.count
        } else {
            start = .allocate(capacity: 64)
            capacity = 64
            ownsStorage = true
        }
    }

    deinit {
        if ownsStorage { start.deallocate() }
    }

    /// Runs `body` with an empty buffer whose first `scratchCapacity` bytes live on the stack.
    /// The buffer, and any heap memory it grew into, is gone when `body` returns: copy out
    /// ``bytes`` before.
    static func with<Result, Failure: Error>(
        scratchCapacity: Int, _ body: (inout ByteBuffer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(1, scratchCapacity)) { scratch throws(Failure) in
            var buffer = ByteBuffer(scratch: scratch)
            return try body(&buffer)
        }
    }

    /// Runs `body` on a buffer with `scratchCapacity` bytes of stack space and appends what
    /// it wrote to `out`: how writers that build `[UInt8]` lines use the buffer's routines.
    static func append(to out: inout [UInt8], scratchCapacity: Int, _ body: (inout ByteBuffer) -> Void) {
        with(scratchCapacity: scratchCapacity) { buffer in
            body(&buffer)
            out.append(contentsOf: buffer.bytes)
        }
    }

    /// The bytes written so far; valid until the buffer next grows or ends.
    var bytes: UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: start, count: count)
    }

    /// Makes room for `additional` more bytes.
    @inline(__always)
    mutating func reserve(_ additional: Int) {
        if capacity &- count < additional { grow(toHold: count + additional) }
    }

    private mutating func grow(toHold minimum: Int) {
        let newCapacity = Swift.max(minimum, capacity * 2)
        let newStart = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newStart.initialize(from: start, count: count)
        if ownsStorage { start.deallocate() }
        start = newStart
        capacity = newCapacity
        ownsStorage = true
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        reserve(1)
        start[count] = byte
        count &+= 1
    }

    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (start + count).initialize(from: source, count: bytes.count)
        count &+= bytes.count
    }

    /// Appends an ASCII literal such as `"null"`.
    mutating func append(_ text: StaticString) {
        append(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends `byte` `times` times.
    mutating func append(_ byte: UInt8, times: Int) {
        guard times > 0 else { return }
        reserve(times)
        (start + count).initialize(repeating: byte, count: times)
        count &+= times
    }

    /// Appends the decimal digits of `value`.
    mutating func appendDecimal(_ value: UInt64) {
        // Count the digits first so they can be written in place, last digit first.
        var digits = 1
        var probe = value
        while probe >= 10 {
            probe /= 10
            digits &+= 1
        }
        reserve(digits)
        var remaining = value
        var position = count &+ digits
        repeat {
            position &-= 1
            start[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10)
            remaining /= 10
        } while remaining != 0
        count &+= digits
    }

    /// Appends `text` as a JSON string with RFC 8785's minimal escaping: only `"`, `\` and
    /// the control characters below U+0020 are escaped (short forms `\b \t \n \f \r`,
    /// otherwise `\u00xx` in lowercase); everything else is copied as UTF-8.
    mutating func appendQuoted(_ text: String) {
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { appendQuoted(utf8: $0) }
        if done == nil {
            Array(text.utf8).withUnsafeBufferPointer { appendQuoted(utf8: $0) }
        }
    }

    private mutating func appendQuoted(utf8 text: UnsafeBufferPointer<UInt8>) {
        append(UInt8(ascii: "\""))
        // Copy runs that need no escaping in one go; most strings are a single run.
        var runStart = 0
        for offset in 0..<text.count {
            let byte = text[offset]
            guard Self.needsEscape(byte) else { continue }
            append(UnsafeBufferPointer(rebasing: text[runStart..<offset]))
            reserve(6)
            appendEscape(byte)
            runStart = offset &+ 1
        }
        append(UnsafeBufferPointer(rebasing: text[runStart...]))
        append(UInt8(ascii: "\""))
    }

    /// Whether canonical JSON escapes `byte` inside a string: `"`, `\` and the control
    /// characters below U+0020.
    @inline(__always)
    static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    /// Writes the escape for `byte` (a quote, a backslash or a control character); the
    /// caller has reserved six bytes.
    private mutating func appendEscape(_ byte: UInt8) {
        let short: UInt8
        switch byte {
        case UInt8(ascii: "\""): short = UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): short = UInt8(ascii: "\\")
        case 0x08: short = UInt8(ascii: "b")
        case 0x09: short = UInt8(ascii: "t")
        case 0x0A: short = UInt8(ascii: "n")
        case 0x0C: short = UInt8(ascii: "f")
        case 0x0D: short = UInt8(ascii: "r")
        default:
            start[count] = UInt8(ascii: "\\")
            start[count &+ 1] = UInt8(ascii: "u")
            start[count &+ 2] = UInt8(ascii: "0")
            start[count &+ 3] = UInt8(ascii: "0")
            start[count &+ 4] = Digest.hexDigit(byte >> 4)
            start[count &+ 5] = Digest.hexDigit(byte & 0x0F)
            count &+= 6
            return
        }
        start[count] = UInt8(ascii: "\\")
        start[count &+ 1] = short
        count &+= 2
    }
}
