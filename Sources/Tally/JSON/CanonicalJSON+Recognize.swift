extension CanonicalJSON {
    /// The deepest nesting ``canonicalValueEnd(in:from:)`` follows; deeper values are left
    /// to the parser (the limit keeps the recognizer's bookkeeping on the stack).
    static let recognizerMaxDepth = 32

    /// Where the JSON value that starts at `start` ends, when its bytes are already exactly
    /// its canonical form (RFC 8785); nil when they are not, or when the value is outside the
    /// common shapes recognized here.
    ///
    /// Readers handed text that a canonical writer produced (snapshot import reads bodies
    /// that export wrote canonically) use it to take those bytes as they are, instead of
    /// parsing them into a tree and printing the tree again. nil is never an error: the
    /// caller then parses and canonicalizes as usual, and the parser reports whatever is
    /// wrong. The rule is one-sided — every value accepted here parses strictly
    /// (``JSONParser``) to a value whose canonical bytes are exactly these bytes — so the
    /// recognizer may decline canonical values, but never accepts anything else. What follows
    /// the value is the caller's to check (a top-level `null` followed by `x` ends after
    /// `null`). Accepted:
    ///
    /// - `null`, `true`, `false`;
    /// - integers `0` and `-?[1-9][0-9]{0,14}`: below 10^15, so a double holds them exactly
    ///   and `Number::toString` prints the same digits (`-0`, fractions and exponents are
    ///   declined);
    /// - strings of well-formed UTF-8 without escapes or control characters (the only
    ///   characters canonical JSON escapes are `"`, `\` and those below U+0020);
    /// - arrays and objects without whitespace, nested at most ``recognizerMaxDepth`` deep,
    ///   whose member names are printable ASCII without escapes in strictly ascending byte
    ///   order (for ASCII, byte order is RFC 8785's UTF-16 order, and strictly ascending
    ///   leaves no duplicate names).
    static func canonicalValueEnd(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        withUnsafeTemporaryAllocation(of: RecognizerFrame.self, capacity: recognizerMaxDepth) { frames in
            var recognizer = Recognizer(bytes: bytes, index: start, frames: frames)
            return recognizer.value()
        }
    }

    /// The index after the closing quote of the string whose opening quote is at `start`,
    /// when it holds printable ASCII only (0x20…0x7F but `"` and `\`): such a string means
    /// exactly its bytes, in JSON and in canonical JSON. nil for anything else.
    static func plainASCIIStringEnd(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard start < bytes.count, bytes[start] == UInt8(ascii: "\"") else { return nil }
        var index = start + 1
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { return index + 1 }
            guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\\") else { return nil }
            index += 1
        }
        return nil
    }

    /// One open array or object: for objects, where the previous member name lies.
    fileprivate struct RecognizerFrame {
        var isObject: Bool
        var nameStart: Int
        var nameEnd: Int
    }

    /// The state of one recognition: a position and the open containers. It never recurses.
    private struct Recognizer {
        let bytes: UnsafeBufferPointer<UInt8>
        var index: Int
        let frames: UnsafeMutableBufferPointer<RecognizerFrame>
        var depth = 0

        init(bytes: UnsafeBufferPointer<UInt8>, index: Int, frames: UnsafeMutableBufferPointer<RecognizerFrame>) {
            self.bytes = bytes
            self.index = index
            self.frames = frames
        }

        /// The byte at the position, or nil at the end of the input.
        private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        /// Recognizes one whole value (with everything nested in it); returns the index after it.
        mutating func value() -> Int? {
            while true {
                // A value is expected at `index`.
                switch current {
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    let isObject = current == UInt8(ascii: "{")
                    guard depth < frames.count else { return nil }
                    frames[depth] = RecognizerFrame(isObject: isObject, nameStart: 0, nameEnd: -1)
                    depth += 1
                    index += 1
                    if current == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                        index += 1
                        depth -= 1
                    } else {
                        if isObject { guard memberName() else { return nil } }
                        continue
                    }
                case UInt8(ascii: "\""):
                    guard string() else { return nil }
                case UInt8(ascii: "t"):
                    guard literal("true") else { return nil }
                case UInt8(ascii: "f"):
                    guard literal("false") else { return nil }
                case UInt8(ascii: "n"):
                    guard literal("null") else { return nil }
                case let byte? where byte == UInt8(ascii: "-") || isDigit(byte):
                    guard integer() else { return nil }
                default:
                    return nil
                }
                // A value ended: close containers, or move to the next element or member.
                while true {
                    guard depth > 0 else { return index }
                    let isObject = frames[depth - 1].isObject
                    if current == UInt8(ascii: ",") {
                        index += 1
                        if isObject { guard memberName() else { return nil } }
                        break
                    }
                    guard current == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) else { return nil }
                    index += 1
                    depth -= 1
                }
            }
        }

        /// `"name":` with a printable-ASCII name above the previous one in the same object.
        private mutating func memberName() -> Bool {
            guard let after = CanonicalJSON.plainASCIIStringEnd(in: bytes, from: index),
                  after < bytes.count, bytes[after] == UInt8(ascii: ":") else { return false }
            let (start, end) = (index + 1, after - 1)
            let frame = frames[depth - 1]
            if frame.nameEnd >= 0 {
                guard precedes(frame.nameStart..<frame.nameEnd, start..<end) else { return false }
            }
            frames[depth - 1].nameStart = start
            frames[depth - 1].nameEnd = end
            index = after + 1
            return true
        }

        /// Whether the bytes of `a` sort strictly before those of `b`.
        private func precedes(_ a: Range<Int>, _ b: Range<Int>) -> Bool {
            let shared = min(a.count, b.count)
            for offset in 0..<shared where bytes[a.lowerBound + offset] != bytes[b.lowerBound + offset] {
                return bytes[a.lowerBound + offset] < bytes[b.lowerBound + offset]
            }
            return a.count < b.count
        }

        /// A string without escapes or control characters, of well-formed UTF-8.
        private mutating func string() -> Bool {
            index += 1
            while let byte = current {
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return true
                case UInt8(ascii: "\\"), 0x00..<0x20:
                    return false
                case 0x80...:
                    guard let length = wellFormedUTF8Length(bytes, at: index) else { return false }
                    index += length
                default:
                    index += 1
                }
            }
            return false
        }

        /// `0` or `-?[1-9][0-9]{0,14}`, not followed by more of a number (a sixteenth digit,
        /// a fraction or an exponent).
        private mutating func integer() -> Bool {
            let negative = current == UInt8(ascii: "-")
            if negative { index += 1 }
            guard let first = current, isDigit(first) else { return false }
            index += 1
            if first == UInt8(ascii: "0") {
                guard !negative else { return false }
            } else {
                var digits = 1
                while digits < 15, let byte = current, isDigit(byte) {
                    index += 1
                    digits += 1
                }
            }
            guard let next = current else { return true }
            return !isDigit(next) && next != UInt8(ascii: ".") && next != UInt8(ascii: "e") && next != UInt8(ascii: "E")
        }

        private func isDigit(_ byte: UInt8) -> Bool {
            byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
        }

        private mutating func literal(_ text: StaticString) -> Bool {
            let count = text.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            for offset in 0..<count where bytes[index + offset] != text.utf8Start[offset] { return false }
            index += count
            return true
        }
    }
}
