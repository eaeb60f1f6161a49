/// The judgements both reconcilers make, written once so a mirror file and a snapshot
/// record are held to the same rules and described in the same words.
enum DocumentComparison {
    /// What the database is compared with; only the wording of the details depends on it.
    enum Side {
        case file, snapshot

        var noun: String { self == .file ? "the file" : "the snapshot" }
        var fix: String {
            self == .file
                ? "a repair of the mirror rewrites the file from the database"
                : "if the database is right, export a new snapshot"
        }
    }

    /// The finding for a document both sides have, or nil when they agree. `path` is where
    /// the other side's copy lives (a file, or `SNAPSHOT:LINE`).
    static func compare(_ database: StateDocument, with other: StateDocument, path: String, side: Side) -> Finding? {
        func finding(_ kind: Finding.Kind, _ detail: String) -> Finding {
            Finding(kind: kind, key: database.key, path: path, databaseVersion: database.version, fileVersion: other.version,
                    databaseChecksum: database.checksum, fileChecksum: other.checksum, detail: detail)
        }
        if other.version < database.version {
            let detail = side == .file
                ? "the file has version \(other.version) but the database has version \(database.version); \(side.fix)"
                : "the snapshot has version \(other.version) but the database has version \(database.version): the document "
                    + "changed after the snapshot was taken; export a new snapshot to capture it"
            return finding(.stale, detail)
        }
        if other.version > database.version {
            let detail = side == .file
                ? "the file has version \(other.version), ahead of the database's version \(database.version): it was not "
                    + "written from this database, or the database lost changes; find out which is right before repairing "
                    + "(repair rewrites the file from the database)"
                : "the snapshot has version \(other.version), ahead of the database's version \(database.version): the "
                    + "database lost changes since the snapshot, or the snapshot comes from another database; compare them "
                    + "before importing (a merge import takes the newer versions)"
            return finding(.mismatch, detail)
        }
        var differences: [String] = []
        if other.checksum != database.checksum {
            differences.append("the body differs (checksum \(database.checksum.prefix(12))… in the database, "
                + "\(other.checksum.prefix(12))… in \(side.noun))")
        }
        if other.status != database.status {
            differences.append("the status differs (\(quoted(database.status)) in the database, \(quoted(other.status)) in \(side.noun))")
        }
        if other.ledgerSeq != database.ledgerSeq {
            differences.append("ledger_seq differs (\(database.ledgerSeq.map(String.init) ?? "none") in the database, "
                + "\(other.ledgerSeq.map(String.init) ?? "none") in \(side.noun))")
        }
        if other.updatedAt != database.updatedAt {
            differences.append("updated_at differs (\(database.updatedAt) in the database, \(other.updatedAt) in \(side.noun))")
        }
        guard !differences.isEmpty else { return nil }
        return finding(.mismatch, "both are at version \(database.version) but \(differences.joined(separator: ", ")): "
            + "one copy was edited outside Tally; \(side.fix)")
    }

    /// A row of `state`, verified.
    enum StoredRow {
        case document(StateDocument)
        /// The body does not hash to `checksum`; `actual` is what it hashes to (or why it cannot).
        case corrupt(key: String, version: Int64, checksum: String, actual: String)
    }

    /// Reads the current row of a statement selecting ``StateTable/columns``, verifying
    /// its checksum; a corrupt row is a value to report, not an error to stop at.
    static func storedRow(_ row: Statement) -> StoredRow {
        classify(row, reading: { (row) throws(TallyError) in try StateTable.document(from: row) }, as: StoredRow.document,
                 corrupt: StoredRow.corrupt)
    }

    /// Reads `row` with `read` and wraps the result with `verified`; a row that fails to
    /// verify becomes `corrupt` with its key, version and stored checksum, and what its body
    /// hashes to or why it cannot be read.
    private static func classify<Value, Result>(
        _ row: Statement, reading read: (Statement) throws(TallyError) -> Value, as verified: (Value) -> Result,
        corrupt: (_ key: String, _ version: Int64, _ checksum: String, _ actual: String) -> Result
    ) -> Result {
        do {
            return verified(try read(row))
        } catch let TallyError.corruptState(key, expected, actual) {
            return corrupt(key, row.int64(1), expected, actual)
        } catch {
            return corrupt(row.string(0), row.int64(1), row.string(4), "(unreadable: \(error))")
        }
    }

    /// A row of `state`, verified, its body kept as the canonical bytes (see
    /// ``StateTable/canonicalRow(from:)``): what a mirror file is rendered from.
    enum CanonicalStoredRow {
        case canonical(StateTable.CanonicalRow)
        /// The body does not hash to `checksum`; `actual` is what it hashes to (or why it cannot).
        case corrupt(key: String, version: Int64, checksum: String, actual: String)

        var key: String {
            switch self {
            case let .canonical(row): row.row.key
            case let .corrupt(key, _, _, _): key
            }
        }
        var version: Int64 {
            switch self {
            case let .canonical(row): row.row.version
            case let .corrupt(_, version, _, _): version
            }
        }
        var checksum: String {
            switch self {
            case let .canonical(row): row.row.checksum
            case let .corrupt(_, _, checksum, _): checksum
            }
        }
    }

    /// Reads the current row of a statement selecting ``StateTable/columns`` as
    /// ``storedRow(_:)`` does, without parsing its body.
    static func canonicalRow(_ row: Statement) -> CanonicalStoredRow {
        classify(row, reading: StateTable.canonicalRow(from:), as: CanonicalStoredRow.canonical, corrupt: CanonicalStoredRow.corrupt)
    }

    /// The finding for a database row whose body no longer matches its checksum: its copy
    /// elsewhere cannot be judged, and must not be overwritten from it.
    static func databaseCorrupt(key: String, version: Int64, checksum: String, actual: String) -> Finding {
        Finding(kind: .corrupt, key: key, path: nil, databaseVersion: version, databaseChecksum: checksum,
                detail: "the database's copy is corrupt: its body hashes to \(actual) but the stored checksum is "
                    + "\(checksum); it was not compared or repaired. Run `tally verify`, then restore the database "
                    + "from a backup or snapshot")
    }

    /// Runs every rule on `document`; a rule that throws is reported, not propagated.
    static func runRules(_ rules: [any DomainRule], on document: StateDocument, ledger: Ledger) -> [Finding] {
        var findings: [Finding] = []
        for rule in rules {
            let problems: [String]
            do {
                problems = try rule.check(document, ledger: ledger)
            } catch {
                problems = ["could not check '\(document.key)': \(error)"]
            }
            for problem in problems {
                findings.append(Finding(kind: .rule, key: document.key, path: nil, databaseVersion: document.version,
                                        databaseChecksum: document.checksum, detail: "\(rule.name): \(problem)"))
            }
        }
        return findings
    }

    /// The version and checksum a damaged copy still states, for the finding's columns.
    static func salvage(_ value: JSONValue?) -> (version: Int64?, checksum: String?) {
        guard case let .object(members)? = value else { return (nil, nil) }
        var version: Int64?
        if case let .number(number)? = members["version"], number == number.rounded(), abs(number) < 9e15 {
            version = Int64(number)
        }
        var checksum: String?
        if case let .string(text)? = members["checksum"] { checksum = text }
        return (version, checksum)
    }

    private static func quoted(_ status: String?) -> String {
        status.map { "'\($0)'" } ?? "no status"
    }
}
