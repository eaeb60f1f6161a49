extension JSONValue: CustomStringConvertible {
    /// Compact JSON with sorted keys: for finite values exactly the canonical JSON (RFC 8785) form,
    /// so that logs and test failures show what would be hashed.
    ///
    /// Unlike canonical JSON (RFC 8785) it never fails; NaN and infinities appear as the bare
    /// words `NaN`, `Infinity` and `-Infinity` (see ``prettyPrinted(indent:)``).
    public var description: String {
        JSONPrettyPrinter.render(self, indent: nil)
    }

    /// JSON laid out for people: one member or element per line, keys sorted (RFC 8785
    /// order), numbers and strings written exactly as canonical JSON (RFC 8785) writes them.
    ///
    /// The output depends only on the value, so a mirror file is rewritten only when its
    /// document really changed, and two files can be compared with `diff`. It has no final
    /// newline; append one when writing a file.
    ///
    /// ```
    /// {
    ///   "n": 2,
    ///   "tags": [
    ///     "x"
    ///   ]
    /// }
    /// ```
    ///
    /// This never fails, so a value holding NaN or an infinity (which no stored document
    /// can, because its checksum could not be computed) shows the bare word `NaN`,
    /// `Infinity` or `-Infinity`: visible to a reader and refused by every JSON parser,
    /// rather than silently turned into `null` as JavaScript's `JSON.stringify` would.
    ///
    /// - Parameter indent: Spaces per level; negative values count as 0.
    public func prettyPrinted(indent: Int = 2) -> String {
        JSONPrettyPrinter.render(self, indent: max(0, indent))
    }
}

/// Writes ``JSONValue`` for people: indented (or compact when `indent` is `nil`), in the
/// canonical member order.
enum JSONPrettyPrinter {
    static func render(_ value: JSONValue, indent: Int?) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(value, indent: indent, level: 0, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func write(_ value: JSONValue, indent: Int?, level: Int, to out: inout [UInt8]) {
        switch value {
        case .null:
            CanonicalJSON.appendASCII("null", to: &out)
        case .bool(let flag):
            CanonicalJSON.appendASCII(flag ? "true" : "false", to: &out)
        case .number(let number):
            if number.isFinite {
                JSONNumberFormatter.append(number, to: &out)
            } else if number.isNaN {
                CanonicalJSON.appendASCII("NaN", to: &out)
            } else {
                CanonicalJSON.appendASCII(number < 0 ? "-Infinity" : "Infinity", to: &out)
            }
        case .string(let text):
            CanonicalJSON.appendQuoted(text, to: &out)
        case .array(let elements):
            guard !elements.isEmpty else {
                CanonicalJSON.appendASCII("[]", to: &out)
                return
            }
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                newline(indent: indent, level: level + 1, to: &out)
                write(element, indent: indent, level: level + 1, to: &out)
            }
            newline(indent: indent, level: level, to: &out)
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            guard !members.isEmpty else {
                CanonicalJSON.appendASCII("{}", to: &out)
                return
            }
            out.append(UInt8(ascii: "{"))
            CanonicalJSON.forEachMember(of: members) { position, key, value in
                if position > 0 { out.append(UInt8(ascii: ",")) }
                newline(indent: indent, level: level + 1, to: &out)
                CanonicalJSON.appendQuoted(key, to: &out)
                out.append(UInt8(ascii: ":"))
                if indent != nil { out.append(UInt8(ascii: " ")) }
                write(value, indent: indent, level: level + 1, to: &out)
            }
            newline(indent: indent, level: level, to: &out)
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Lays out `canonical`, a value's canonical JSON (RFC 8785), exactly as ``write(_:indent:level:to:)``
    /// lays out the value itself, without building it: canonical JSON has no whitespace, its
    /// members are already in order and its strings and numbers already in the form `write`
    /// gives them, so the layout only inserts line breaks, indentation and the space after
    /// each colon, outside strings. The mirror copies stored bodies this way (they are
    /// canonical once their checksum matches) instead of parsing each into a tree.
    ///
    /// Given bytes that are not canonical JSON, the output is not meaningful (but memory-safe).
    static func reindent(canonical: UnsafeRawBufferPointer, indent: Int, level: Int, to out: inout [UInt8]) {
        // Two passes over the bytes: the first measures the output, the second writes it
        // straight into the array's new tail (no per-token appends: this runs for every
        // document of every mirror).
        let size = layout(canonical, indent: indent, level: level, into: nil)
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: size))
        out.withUnsafeMutableBufferPointer { buffer in
            _ = layout(canonical, indent: indent, level: level, into: buffer.baseAddress.map { $0 + start })
        }
    }

    /// Lays out `canonical` into `output` (which must hold the result), or only measures the
    /// result when `output` is nil; returns its length in bytes.
    private static func layout(_ canonical: UnsafeRawBufferPointer, indent: Int, level: Int,
                               into output: UnsafeMutablePointer<UInt8>?) -> Int {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        let count = canonical.count
        var written = 0
        @inline(__always) func put(_ byte: UInt8) {
            output?[written] = byte
            written += 1
        }
        @inline(__always) func copy(_ from: Int, _ to: Int) {
            if let output, to > from, let base = canonical.baseAddress {
                (output + written).update(from: base.assumingMemoryBound(to: UInt8.self) + from, count: to - from)
            }
            written += max(0, to - from)
        }
        @inline(__always) func newline(_ depth: Int) {
            put(UInt8(ascii: "\n"))
            let spaces = max(0, indent * depth)  // never negative, even for bytes that are not canonical JSON
            if let output { (output + written).update(repeating: UInt8(ascii: " "), count: spaces) }
            written += spaces
        }
        var depth = level
        var index = 0
        var runStart = 0  // bytes that need no layout (strings, numbers, literals) are copied in runs
        while index < count {
            let byte = canonical[index]
            if byte > UInt8(ascii: "]") && byte != UInt8(ascii: "{") && byte != UInt8(ascii: "}") {
                index += 1  // letters and the like (the common case, checked first)
                continue
            }
            if byte == quote {
                // Skip to the closing quote; a backslash escapes the byte after it.
                index += 1
                while index < count, canonical[index] != quote {
                    index += canonical[index] == backslash ? 2 : 1
                }
                index += 1
                continue
            }
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                copy(runStart, index + 1)
                index += 1
                // An empty object or array stays `{}` / `[]`, as `write` prints it.
                let close = byte == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                if index < count, canonical[index] == close {
                    put(close)
                    index += 1
                } else {
                    depth += 1
                    newline(depth)
                }
                runStart = index
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                copy(runStart, index)
                depth -= 1
                newline(depth)
                put(byte)
                index += 1
                runStart = index
            case UInt8(ascii: ","):
                copy(runStart, index + 1)
                newline(depth)
                index += 1
                runStart = index
            case UInt8(ascii: ":"):
                copy(runStart, index + 1)
                put(UInt8(ascii: " "))
                index += 1
                runStart = index
            default:
                index += 1
            }
        }
        copy(runStart, min(index, count))
        return written
    }

    private static func newline(indent: Int?, level: Int, to out: inout [UInt8]) {
        guard let indent else { return }
        out.append(UInt8(ascii: "\n"))
        var spaces = indent * level
        while spaces > 0 {
            let chunk = min(spaces, Self.spaces.count)
            Self.spaces.withUnsafeBufferPointer { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[..<chunk])) }
            spaces -= chunk
        }
    }

    /// Indentation is copied from here, a chunk at a time.
    private static let spaces = [UInt8](repeating: UInt8(ascii: " "), count: 64)
}
