import Foundation
import Testing

/// The README's walk-through: keygen → checkpoint sign → publish → prove → verify-proof
/// without the database → verify --checkpoint later.
@Suite("CLI proofs: keygen, sign, prove and check without the database")
struct CLIProofTests {
    let scratch = Scratch()

    private func appendEvents(_ count: Int) throws {
        for index in 0..<count {
            expectSuccess(try CLI.run(["--quiet", "append", "--stream", "s/\(index % 3)", "--kind", "charge", "--amount", "1.00", "--currency", "EUR"],
                                      database: scratch.database))
        }
    }

    @Test("the walk-through: keys, a published checkpoint, an inclusion proof checked elsewhere, a consistency proof, verify --checkpoint")
    func walkThrough() throws {
        expectSuccess(try CLI.run(["init"], database: scratch.database))
        try appendEvents(12)
        let key = scratch.file("keys/tally.key")
        expectSuccess(try CLI.run(["keygen", key], database: scratch.database))
        let attributes = try FileManager.default.attributesOfItem(atPath: key)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try String(contentsOfFile: key + ".pub", encoding: .utf8).hasPrefix("tally/"))
        expectError(try CLI.run(["keygen", key], database: scratch.database), exit: 2, mentions: ["already exists"])

        let published = scratch.file("published/cp-12.txt")
        let signed = expectSuccess(try CLI.run(["checkpoint", "sign", "--key", key, "--output", published], database: scratch.database))
        #expect(signed.split(separator: "\n").prefix(2).last == "12")
        #expect(try String(contentsOfFile: published, encoding: .utf8) == signed)

        let proofPath = scratch.file("proof-5.json")
        let proof = expectSuccess(try CLI.run(["prove", "--seq", "5", "--json"], database: scratch.database))
        try Data(proof.utf8).write(to: URL(fileURLWithPath: proofPath))
        let proofObject = try jsonObject(proof)
        #expect(proofObject["leaf_index"] as? Int == 4 && proofObject["tree_size"] as? Int == 12)
        #expect((proofObject["audit_path"] as? [String])?.count == 4)

        // Checked elsewhere: no --db, no database file at all.
        let elsewhere = try CLI.run(["verify-proof", proofPath, "--checkpoint", published, "--public-key", key + ".pub"],
                                    database: scratch.file("does-not-exist.db"))
        #expect(elsewhere.status == 0, "\(elsewhere)")
        #expect(elsewhere.stdout.contains("signature verified"))
        let unsigned = try CLI.run(["verify-proof", proofPath, "--checkpoint", published])
        #expect(unsigned.status == 0 && unsigned.stdout.contains("NOT checked"), "\(unsigned)")

        // A tampered proof: exit 3 with the reason.
        let tampered = proof.replacingOccurrences(of: "\"amount\":100", with: "\"amount\":10000")
        try Data(tampered.utf8).write(to: URL(fileURLWithPath: scratch.file("tampered.json")))
        expectError(try CLI.run(["verify-proof", scratch.file("tampered.json"), "--checkpoint", published, "--public-key", key + ".pub"]),
                    exit: 3, mentions: ["proof rejected"])

        // More events, a second checkpoint, and a consistency proof between the two.
        try appendEvents(9)
        let second = scratch.file("published/cp-21.txt")
        expectSuccess(try CLI.run(["checkpoint", "sign", "--key", key, "--output", second], database: scratch.database))
        let consistency = scratch.file("consistency.json")
        try Data(expectSuccess(try CLI.run(["prove", "--consistency", "12", "21", "--json"], database: scratch.database)).utf8)
            .write(to: URL(fileURLWithPath: consistency))
        expectSuccess(try CLI.run(["verify-proof", consistency, "--checkpoint", published, "--checkpoint", second, "--public-key", key + ".pub"]))
        let listed = try jsonObject(expectSuccess(try CLI.run(["checkpoint", "list", "--json"], database: scratch.database)))
        #expect((listed["checkpoints"] as? [[String: Any]])?.map { $0["size"] as? Int } == [12, 21])

        // Later: the database still holds what was published.
        let verified = try jsonObject(expectSuccess(try CLI.run(["verify", "--checkpoint", published, "--public-key", key + ".pub", "--json"],
                                                                database: scratch.database)))
        #expect(verified["checkpoints_checked"] as? Int == 3)
        expectError(try CLI.run(["verify", "--checkpoint", published], database: scratch.database), exit: 2, mentions: ["--public-key"])
        expectError(try CLI.run(["prove", "--seq", "99"], database: scratch.database), exit: 2, mentions: ["99"])
    }
}
