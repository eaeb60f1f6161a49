extension SnapshotFormat {
    /// A state record read straight from its line, when the line is exactly what
    /// ``appendStateRecord(key:version:status:canonicalBody:checksum:updatedAt:ledgerSeq:to:)``
    /// writes: members in that order, no whitespace, the body already canonical.
    ///
    /// Import reads such lines without parsing them into a tree and without canonicalizing
    /// the body again: the body's bytes are hashed as found. Any other line — members in
    /// another order, whitespace, escapes, a body outside
    /// ``CanonicalJSON/canonicalValueEnd(in:from:)``'s shapes, anything malformed — is not
    /// an error here: ``scan(_:)`` returns nil and the importer parses the line in full, which
    /// reports whatever is wrong. The values found are checked afterwards exactly as parsed
    /// ones are (key rules, versions, status, timestamps, the checksum).
    struct StateLine {
        /// The record's members but the body.
        var row: StateTable.Row
        /// Where the body's canonical bytes lie in the line.
        var body: Range<Int>

        /// The record in `line`, or nil when the line is not in the exact written layout.
        static func scan(_ line: UnsafeBufferPointer<UInt8>) -> StateLine? {
            var scanner = LineScanner(bytes: line)
            guard scanner.skip("{\"type\":\"state\",\"key\":"), let key = scanner.plainString(),
                  scanner.skip(",\"version\":"), let version = scanner.count(),
                  scanner.skip(",\"status\":") else { return nil }
            var status: String?
            if !scanner.skip("null") {
                guard let text = scanner.plainString() else { return nil }
                status = text
            }
            guard scanner.skip(",\"body\":"),
                  let bodyEnd = CanonicalJSON.canonicalValueEnd(in: line, from: scanner.index) else { return nil }
            let body = scanner.index..<bodyEnd
            scanner.index = bodyEnd
            guard scanner.skip(",\"checksum\":"), let checksum = scanner.plainString(),
                  scanner.skip(",\"updated_at\":"), let updatedAt = scanner.plainString(),
                  scanner.skip(",\"ledger_seq\":") else { return nil }
            var ledgerSeq: Int64?
            if !scanner.skip("null") {
                guard let seq = scanner.count() else { return nil }
                ledgerSeq = seq
            }
            guard scanner.skip("}"), scanner.index == line.count else { return nil }
            return StateLine(row: StateTable.Row(key: key, version: version, status: status, checksum: checksum,
                                                 updatedAt: updatedAt, ledgerSeq: ledgerSeq),
                             body: body)
        }
    }

    /// A position in a line and the few token shapes a written state record is made of.
    private struct LineScanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        /// Moves past `text` if the line continues with exactly it.
        mutating func skip(_ text: StaticString) -> Bool {
            let count = text.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            for offset in 0..<count where bytes[index + offset] != text.utf8Start[offset] { return false }
            index += count
            return true
        }

        /// A string of printable ASCII without escapes (what keys, statuses, checksums and
        /// timestamps written by Tally are; anything else is left to the parser).
        mutating func plainString() -> String? {
            guard let after = CanonicalJSON.plainASCIIStringEnd(in: bytes, from: index) else { return nil }
            defer { index = after }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[(index + 1)..<(after - 1)]), as: UTF8.self)
        }

        /// `0` or `[1-9][0-9]{0,14}`: a non-negative integer a double holds exactly, as the
        /// parser would read it (negative and longer numbers are left to the parser).
        mutating func count() -> Int64? {
            guard index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") else { return nil }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
                return 0
            }
            var value: Int64 = 0
            var digits = 0
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                guard digits < 15 else { return nil }
                value = value * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
                digits += 1
                index += 1
            }
            return value
        }
    }
}
