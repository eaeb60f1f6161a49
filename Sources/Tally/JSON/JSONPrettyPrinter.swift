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

    private static func write(_ value: JSONValue, indent: Int?, level: Int, to out: inout [UInt8]) {
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
            for (position, index) in CanonicalJSON.sortedIndices(members).enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                newline(indent: indent, level: level + 1, to: &out)
                CanonicalJSON.appendQuoted(members[index].key, to: &out)
                out.append(UInt8(ascii: ":"))
                if indent != nil { out.append(UInt8(ascii: " ")) }
                write(members[index].value, indent: indent, level: level + 1, to: &out)
            }
            newline(indent: indent, level: level, to: &out)
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func newline(indent: Int?, level: Int, to out: inout [UInt8]) {
        guard let indent else { return }
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent * level))
    }
}
