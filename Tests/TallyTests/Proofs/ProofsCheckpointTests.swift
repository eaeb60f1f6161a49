import Foundation
@testable import Tally
import Testing

func checkpointError(_ body: () throws(CheckpointError) -> Void) -> CheckpointError? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}

@Suite("Checkpoints serialize per c2sp.org/tlog-checkpoint and parse strictly")
struct CheckpointTests {
    /// The example body from c2sp.org/tlog-checkpoint.
    static let specBody = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

    @Test("The spec's example body parses and re-serializes byte for byte")
    func specExample() throws {
        let checkpoint = try CheckpointNote(parsingBody: Self.specBody)
        #expect(checkpoint.origin == "example.com/behind-the-sofa")
        #expect(checkpoint.size == 20_852_163)
        #expect(checkpoint.root.base64 == "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
        #expect(checkpoint.extensions.isEmpty)
        #expect(checkpoint.body == Self.specBody)
        let extended = try CheckpointNote(parsingBody: Self.specBody + "ext one\nx\n")
        #expect(extended.extensions == ["ext one", "x"])
        #expect(extended.body == Self.specBody + "ext one\nx\n")
        #expect(try CheckpointNote(parsingBody: "o\n0\n\(MerkleHash.emptyTree.base64)\n").size == 0)
        #expect(try CheckpointNote(parsingBody: "o\n9223372036854775807\n\(MerkleHash.emptyTree.base64)\n").size == Int64.max)
    }

    @Test("Malformed bodies are refused with the broken rule")
    func strictParsing() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
        let cases: [(String, CheckpointError)] = [
            ("o\n5\n\(root)", .missingFinalNewline),
            ("o\n5\n", .tooFewLines),
            ("o\n5\n\(root)\n\n", .emptyLine(4)),
            ("o\n\n5\n\(root)\n", .emptyLine(2)),
            ("\no\n5\n\(root)\n", .emptyLine(1)),
            ("o\n5\n\(root)\next\n\n", .emptyLine(5)),
            ("o\r\n5\r\n\(root)\r\n", .controlCharacter),
            ("o\n5\n\(root)\n\u{7}bell\n", .controlCharacter),
            ("o\n05\n\(root)\n", .invalidSize("05")),
            ("o\n00\n\(root)\n", .invalidSize("00")),
            ("o\n+5\n\(root)\n", .invalidSize("+5")),
            ("o\n-5\n\(root)\n", .invalidSize("-5")),
            ("o\n 5\n\(root)\n", .invalidSize(" 5")),
            ("o\n5 \n\(root)\n", .invalidSize("5 ")),
            ("o\n0x5\n\(root)\n", .invalidSize("0x5")),
            ("o\n٥\n\(root)\n", .invalidSize("٥")),
            ("o\n9223372036854775808\n\(root)\n", .invalidSize("9223372036854775808")),
            ("o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n", .invalidRootHash), // non-canonical bits
            ("o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n", .invalidRootHash), // no padding
            ("o\n5\nYmFuYW5hcw==\n", .invalidRootHash), // 7 bytes
            ("o\n5\n\(ByteEncoding.hex(Array(repeating: 0, count: 32)))\n", .invalidRootHash),
            ("with space\n5\n\(root)\n", .invalidOrigin),
            ("a+b\n5\n\(root)\n", .invalidOrigin),
            ("a\u{00A0}b\n5\n\(root)\n", .invalidOrigin),
        ]
        for (body, error) in cases {
            #expect(checkpointError { () throws(CheckpointError) in _ = try CheckpointNote(parsingBody: body) } == error,
                    "\(body.debugDescription)")
        }
    }

    @Test("The initializer refuses what the parser would refuse")
    func initializer() {
        let root = MerkleHash.emptyTree
        #expect(checkpointError { () throws(CheckpointError) in _ = try CheckpointNote(origin: "", size: 0, root: root) } == .invalidOrigin)
        #expect(checkpointError { () throws(CheckpointError) in _ = try CheckpointNote(origin: "o", size: -1, root: root) } == .invalidSize("-1"))
        #expect(checkpointError { () throws(CheckpointError) in
            _ = try CheckpointNote(origin: "o", size: 1, root: root, extensions: [""])
        } == .emptyLine(4))
        #expect(checkpointError { () throws(CheckpointError) in
            _ = try CheckpointNote(origin: "o", size: 1, root: root, extensions: ["a\nb"])
        } == .invalidExtension)
    }

    @Test("Sign then verify round-trips; tampering, strangers and foreign key names are refused")
    func signedRoundTrip() throws {
        let signer = try NoteSigner.generate(name: "tally.example/ledger")
        let verifiers = NoteVerifiers([signer.verifierKey])
        let root = try Hash32(hex: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
        let checkpoint = try CheckpointNote(origin: "tally.example/ledger", size: 8, root: root)
        let note = try checkpoint.signedNote(signer: signer)
        #expect(note.hasPrefix(checkpoint.body + "\n— tally.example/ledger "))
        #expect(try CheckpointNote.verify(note: note, verifiers: verifiers) == checkpoint)

        let grown = note.replacingOccurrences(of: "\n8\n", with: "\n9\n")
        #expect(checkpointError { () throws(CheckpointError) in _ = try CheckpointNote.verify(note: grown, verifiers: verifiers) }
            == .note(.invalidSignature(name: signer.name, keyID: signer.keyID)))
        let stranger = try NoteSigner.generate(name: "tally.example/ledger")
        let forged = try checkpoint.signedNote(signer: stranger)
        if case .note(.noVerifiedSignature) = checkpointError({ () throws(CheckpointError) in
            _ = try CheckpointNote.verify(note: forged, verifiers: verifiers)
        }) {} else {
            Issue.record("a checkpoint signed only by an unknown key must be refused")
        }
        // Signed only by a trusted key of another name (say, a witness).
        let witness = try NoteSigner.generate(name: "witness.example")
        let witnessed = try checkpoint.signedNote(signer: witness)
        let both = NoteVerifiers([signer.verifierKey, witness.verifierKey])
        #expect(checkpointError { () throws(CheckpointError) in _ = try CheckpointNote.verify(note: witnessed, verifiers: both) }
            == .noSignatureFromOrigin)
        #expect(try CheckpointNote.verify(note: witnessed, verifiers: both, requireOriginSignature: false) == checkpoint)
        let cosigned = try checkpoint.signedNote(signer: signer, cosigners: [witness])
        #expect(try CheckpointNote.verify(note: cosigned, verifiers: both) == checkpoint)
        // A validly signed note whose text is not a checkpoint.
        let notCheckpoint = try SignedNote.sign(text: "tally.example/ledger\n08\n\(root.base64)\n", signers: [signer])
        #expect(checkpointError { () throws(CheckpointError) in _ = try CheckpointNote.verify(note: notCheckpoint, verifiers: verifiers) }
            == .invalidSize("08"))
    }
}
