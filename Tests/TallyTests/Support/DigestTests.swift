import Testing
@testable import Tally

@Suite("Digest: SHA-256 as lowercase hex, and checks against it that make no string")
struct DigestTests {
    let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  // FIPS 180-2, "abc"

    @Test("the hex of a known digest, and of every byte value")
    func hex() {
        #expect(Digest.sha256Hex("abc") == abc)
        let all = Digest.hexString((0...255).map { UInt8($0) })
        #expect(all.hasPrefix("000102030405060708090a0b0c0d0e0f10"))
        #expect(all.hasSuffix("f9fafbfcfdfeff"))
        #expect(all.count == 512)
    }

    @Test("sha256(of:is:) accepts exactly the lowercase hex of the digest")
    func matches() {
        let bytes = Array("abc".utf8)
        bytes.withUnsafeBytes { raw in
            #expect(Digest.sha256(of: raw, is: abc))
            #expect(!Digest.sha256(of: raw, is: abc.uppercased()))
            #expect(!Digest.sha256(of: raw, is: String(abc.dropLast())))
            #expect(!Digest.sha256(of: raw, is: abc + "0"))
            for position in [0, 1, 31, 62, 63] {
                var digits = Array(abc.utf8)
                digits[position] = digits[position] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
                #expect(!Digest.sha256(of: raw, is: String(decoding: digits, as: UTF8.self)), "digit \(position) changed")
            }
        }
    }
}
