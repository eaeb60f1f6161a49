import Crypto
import Foundation

/// What a mirror run did.
public struct MirrorReport: Sendable, Codable, Equatable {
    /// The mirror directory.
    public var directory: String
    /// Documents in the database (and so files in the mirror).
    public var documents: Int64 = 0
    /// Files written because they were missing or different.
    public var written: Int64 = 0
    /// Files already identical, left alone.
    public var unchanged: Int64 = 0
    /// Files removed because their document no longer exists.
    public var removed: Int64 = 0
    /// The ledger head the mirror is consistent with.
    public var ledgerHeadSeq: Int64 = 0

    enum CodingKeys: String, CodingKey {
        case directory, documents, written, unchanged, removed
        case ledgerHeadSeq = "ledger_head_seq"
    }
}

/// The mirror's `MANIFEST.json`: what the directory held when it was last mirrored in full.
public struct MirrorManifest: Sendable, Codable, Equatable {
    /// Always "tally-mirror".
    public var format = "tally-mirror"
    /// Manifest format version.
    public var version = 1
    /// When the mirror was written.
    public var generatedAt: String
    /// The ledger head the mirror is consistent with.
    public var ledgerHeadSeq: Int64
    /// That event's hash.
    public var ledgerHeadHash: String
    /// Number of document files.
    public var documents: Int64
    /// SHA-256 of the lines "key\tversion\tchecksum\n" of every document, in key order:
    /// recompute it from the database to prove the mirror's content list.
    public var entriesSHA256: String

    enum CodingKeys: String, CodingKey {
        case format, version, documents
        case generatedAt = "generated_at", ledgerHeadSeq = "ledger_head_seq", ledgerHeadHash = "ledger_head_hash"
        case entriesSHA256 = "entries_sha256"
    }
}

extension Store {
    /// Writes every state document to `directory/<key>.json` (atomically, only the files
    /// that are missing or different), removes the files of documents that no longer
    /// exist, and writes `MANIFEST.json`. The database is the source of truth; the whole
    /// run reads one consistent snapshot of it.
    ///
    /// - Throws: ``TallyError/io(step:path:errno:)`` for file errors,
    ///   ``TallyError/invalidKey(key:reason:)`` for a key that cannot be a file (the
    ///   top-level key `MANIFEST` collides with the manifest), and corruption errors.
    @discardableResult
    public func mirror(to directory: String, progress: (@Sendable (Progress) -> Void)? = nil) throws(TallyError) -> MirrorReport {
        try readTyped { db in
            var report = MirrorReport(directory: directory)
            let head = try LedgerTable.head(on: db)
            report.ledgerHeadSeq = head.seq
            let total = try db.scalarInt("SELECT count(*) FROM state") ?? 0
            var entries = SHA256()
            let statement = try db.prepare("SELECT \(StateTable.columns) FROM state ORDER BY key")
            while try statement.step() {
                let document = try StateTable.document(from: statement)
                if try Self.mirrorFile(document, in: directory) { report.written += 1 } else { report.unchanged += 1 }
                entries.update(data: Array("\(document.key)\t\(document.version)\t\(document.checksum)\n".utf8))
                report.documents += 1
                if report.documents % 1000 == 0 { progress?(Progress(phase: "files", done: report.documents, total: total)) }
            }
            report.removed = try Self.removeStaleFiles(in: directory) { key in
                try StateTable.currentVersion(key, on: db) > 0
            }
            let manifest = MirrorManifest(generatedAt: Timestamp.now(), ledgerHeadSeq: head.seq, ledgerHeadHash: head.hash,
                                          documents: report.documents, entriesSHA256: Digest.hex(entries.finalize()))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try AtomicFile.write(Array(try encoder.encode(manifest)) + [UInt8(ascii: "\n")],
                                 to: (directory as NSString).appendingPathComponent(MirrorFile.manifestName), permissions: 0o644)
            progress?(Progress(phase: "files", done: report.documents, total: total))
            return report
        }
    }

    /// Writes one document's file unless it already holds exactly these bytes. Returns true
    /// when it wrote.
    static func mirrorFile(_ document: StateDocument, in directory: String) throws -> Bool {
        if document.key == "MANIFEST" {
            throw TallyError.invalidKey(key: document.key, reason: "the top-level key MANIFEST would overwrite the mirror's MANIFEST.json; rename it")
        }
        let path = try SafePath.path(forKey: document.key, under: directory, suffix: MirrorFile.suffix)
        let bytes = MirrorFile.render(document)
        // Same size first, then one memcmp: re-mirroring an unchanged tree reads every file.
        if let existing = FileManager.default.contents(atPath: path), existing.count == bytes.count,
           existing == Data(bytes) {
            return false
        }
        try AtomicFile.write(bytes, to: path, permissions: 0o600)
        return true
    }

    /// Removes document files whose key `exists` says is gone. Only files that parse as a
    /// mirror file of the key their path stands for are removed: never anything Tally did
    /// not write.
    static func removeStaleFiles(in directory: String, exists: (String) throws -> Bool) throws -> Int64 {
        var removed: Int64 = 0
        for relative in DirectoryWalker(root: directory) {
            guard let key = MirrorFile.key(forRelativePath: relative), try !exists(key) else { continue }
            let path = (directory as NSString).appendingPathComponent(relative)
            guard let bytes = FileManager.default.contents(atPath: path),
                  case .success = MirrorFile.parse(bytes, expectedKey: key) else { continue }
            if try AtomicFile.remove(path) { removed += 1 }
        }
        return removed
    }

    /// Brings the mirror files of `keys` up to date after a commit (write-through). The
    /// database already holds the truth, so a failure here is logged, not thrown: run
    /// `tally mirror` or `tally reconcile --repair` to catch up.
    func writeThrough(_ keys: Set<String>) {
        guard let directory = configuration.mirrorDirectory, !keys.isEmpty else { return }
        do {
            try readTyped { db in
                for key in keys.sorted() {
                    if let document = try StateTable.document(key, on: db) {
                        _ = try Self.mirrorFile(document, in: directory)
                    } else {
                        let path = try SafePath.path(forKey: key, under: directory, suffix: MirrorFile.suffix)
                        _ = try AtomicFile.remove(path)
                    }
                }
            }
        } catch {
            configuration.logger.warning("mirror write-through failed; the database is up to date, the mirror is not",
                                         metadata: ["directory": "\(directory)", "error": "\(error)"])
        }
    }
}
