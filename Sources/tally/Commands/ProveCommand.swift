import ArgumentParser
import Tally

/// `tally prove`: Merkle inclusion and consistency proofs, to check without the database.
struct ProveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove",
        abstract: "Print a Merkle proof: that event --seq is in the ledger, or (--consistency OLD NEW) that a later tree extends an earlier one.",
        discussion: """
            An inclusion proof is for the tree of --size events (default: the latest signed checkpoint's size), so it \\
            can be checked against that checkpoint with `tally verify-proof PROOF --checkpoint FILE`, anywhere, \\
            without the database. Save it with --json.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(parsing: .unconditional, help: "The event to prove.")
    var seq: Int64?

    @Option(parsing: .unconditional, help: "The tree size to prove it in (default: the latest checkpoint's size).")
    var size: Int64?

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Prove that the tree of NEW events extends the tree of OLD.", valueName: "old new"))
    var consistency: [Int64] = []

    func validate() throws {
        guard (seq != nil) != !consistency.isEmpty else {
            throw ValidationError("give --seq N (inclusion) or --consistency OLD NEW, not both")
        }
        if !consistency.isEmpty && consistency.count != 2 { throw ValidationError("--consistency takes two sizes, OLD and NEW") }
        if !consistency.isEmpty && size != nil { throw ValidationError("--size goes with --seq; --consistency names both sizes") }
    }

    func run() throws {
        let store = try global.openStoreForReading()
        if let seq {
            let treeSize: Int64
            if let size {
                treeSize = size
            } else if let latest = try store.checkpoints().last {
                treeSize = latest.size
            } else {
                throw TallyError.invalidInput(field: "--size", reason: "there is no signed checkpoint to prove against; sign one (`tally checkpoint sign --key KEY`) or pass --size")
            }
            let proof = try store.inclusionProof(seq: seq, treeSize: treeSize)
            if global.json {
                try Console.out.json(proof)
            } else if !global.quiet {
                try Console.out.line("event seq \(seq) is leaf \(proof.leafIndex) of the tree of \(proof.treeSize) events")
                try Console.out.line("  root       \(proof.root)")
                try Console.out.line("  leaf hash  \(proof.leafHash)")
                for (index, hash) in proof.auditPath.enumerated() { try Console.out.line("  path[\(index)]  \(hash)") }
                try Console.out.line("save it with --json and check it with `tally verify-proof PROOF --checkpoint FILE`")
            }
        } else {
            let proof = try store.consistencyProof(from: consistency[0], to: consistency[1])
            if global.json {
                try Console.out.json(proof)
            } else if !global.quiet {
                try Console.out.line("the tree of \(proof.newSize) events extends the tree of \(proof.oldSize)")
                try Console.out.line("  old root  \(proof.oldRoot)")
                try Console.out.line("  new root  \(proof.newRoot)")
                for (index, hash) in proof.path.enumerated() { try Console.out.line("  path[\(index)]  \(hash)") }
            }
        }
    }
}

/// `tally verify-proof PROOF --checkpoint FILE`: checks a proof without any database.
struct VerifyProofCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-proof",
        abstract: "Check a proof from `tally prove --json` against signed checkpoints; needs no database.",
        discussion: """
            An inclusion proof needs the checkpoint of its tree size; a consistency proof needs two, the older and the \\
            newer. With --public-key the checkpoints' signatures are verified too (do so unless you already trust the \\
            files). Exit status: 0 the proof holds, 3 it does not, 2 bad input.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The proof file (JSON from `tally prove --json`), or - for standard input.", valueName: "proof"),
              completion: .file(extensions: ["json"]))
    var proof: String

    @Option(help: ArgumentHelp("A signed checkpoint file (repeat for a consistency proof: older and newer).", valueName: "path"), completion: .file())
    var checkpoint: [String] = []

    @Option(name: .customLong("public-key"), help: ArgumentHelp("The ledger's public key (KEY.pub) to verify the checkpoints' signatures.", valueName: "path"), completion: .file())
    var publicKey: String?

    func validate() throws {
        if checkpoint.isEmpty { throw ValidationError("--checkpoint FILE is required: a proof is checked against a signed checkpoint") }
    }

    func run() throws {
        let proofJSON = try Input.json(proof == "-" ? "-" : "@" + proof, field: "proof")
        let key = try publicKey.map { String(decoding: try Input.readNamedFile($0, field: "--public-key"), as: UTF8.self) }
        let checkpoints = try checkpoint.map { path -> Checkpoint in
            let note = String(decoding: try Input.readNamedFile(path, field: "--checkpoint"), as: UTF8.self)
            return try key.map { try Checkpoint(signedNote: note, publicKey: $0) } ?? (try Checkpoint(unverifiedNote: note))
        }
        let signature = key == nil ? "signature NOT checked (no --public-key)" : "signature verified"
        if proofJSON["leaf_index"] != nil {
            let inclusion = try proofJSON.decode(InclusionProof.self)
            guard let match = checkpoints.first(where: { $0.size == inclusion.treeSize }) ?? checkpoints.first else { return }
            try inclusion.verify(against: match)
            try report(["holds": .bool(true), "kind": "inclusion", "seq": .number(Double(inclusion.event.seq)),
                        "tree_size": .number(Double(match.size)), "signature_verified": .bool(key != nil)],
                       text: "proof holds: event seq \(inclusion.event.seq) is in \(match.origin) at size \(match.size) (\(signature))")
        } else if proofJSON["old_size"] != nil {
            let consistency = try proofJSON.decode(ConsistencyProof.self)
            guard let old = checkpoints.first(where: { $0.size == consistency.oldSize }),
                  let new = checkpoints.first(where: { $0.size == consistency.newSize }) else {
                throw TallyError.invalidInput(field: "--checkpoint", reason: "a consistency proof from \(consistency.oldSize) to \(consistency.newSize) needs the checkpoints of both sizes; got sizes \(checkpoints.map(\.size))")
            }
            try consistency.verify(from: old, to: new)
            try report(["holds": .bool(true), "kind": "consistency", "old_size": .number(Double(old.size)),
                        "new_size": .number(Double(new.size)), "signature_verified": .bool(key != nil)],
                       text: "proof holds: \(new.origin) at size \(new.size) extends size \(old.size) (\(signature))")
        } else {
            throw TallyError.invalidInput(field: "proof", reason: "\(proof) is neither an inclusion proof (leaf_index…) nor a consistency proof (old_size…) from `tally prove --json`")
        }
    }

    private func report(_ json: JSONValue, text: String) throws {
        if global.json {
            try Console.out.line(json.description)
        } else if !global.quiet {
            try Console.out.line(text)
        }
    }
}
