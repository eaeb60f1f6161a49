import Testing
@testable import Tally

/// The byte buffer under every JSON writer: it must grow past its stack scratch without
/// losing a byte, and escape exactly what RFC 8785 escapes.
@Suite("The JSON byte buffer grows past its stack space intact and escapes exactly what canonical JSON escapes")
struct ByteBufferTests {
    private func written(scratch: Int, _ fill: (inout ByteBuffer) -> Void) -> [UInt8] {
        ByteBuffer.with(scratchCapacity: scratch) { buffer in
            fill(&buffer)
            return Array(buffer.bytes)
        }
    }

    @Test("appends of every kind keep their order across growth from 1 byte to the heap")
    func growth() {
        var expected: [UInt8] = []
        let bytes = written(scratch: 1) { buffer in
            for index in 0..<5_000 {
                let byte = UInt8(truncatingIfNeeded: index)
                buffer.append(byte)
                expected.append(byte)
                if index % 97 == 0 {
                    buffer.append(UInt8(ascii: "z"), times: 300)
                    expected += Array(repeating: UInt8(ascii: "z"), count: 300)
                }
                if index % 101 == 0 {
                    buffer.append("null")
                    expected += Array("null".utf8)
                }
            }
        }
        #expect(bytes == expected)
    }

    @Test("decimal digits of the edge values", arguments: [UInt64(0), 9, 10, 99, 100, 1_234_567_890, UInt64.max])
    func decimals(_ value: UInt64) {
        #expect(written(scratch: 4) { $0.appendDecimal(value) } == Array(String(value).utf8))
    }

    @Test("strings: only quote, backslash and controls are escaped; short forms where RFC 8785 has them")
    func escaping() {
        func quoted(_ text: String, scratch: Int = 8) -> String {
            String(decoding: written(scratch: scratch) { $0.appendQuoted(text) }, as: UTF8.self)
        }
        #expect(quoted("") == #""""#)
        #expect(quoted("plain") == #""plain""#)
        #expect(quoted("a\"b\\c") == #""a\"b\\c""#)
        #expect(quoted("\u{8}\u{9}\u{A}\u{C}\u{D}") == #""\b\t\n\f\r""#)
        #expect(quoted("\u{0}\u{1F}\u{7F}") == "\"\\u0000\\u001f\u{7F}\"")
        #expect(quoted("é€😀\u{2028}") == "\"é€😀\u{2028}\"")
        // Escapes far past the scratch, after a long plain run: each one grows the buffer.
        let long = String(repeating: "x", count: 3_000) + "\n" + String(repeating: "y", count: 3_000) + "\u{1}"
        let expected = "\"" + String(repeating: "x", count: 3_000) + "\\n" + String(repeating: "y", count: 3_000) + "\\u0001\""
        #expect(quoted(long, scratch: 16) == expected)
        // The [UInt8] writers' path (whole copy when nothing needs escaping) agrees.
        for text in ["", "plain", "a\"b", "\u{0}", long] {
            var array: [UInt8] = [UInt8(ascii: "<")]
            CanonicalJSON.appendQuoted(text, to: &array)
            #expect(array == [UInt8(ascii: "<")] + Array(quoted(text).utf8))
        }
    }

    @Test("a document far larger than the stack scratch canonicalizes byte for byte")
    func largeDocument() throws {
        var members: [String: JSONValue] = [:]
        var expected = "{"
        let names = (0..<2_000).map { "k\(String(100_000 + $0))" }  // same length: byte order is sort order
        for (index, name) in names.enumerated() {
            members[name] = .string("v\(index)\"")
            expected += (index == 0 ? "" : ",") + "\"\(name)\":\"v\(index)\\\"\""
        }
        expected += "}"
        #expect(try CanonicalJSON.encode(.object(members)) == expected)
        var line: [UInt8] = Array("prefix ".utf8)
        try CanonicalJSON.append(.object(members), to: &line)
        #expect(line == Array(("prefix " + expected).utf8))
    }
}
