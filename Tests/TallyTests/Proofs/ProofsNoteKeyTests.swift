@testable import Tally
import Testing

func keyError(_ body: () throws(NoteKeyError) -> Void) -> NoteKeyError? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}

@Suite("Note key strings are parsed as strictly as Go's NewVerifier and NewSigner")
struct NoteKeyTests {
    @Test("Every substring and every one-byte mangling of Go's keys is refused (Go's own test)")
    func manglings() {
        for key in [GoVectors.peterVerifier, GoVectors.peterSigner] {
            let isSigner = key.hasPrefix("PRIVATE")
            func parses(_ text: String) -> Bool {
                isSigner ? (try? NoteSigner(parsing: text)) != nil : (try? NoteVerifierKey(parsing: text)) != nil
            }
            #expect(parses(key))
            let bytes = Array(key.utf8)
            for i in 0...bytes.count {
                for j in (i + 1)..<(bytes.count + 1) where !(i == 0 && j == bytes.count) {
                    let part = String(decoding: bytes[i..<j], as: UTF8.self)
                    #expect(!parses(part), "\(part)")
                }
            }
            for i in bytes.indices {
                var changed = bytes
                changed[i] &+= 1
                let text = String(decoding: changed, as: UTF8.self)
                #expect(!parses(text), "\(text)")
            }
        }
    }

    @Test("Each refusal names its reason")
    func specificErrors() throws {
        // Go's "unknown algorithm, with adjusted key hash" vector.
        #expect(keyError { () throws(NoteKeyError) in
            _ = try NoteVerifierKey(parsing: "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
        } == .unknownAlgorithm(0x65))
        // Wrong hash.
        #expect(keyError { () throws(NoteKeyError) in
            _ = try NoteVerifierKey(parsing: "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
        } == .keyIDMismatch(expected: 0xc74f20a3, found: 0xc74f20a4))
        // A 31-byte key with a correctly computed ID is refused for its length.
        let good = try NoteVerifierKey(parsing: GoVectors.peterVerifier)
        let shortData = [UInt8(1)] + good.publicKeyBytes.dropLast()
        let shortID = ByteEncoding.hex(try sha256Prefix4(Array("PeterNeumann\n".utf8) + shortData))
        #expect(keyError { () throws(NoteKeyError) in
            _ = try NoteVerifierKey(parsing: "PeterNeumann+\(shortID)+\(ByteEncoding.base64(shortData))")
        } == .wrongKeyLength(31))
        #expect(keyError { () throws(NoteKeyError) in
            _ = try NoteVerifierKey(parsing: "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW=")
        } == .malformed)
        #expect(keyError { () throws(NoteKeyError) in _ = try NoteVerifierKey(parsing: "PeterNeumann+c74f20a") } == .malformed)
        #expect(keyError { () throws(NoteKeyError) in
            _ = try NoteSigner(parsing: "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
        } == .keyIDMismatch(expected: 0xc74f20a3, found: 0xc74f20a4))
        #expect(keyError { () throws(NoteKeyError) in
            _ = try NoteSigner(parsing: "PRIVATE+KEY+PeterNeumann+c74f20a3+AoEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
        } == .unknownAlgorithm(0x02))
        #expect(keyError { () throws(NoteKeyError) in
            _ = try NoteSigner(parsing: "PRIVATE+KEYS+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
        } == .malformed)
        #expect(keyError { () throws(NoteKeyError) in
            _ = try NoteSigner(parsing: GoVectors.peterVerifier)
        } == .malformed)
    }

    @Test("Names must be non-empty without spaces or '+', as in Go")
    func names() throws {
        for bad in ["", "a b", "a+b", "a\tb", "a\u{00A0}b", "a\u{2003}b", "a\u{3000}b", "a\u{85}b", "a\nb"] {
            #expect(keyError { () throws(NoteKeyError) in _ = try NoteSigner.generate(name: bad) } == .invalidName, "\(bad.debugDescription)")
            #expect(keyError { () throws(NoteKeyError) in
                _ = try NoteVerifierKey(name: bad, publicKeyBytes: Array(repeating: 7, count: 32))
            } == .invalidName)
        }
        for good in ["example.com/log", "PeterNeumann", "ünïcødé", "a\u{200B}b"] {
            #expect(keyError { () throws(NoteKeyError) in _ = try NoteSigner.generate(name: good) } == nil)
        }
    }

    @Test("Generated keys round-trip through their encodings and sign notes that open")
    func generated() throws {
        let signer = try NoteSigner.generate(name: "tally.example/ledger")
        let parsed = try NoteSigner(parsing: signer.encoded)
        #expect(parsed.keyID == signer.keyID && parsed.encoded == signer.encoded)
        let verifier = try NoteVerifierKey(parsing: signer.verifierKey.encoded)
        #expect(verifier == signer.verifierKey)
        #expect(signer.encoded.hasPrefix("PRIVATE+KEY+tally.example/ledger+"))
        let note = try SignedNote.sign(text: "hello\n", signers: [parsed])
        #expect(try SignedNote.open(note, verifiers: NoteVerifiers([verifier])).verified.map(\.keyID) == [signer.keyID])
    }
}

import Crypto

/// First four bytes of SHA-256, for building key IDs by hand.
func sha256Prefix4(_ data: [UInt8]) throws -> [UInt8] {
    Array(SHA256.hash(data: data).prefix(4))
}
