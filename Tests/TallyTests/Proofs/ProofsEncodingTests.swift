@testable import Tally
import Testing

@Suite("Hash values and byte encodings accept only canonical text")
struct EncodingTests {
    let sample = "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"

    @Test("Hex and base64 round-trip and the accessors agree")
    func roundTrip() throws {
        let hash = try Hash32(hex: sample)
        #expect(hash.hex == sample)
        #expect(try Hash32(hex: sample.uppercased()) == hash)
        #expect(try Hash32(base64: hash.base64) == hash)
        #expect(try Hash32(bytes: hash.bytes) == hash)
        #expect(try hash.bytes.withUnsafeBytes { raw in try Hash32(raw) } == hash)
        #expect(hash.base64.count == 44)
        #expect(Set([hash, try Hash32(hex: sample)]).count == 1)
    }

    @Test("Malformed hashes are refused with the reason")
    func refusals() throws {
        #expect(throws: Hash32.DecodingError.wrongByteCount(31)) { try Hash32(hex: String(sample.dropLast(2))) }
        #expect(throws: Hash32.DecodingError.wrongByteCount(33)) { try Hash32(hex: sample + "00") }
        #expect(throws: Hash32.DecodingError.invalidHex) { try Hash32(hex: String(sample.dropLast())) }
        #expect(throws: Hash32.DecodingError.invalidHex) { try Hash32(hex: "0x" + sample.dropFirst(2)) }
        #expect(throws: Hash32.DecodingError.invalidHex) { try Hash32(hex: " " + sample.dropFirst()) }
        let b64 = try Hash32(hex: sample).base64
        #expect(throws: Hash32.DecodingError.invalidBase64) { try Hash32(base64: String(b64.dropLast())) } // no padding
        #expect(throws: Hash32.DecodingError.invalidBase64) { try Hash32(base64: b64 + "\n") }
        #expect(throws: Hash32.DecodingError.invalidBase64) { try Hash32(base64: " " + b64) }
        #expect(throws: Hash32.DecodingError.wrongByteCount(3)) { try Hash32(base64: "AAAA") }
        #expect(throws: Hash32.DecodingError.wrongByteCount(0)) { try Hash32(bytes: []) }
        // Same bytes, non-zero unused bits in the last character: a second
        // spelling that Go's lenient decoder would accept and we do not.
        let canonical = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
        #expect(throws: Never.self) { try Hash32(base64: canonical) }
        #expect(throws: Hash32.DecodingError.invalidBase64) { try Hash32(base64: "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=") }
    }

    @Test("Base64 matches RFC 4648 test vectors and refuses misplaced padding")
    func base64Vectors() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(ByteEncoding.base64(Array(plain.utf8)) == encoded)
            #expect(ByteEncoding.bytes(fromBase64: encoded) == Array(plain.utf8))
        }
        for bad in ["Zg=", "Z===", "Zg==Zg==", "=Zg=", "Zm9v\r\n", "Zh==", "Zm9=", "Zm-v", "Zm_v"] {
            #expect(ByteEncoding.bytes(fromBase64: bad) == nil, "\(bad)")
        }
    }
}
