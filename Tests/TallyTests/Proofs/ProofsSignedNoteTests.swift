import Foundation
@testable import Tally
import Testing

/// Test vectors from golang.org/x/mod/sumdb/note (note.go docs and note_test.go).
enum GoVectors {
    static let peterSigner = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
    static let peterVerifier = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    static let enochVerifier = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
    static let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    static let peterB64 = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
    static let enochB64 = "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ="
    static let peterSig = "— PeterNeumann \(peterB64)\n"
    static let enochSig = "— EnochRoot \(enochB64)\n"
    static let peter = NoteSignature(name: "PeterNeumann", keyID: 0xc74f20a3, base64: peterB64)
    static let enoch = NoteSignature(name: "EnochRoot", keyID: 0xaf0cfe78, base64: enochB64)

    /// Inserts "ABCD" at byte offset 60, as Go's tests do to corrupt a signature.
    static func corrupt(_ line: String) -> String {
        let bytes = Array(line.utf8)
        return String(decoding: bytes[..<60] + Array("ABCD".utf8) + bytes[60...], as: UTF8.self)
    }
}

func openError(_ message: [UInt8], _ verifiers: NoteVerifiers) -> SignedNoteError? {
    do {
        _ = try SignedNote.open(message, verifiers: verifiers)
        return nil
    } catch {
        return error
    }
}

func openError(_ message: String, _ verifiers: NoteVerifiers) -> SignedNoteError? {
    openError(Array(message.utf8), verifiers)
}

@Suite("Signed notes match Go's note package and refuse tampering with a specific error")
struct SignedNoteTests {
    let peterKey: NoteVerifierKey
    let enochKey: NoteVerifierKey

    init() throws {
        peterKey = try NoteVerifierKey(parsing: GoVectors.peterVerifier)
        enochKey = try NoteVerifierKey(parsing: GoVectors.enochVerifier)
    }

    @Test("Go's published key pair parses, re-encodes identically, and its signed example verifies")
    func goGolden() throws {
        let signer = try NoteSigner(parsing: GoVectors.peterSigner)
        #expect(signer.encoded == GoVectors.peterSigner)
        #expect(signer.keyID == 0xc74f20a3)
        #expect(signer.verifierKey == peterKey)
        #expect(peterKey.encoded == GoVectors.peterVerifier)
        let message = GoVectors.text + "\n" + GoVectors.peterSig
        let opened = try SignedNote.open(message, verifiers: NoteVerifiers([peterKey]))
        #expect(opened.text == GoVectors.text)
        #expect(opened.verified == [GoVectors.peter])
        #expect(opened.unverified.isEmpty)
        let signed = try SignedNote.sign(text: GoVectors.text, signers: [signer])
        #if canImport(CryptoKit)
        // Apple's CryptoKit randomizes Ed25519 signatures; check validity only.
        #expect(try SignedNote.open(signed, verifiers: NoteVerifiers([peterKey])).text == GoVectors.text)
        #else
        // BoringSSL's Ed25519 is deterministic (RFC 8032): byte-identical to Go.
        #expect(signed == message)
        #endif
    }

    @Test("Go's Open cases: one known, both known, none known, ambiguous, duplicates, too many")
    func goOpenCases() throws {
        let both = GoVectors.text + "\n" + GoVectors.peterSig + GoVectors.enochSig
        let one = try SignedNote.open(both, verifiers: NoteVerifiers([peterKey]))
        #expect(one.verified == [GoVectors.peter] && one.unverified == [GoVectors.enoch])
        let two = try SignedNote.open(both, verifiers: NoteVerifiers([peterKey, enochKey]))
        #expect(two.verified == [GoVectors.peter, GoVectors.enoch] && two.unverified.isEmpty)
        #expect(openError(both, NoteVerifiers([])) == .noVerifiedSignature(unverified: [GoVectors.peter, GoVectors.enoch]))

        let ambiguous = NoteVerifiers([enochKey, peterKey, enochKey])
        #expect(openError(GoVectors.text + "\n" + GoVectors.enochSig, ambiguous)
            == .ambiguousKey(name: "EnochRoot", keyID: 0xaf0cfe78))
        #expect(openError(GoVectors.text + "\n" + GoVectors.peterSig, ambiguous) == nil)

        let many = GoVectors.text + "\n" + String(repeating: GoVectors.peterSig, count: 101)
        #expect(openError(many, NoteVerifiers([peterKey])) == .tooManySignatures)
        #expect(openError(many, NoteVerifiers([])) == .tooManySignatures)
        let hundred = GoVectors.text + "\n" + String(repeating: GoVectors.peterSig, count: 100)
        #expect(openError(hundred, NoteVerifiers([peterKey])) == nil)

        // A repeated known key counts once and later lines are not checked;
        // identical unknown lines collapse, different ones do not.
        let enochABCD = GoVectors.corrupt(GoVectors.enochSig)
        let dupes = GoVectors.text + "\n" + GoVectors.peterSig + GoVectors.peterSig + GoVectors.enochSig
            + GoVectors.enochSig + enochABCD
        let opened = try SignedNote.open(dupes, verifiers: NoteVerifiers([peterKey]))
        #expect(opened.verified == [GoVectors.peter])
        #expect(opened.unverified.map(\.base64) == [GoVectors.enochB64, String(enochABCD.dropFirst(12).dropLast())])
        let laterBad = GoVectors.text + "\n" + GoVectors.peterSig + GoVectors.corrupt(GoVectors.peterSig)
        #expect(openError(laterBad, NoteVerifiers([peterKey])) == nil)
    }

    @Test("Tampered text, tampered signature, unknown key and renamed key are refused")
    func tampering() throws {
        let verifiers = NoteVerifiers([peterKey])
        let tamperedText = GoVectors.text.replacingOccurrences(of: "problem,", with: "problem!") + "\n" + GoVectors.peterSig
        #expect(openError(tamperedText, verifiers) == .invalidSignature(name: "PeterNeumann", keyID: 0xc74f20a3))
        #expect(openError(GoVectors.text + "\n" + GoVectors.corrupt(GoVectors.peterSig), verifiers)
            == .invalidSignature(name: "PeterNeumann", keyID: 0xc74f20a3))
        // Flip one bit of the Ed25519 signature, keeping the key ID.
        var raw = try #require(ByteEncoding.bytes(fromBase64: GoVectors.peterB64))
        raw[40] ^= 0x10
        let flipped = GoVectors.text + "\n— PeterNeumann \(ByteEncoding.base64(raw))\n"
        #expect(openError(flipped, verifiers) == .invalidSignature(name: "PeterNeumann", keyID: 0xc74f20a3))
        // A known key's bad signature sinks the note even next to a good one.
        #expect(openError(GoVectors.text + "\n" + GoVectors.enochSig + GoVectors.corrupt(GoVectors.peterSig),
                          NoteVerifiers([peterKey, enochKey])) == .invalidSignature(name: "PeterNeumann", keyID: 0xc74f20a3))

        // Signed by a key nobody trusts.
        let stranger = try NoteSigner.generate(name: "PeterNeumann")
        let strangerNote = try SignedNote.sign(text: GoVectors.text, signers: [stranger])
        let strangerB64 = try #require(strangerNote.split(separator: " ").last).dropLast()
        #expect(openError(strangerNote, verifiers) == .noVerifiedSignature(
            unverified: [NoteSignature(name: "PeterNeumann", keyID: stranger.keyID, base64: String(strangerB64))]))
        // Same key ID under another name, or the right name with another ID: unknown, ignored.
        let renamed = GoVectors.text + "\n— PeterNeuman \(GoVectors.peterB64)\n"
        #expect(openError(renamed, verifiers) == .noVerifiedSignature(
            unverified: [NoteSignature(name: "PeterNeuman", keyID: 0xc74f20a3, base64: GoVectors.peterB64)]))
        raw = try #require(ByteEncoding.bytes(fromBase64: GoVectors.peterB64))
        raw[3] ^= 0x01
        let otherID = GoVectors.text + "\n— PeterNeumann \(ByteEncoding.base64(raw))\n"
        if case .noVerifiedSignature(let unverified) = openError(otherID, verifiers) {
            #expect(unverified.map(\.keyID) == [0xc74f20a2])
        } else {
            Issue.record("a signature with an unknown key ID must be ignored, leaving no verified signature")
        }
    }

    @Test("Malformed notes name the rule they break")
    func malformed() throws {
        let v = NoteVerifiers([peterKey])
        let text = GoVectors.text
        let sig = GoVectors.peterSig
        let cases: [(String, MalformedNoteReason)] = [
            (text, .missingSignatureSeparator),
            (text + "\n", .noSignatureLines),
            (text + "\n" + sig.dropLast(), .missingFinalNewline),
            ("\u{01}" + text + "\n" + sig, .controlCharacter),
            (text.replacingOccurrences(of: "\n", with: "\r\n") + "\n" + sig, .controlCharacter),
            (text + "\n" + "— Bad Name \(GoVectors.peterB64)\n", .badSignatureEncoding),
            (text + "\n" + sig + "Unexpected line.\n", .badSignaturePrefix),
            (text + "\n" + "- PeterNeumann \(GoVectors.peterB64)\n", .badSignaturePrefix),
            (text + "\n" + "—PeterNeumann \(GoVectors.peterB64)\n", .badSignaturePrefix),
            (text + "\n" + "— Peter+Neumann \(GoVectors.peterB64)\n", .badKeyName),
            (text + "\n" + "—  \(GoVectors.peterB64)\n", .badKeyName),
            (text + "\n" + "— PeterNeumann\n", .badSignatureEncoding),
            (text + "\n" + "— PeterNeumann \(GoVectors.peterB64.dropLast())\n", .badSignatureEncoding),
            (text + "\n" + "— PeterNeumann AAAAAA==\n", .signatureTooShort),
        ]
        for (message, reason) in cases {
            #expect(openError(message, v) == .malformed(reason), "\(message.debugDescription)")
        }
        let invalidUTF8 = [UInt8(0xff)] + Array((text + "\n" + sig).utf8)
        #expect(openError(invalidUTF8, v) == .malformed(.invalidUTF8))
        #expect(openError(Array(repeating: UInt8(ascii: "a"), count: SignedNote.maxNoteBytes + 1), v)
            == .tooLarge(SignedNote.maxNoteBytes + 1))
        // Text may contain empty lines; the last empty line separates.
        let signer = try NoteSigner(parsing: GoVectors.peterSigner)
        let spaced = try SignedNote.sign(text: "a\n\nb\n\n", signers: [signer])
        #expect(try SignedNote.open(spaced, verifiers: v).text == "a\n\nb\n\n")
    }

    @Test("Signing refuses text that could not be opened")
    func signingRefusals() throws {
        let signer = try NoteSigner(parsing: GoVectors.peterSigner)
        #expect(throws: SignedNoteError.textMustEndWithNewline) { try SignedNote.sign(text: "abc", signers: [signer]) }
        #expect(throws: SignedNoteError.textMustEndWithNewline) { try SignedNote.sign(text: "", signers: [signer]) }
        #expect(throws: SignedNoteError.malformed(.controlCharacter)) { try SignedNote.sign(text: "a\tb\n", signers: [signer]) }
        #expect(throws: SignedNoteError.noSigners) { try SignedNote.sign(text: "abc\n", signers: []) }
    }
}
