/// All the SQL behind the state documents, on a connection the caller holds (inside a write
/// transaction for writes). ``StateStore`` is a thin front to it.
enum StateTable {
    static let columns = "key, version, status, body, checksum, updated_at, ledger_seq"

    private static let documentSQL = InternalSQL("SELECT \(columns) FROM state WHERE key = ?")
    private static let insertSQL = InternalSQL(
        "INSERT INTO state (key, version, status, body, checksum, updated_at, ledger_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
    private static let updateSQL = InternalSQL(
        "UPDATE state SET version = ?2, status = ?3, body = ?4, checksum = ?5, updated_at = ?6, ledger_seq = ?7 WHERE key = ?1")
    private static let deleteSQL = InternalSQL("DELETE FROM state WHERE key = ?")
    private static let versionSQL = InternalSQL("SELECT version FROM state WHERE key = ?")
    private static let pristineSQL = InternalSQL(
        "SELECT NOT EXISTS (SELECT 1 FROM state) AND NOT EXISTS (SELECT 1 FROM state_history)",
        postgres: "SELECT (NOT EXISTS (SELECT 1 FROM state) AND NOT EXISTS (SELECT 1 FROM state_history))::int")
    private static let lastHistoryVersionSQL = InternalSQL("SELECT coalesce(max(version), 0) FROM state_history WHERE key = ?")
    private static let listSQL = InternalSQL("""
        SELECT \(columns) FROM state
         WHERE key >= ?1 AND key < ?2 AND (?3 IS NULL OR status = ?3) AND (?4 IS NULL OR key > ?4)
         ORDER BY key LIMIT ?5
        """, postgres: """
        SELECT \(columns) FROM state
         WHERE key >= $1::text AND key < $2::text AND ($3::text IS NULL OR status = $3::text)
           AND ($4::text IS NULL OR key > $4::text)
         ORDER BY key LIMIT $5
        """)
    private static let historySQL = InternalSQL("""
        SELECT key, version, status, body, checksum, updated_at, ledger_seq, deleted
          FROM state_history WHERE key = ? AND version > ? ORDER BY version LIMIT ?
        """)
    private static let countSQL = InternalSQL("SELECT count(*) FROM state WHERE (?1 IS NULL OR status = ?1)",
                                              postgres: "SELECT count(*) FROM state WHERE ($1::text IS NULL OR status = $1::text)")
    private static let lookSQL = InternalSQL(
        "SELECT key, version, status, checksum, updated_at, ledger_seq FROM state WHERE key = ?1 COLLATE NOCASE",
        postgres: """
        SELECT key, version, status, checksum, updated_at, ledger_seq FROM state WHERE lower(key) = lower($1::text)
        """)
    /// How many keys that differ only in case a write or an import reports.
    static let caseCollisionsReported = 10
    private static let caseCollisionsSQL = InternalSQL(
        "SELECT key FROM state WHERE key = ?1 COLLATE NOCASE AND key <> ?1 ORDER BY key LIMIT \(caseCollisionsReported)",
        postgres: """
        SELECT key FROM state WHERE lower(key) = lower($1::text) AND key <> $1::text ORDER BY key LIMIT \(caseCollisionsReported)
        """)

    /// A write to apply to one key.
    struct Write {
        var key: String
        /// New body; nil keeps the current one (update only).
        var body: JSONValue?
        var status: StateStore.StatusUpdate
        var expectedVersion: Int64?
        var causedBy: Int64?
        /// True for `update`: the key must exist.
        var mustExist: Bool
        /// The largest canonical body accepted.
        var maximumBytes: Int = 8 << 20
    }

    static func checkStatus(_ status: String?) throws(TallyError) {
        if let status { try EventValidation.checkText(status, field: "status", maximumBytes: 64) }
    }

    private static let lockKeySQL = InternalSQL(
        "SELECT 1", postgres: "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ' tally state ' || $1::text, 0))")

    /// PostgreSQL: takes a transaction-level advisory lock on `key` before its current version
    /// is read, so two processes writing one document take turns (the second reads the
    /// first's version) instead of both building on the same one. SQLite's write transaction
    /// is exclusive from its start, so there is nothing to do there.
    static func lockKey(_ key: String, on db: Connection) throws(TallyError) {
        guard db.dialect == .postgres else { return }
        let statement = try db.statement(lockKeySQL)
        defer { statement.reset() }
        try statement.bind(key, at: 1)
        _ = try statement.step()
    }

    /// What a write needs of the key's current row: everything but the body, which a write
    /// that brings its own body never parses.
    struct Current {
        var version: Int64
        var status: String?
        var checksum: String
        var updatedAt: String
        var ledgerSeq: Int64?
    }

    /// The key's current row (without its body) and the other keys equal to it but for
    /// letter case, in one statement through the case-insensitive key index: the exact key
    /// is one of the keys it finds.
    static func look(_ key: String, on db: Connection) throws(TallyError) -> (current: Current?, caseCollisions: [String]) {
        let statement = try db.statement(lookSQL)
        defer { statement.reset() }
        try statement.bind(key, at: 1)
        var current: Current?
        var collisions: [String] = []
        while try statement.step() {
            let found = statement.string(0)
            if found == key {
                current = Current(version: statement.int64(1), status: statement.optionalString(2), checksum: statement.string(3),
                                  updatedAt: statement.string(4), ledgerSeq: statement.optionalInt64(5))
            } else {
                collisions.append(found)
            }
        }
        collisions.sort()
        return (current, Array(collisions.prefix(caseCollisionsReported)))
    }

    /// Applies `write`: the new version of the document, or the current one unchanged (and
    /// `written` false) when the body and status equal the current ones and no new cause is
    /// given: writing the same content again records nothing. Also returns the keys that
    /// differ from this one only in letter case.
    static func apply(_ write: Write, on db: Connection) throws(TallyError) -> (document: StateDocument, written: Bool, caseCollisions: [String]) {
        try SafePath.validateKey(write.key)
        if case let .set(status) = write.status { try checkStatus(status) }
        if let expected = write.expectedVersion, expected < 0 {
            throw TallyError.invalidInput(field: "expected version", reason: "\(expected) is negative; use 0 for a document that must not exist yet")
        }
        try lockKey(write.key, on: db)
        let (current, collisions) = try look(write.key, on: db)
        let currentVersion = current?.version ?? 0
        if let expected = write.expectedVersion, expected != currentVersion {
            throw TallyError.conflict(subject: write.key, expected: expected, actual: currentVersion)
        }
        if write.mustExist && current == nil {
            throw TallyError.notFound(key: write.key)
        }
        let body: JSONValue
        if let given = write.body {
            body = given
        } else if current != nil, let stored = try document(write.key, on: db, verify: true) {
            // An update that keeps the body: the stored one, checked against its checksum.
            body = stored.body
        } else {
            throw TallyError.invalidInput(field: "body", reason: "a new document needs a body")
        }
        let canonical: [UInt8]
        do {
            canonical = try CanonicalJSON.bytes(body)
        } catch {
            throw TallyError.invalidInput(field: "body of '\(write.key)'", reason: error.description)
        }
        guard canonical.count <= write.maximumBytes else {
            throw TallyError.invalidInput(field: "body of '\(write.key)'",
                                          reason: "it is \(canonical.count) bytes of canonical JSON, over the limit of \(write.maximumBytes) (Store.Configuration.maximumDocumentBytes)")
        }
        let status: String?
        switch write.status {
        case .keep: status = current?.status
        case .clear: status = nil
        case let .set(value): status = value
        }
        let checksum = Digest.sha256Hex(canonical)
        if let current, current.checksum == checksum, current.status == status,
           write.causedBy == nil || write.causedBy == current.ledgerSeq {
            // Same checksum: `body` is canonically the stored body, so it stands for it.
            let unchanged = StateDocument(key: write.key, version: current.version, status: current.status, body: body,
                                          checksum: current.checksum, updatedAt: current.updatedAt, ledgerSeq: current.ledgerSeq)
            return (unchanged, false, collisions)
        }
        var row = Row(key: write.key, version: 0, status: status, checksum: checksum, updatedAt: Timestamp.now(),
                      ledgerSeq: write.causedBy)
        try canonical.withBytes { (bytes) throws(TallyError) in
            if let current {
                row.version = current.version + 1
                try writeRow(row, canonicalBody: bytes, replacing: true, on: db)
            } else {
                row.version = try insertNewKey(row, canonicalBody: bytes, on: db)
            }
        }
        let document = StateDocument(key: row.key, version: row.version, status: status, body: body, checksum: checksum,
                                     updatedAt: row.updatedAt, ledgerSeq: row.ledgerSeq)
        return (document, true, collisions)
    }

    /// Inserts the row of a key that has no current row, and returns the version it got: one
    /// above the key's last version in the history (a deleted key continues from its
    /// tombstone), else 1.
    ///
    /// On SQLite it tries version 1 first, without reading the history: nearly every new key
    /// has none, and the schema's insert trigger (`state_version_on_insert`) reads it anyway
    /// and refuses a version at or below it. Only that refusal, which rolls back the
    /// statement alone and not the transaction, costs the history read and a second insert.
    /// On PostgreSQL a failed statement aborts the whole transaction, so the history is read
    /// first.
    private static func insertNewKey(_ row: Row, canonicalBody: UnsafeBufferPointer<UInt8>,
                                     on db: Connection) throws(TallyError) -> Int64 {
        var row = row
        if db.dialect == .sqlite {
            row.version = 1
            do {
                try writeRow(row, canonicalBody: canonicalBody, replacing: false, on: db)
                return row.version
            } catch {
                guard isVersionRefusal(error) else { throw error }
            }
        }
        row.version = try lastHistoryVersion(row.key, on: db) + 1
        try writeRow(row, canonicalBody: canonicalBody, replacing: false, on: db)
        return row.version
    }

    /// The message of the schema triggers that keep a key's versions moving forward
    /// (`Migrations/0001_initial.sql`, never edited once released).
    static let versionRefusal = "state version must be above the key's last version"

    /// Whether `error` is the schema's refusal of a version at or below the key's last one.
    static func isVersionRefusal(_ error: TallyError) -> Bool {
        guard let sqlite = error.sqliteError, sqlite.code == .constraintTrigger else { return false }
        return sqlite.message.contains(versionRefusal)
    }

    /// The columns of a state row but its body, which writers pass as canonical bytes (so a
    /// writer that has those bytes needs no parsed tree).
    struct Row: Sendable {
        var key: String
        var version: Int64
        var status: String?
        var checksum: String
        var updatedAt: String
        var ledgerSeq: Int64?
    }

    /// Writes a document row as given: inserted when `replacing` is false, else updating the
    /// key's row. The schema's triggers still require the version to move forward.
    static func writeRow(_ row: Row, canonicalBody: UnsafeBufferPointer<UInt8>, replacing: Bool,
                         on db: Connection) throws(TallyError) {
        try db.dialect.checkStorable(json: canonicalBody, field: "body of '\(row.key)'")
        let statement = try db.statement(replacing ? updateSQL : insertSQL)
        try statement.bind(row.version, at: 2)
        try statement.bind(row.ledgerSeq, at: 7)
        do {
            try statement.withTexts([
                (1, .string(row.key)), (3, .string(row.status)), (4, .utf8(canonicalBody)), (5, .string(row.checksum)),
                (6, .string(row.updatedAt)),
            ]) { () throws(TallyError) in try statement.run() }
        } catch {
            guard isForeignKeyViolation(error) else { throw error }
            throw TallyError.invalidInput(
                field: "causedBy",
                reason: "ledger seq \(row.ledgerSeq ?? 0) is not in this store's ledger; pass an event this store appended, or nil")
        }
    }

    /// Whether `error` is a foreign-key violation (the only foreign key a state row has is
    /// its `ledger_seq`), on either engine.
    static func isForeignKeyViolation(_ error: TallyError) -> Bool {
        if case let .postgres(code, _, _) = error { return code == PGErrorCode.foreignKeyViolation.rawValue }
        return error.sqliteError?.code == .constraintForeignKey
    }

    /// Whether no document was ever written: no current row and no history (a deleted key
    /// leaves its history, and its next version continues from it).
    static func isPristine(on db: Connection) throws(TallyError) -> Bool {
        let statement = try db.statement(pristineSQL)
        defer { statement.reset() }
        return try statement.step() && statement.int64(0) == 1
    }

    /// Deletes `key`, leaving a tombstone in the history. Returns the deleted version.
    static func delete(_ key: String, expectedVersion: Int64?, on db: Connection) throws(TallyError) -> Int64 {
        try SafePath.validateKey(key)
        if let expectedVersion, expectedVersion < 1 {
            throw TallyError.invalidInput(field: "expected version",
                                          reason: "\(expectedVersion) names no version a document can have; a deletion expects the current version, 1 or more")
        }
        try lockKey(key, on: db)
        let version = try currentVersion(key, on: db)
        guard version > 0 else { throw TallyError.notFound(key: key) }
        if let expectedVersion, expectedVersion != version {
            throw TallyError.conflict(subject: key, expected: expectedVersion, actual: version)
        }
        let statement = try db.statement(deleteSQL)
        try statement.bind(key, at: 1)
        try statement.run()
        return version
    }

    static func currentVersion(_ key: String, on db: Connection) throws(TallyError) -> Int64 {
        let statement = try db.statement(versionSQL)
        defer { statement.reset() }
        try statement.bind(key, at: 1)
        return try statement.step() ? statement.int64(0) : 0
    }

    static func lastHistoryVersion(_ key: String, on db: Connection) throws(TallyError) -> Int64 {
        let statement = try db.statement(lastHistoryVersionSQL)
        defer { statement.reset() }
        try statement.bind(key, at: 1)
        _ = try statement.step()
        return statement.int64(0)
    }

    /// Other keys equal to `key` but for letter case: they would share one mirror file on a
    /// case-insensitive file system (macOS, Windows).
    static func caseCollisions(of key: String, on db: Connection) throws(TallyError) -> [String] {
        let statement = try db.statement(caseCollisionsSQL)
        defer { statement.reset() }
        try statement.bind(key, at: 1)
        var keys: [String] = []
        while try statement.step() { keys.append(statement.string(0)) }
        return keys
    }

    /// The current document under `key`, checksum-verified when `verify` is true.
    static func document(_ key: String, on db: Connection, verify: Bool = true) throws(TallyError) -> StateDocument? {
        let statement = try db.statement(documentSQL)
        defer { statement.reset() }
        try statement.bind(key, at: 1)
        return try statement.step() ? try document(from: statement, verify: verify) : nil
    }

    /// One page of documents in key order under `prefix` (and with `status`), after `after`.
    static func list(prefix: String, status: String?, after: String?, limit: Int, on db: Connection) throws(TallyError) -> [StateDocument] {
        let statement = try db.statement(listSQL)
        defer { statement.reset() }
        // Keys are ASCII below 0x7F, so [prefix, prefix + "\u{7F}") is exactly the keys that
        // start with prefix, as an index range.
        try statement.bind(prefix, at: 1)
        try statement.bind(prefix + "\u{7F}", at: 2)
        try statement.bind(status, at: 3)
        try statement.bind(after, at: 4)
        try statement.bind(Int64(limit), at: 5)
        var documents: [StateDocument] = []
        while try statement.step() {
            documents.append(try document(from: statement))
        }
        return documents
    }

    /// One page of a key's history after version `after`.
    static func history(_ key: String, after: Int64, limit: Int, on db: Connection) throws(TallyError) -> [StateHistoryEntry] {
        let statement = try db.statement(historySQL)
        defer { statement.reset() }
        try statement.bind(key, at: 1)
        try statement.bind(after, at: 2)
        try statement.bind(Int64(limit), at: 3)
        var entries: [StateHistoryEntry] = []
        while try statement.step() {
            let version = statement.int64(1)
            var body: JSONValue?
            if !statement.isNull(3) {
                do {
                    body = try statement.withUTF8(3) { (bytes) throws(JSONParseError) -> JSONValue in
                        try JSONValue.parseStrict(utf8: UnsafeRawBufferPointer(bytes))
                    }
                } catch {
                    throw TallyError.corruptDatabase(path: db.path, detail: "state_history of '\(key)' version \(version) is not valid JSON: \(error)")
                }
                // History rows are checked like current ones: a changed body is reported.
                if let checksum = statement.optionalString(4),
                   statement.withUTF8(3, { Digest.sha256Hex(UnsafeRawBufferPointer($0)) }) != checksum {
                    throw TallyError.corruptDatabase(path: db.path, detail: "state_history of '\(key)' version \(version) does not match its checksum")
                }
            }
            entries.append(StateHistoryEntry(
                key: statement.string(0), version: version, status: statement.optionalString(2),
                body: body, checksum: statement.optionalString(4), updatedAt: statement.string(5),
                ledgerSeq: statement.optionalInt64(6), deleted: statement.int64(7) != 0))
        }
        return entries
    }

    static func count(status: String?, on db: Connection) throws(TallyError) -> Int64 {
        let statement = try db.statement(countSQL)
        defer { statement.reset() }
        try statement.bind(status, at: 1)
        _ = try statement.step()
        return statement.int64(0)
    }

    /// A state row whose body is kept as the canonical JSON bytes it hashes to, for readers
    /// that copy bodies rather than look inside them (the mirror): no tree is built.
    struct CanonicalRow {
        /// The columns but the body.
        var row: Row
        /// The body's canonical JSON (RFC 8785), verified against `row.checksum`.
        var body: [UInt8]
    }

    /// Reads a row of ``columns`` as a ``CanonicalRow``, verifying its body as
    /// ``document(from:verify:)`` does: the stored text when it hashes to the checksum (bodies
    /// are stored canonical), else its canonical form when that does (the text was reformatted
    /// outside Tally, harmlessly); anything else is ``TallyError/corruptState(key:expected:actual:)``.
    static func canonicalRow(from row: Statement) throws(TallyError) -> CanonicalRow {
        let key = row.string(0)
        let checksum = row.string(4)
        let body: [UInt8] = try row.withUTF8(3) { (text: UnsafeBufferPointer<UInt8>) throws(TallyError) -> [UInt8] in
            if Digest.sha256(of: UnsafeRawBufferPointer(text), is: checksum) { return Array(text) }
            return try canonicalBody(ofStored: text, key: key, checksum: checksum)
        }
        return CanonicalRow(row: Row(key: key, version: row.int64(1), status: row.optionalString(2), checksum: checksum,
                                     updatedAt: row.string(5), ledgerSeq: row.optionalInt64(6)),
                            body: body)
    }

    /// The document of a verified row, its body parsed (the bytes hash to its checksum, but
    /// a body written around the schema's checks may still not be JSON: then
    /// ``TallyError/corruptState(key:expected:actual:)``).
    static func document(of stored: CanonicalRow) throws(TallyError) -> StateDocument {
        let row = stored.row
        let body: JSONValue
        do {
            body = try stored.body.withUnsafeBytes { try JSONValue.parseStrict(utf8: $0) }
        } catch {
            throw TallyError.corruptState(key: row.key, expected: row.checksum, actual: "(body is not valid JSON: \(error))")
        }
        return StateDocument(key: row.key, version: row.version, status: row.status, body: body, checksum: row.checksum,
                             updatedAt: row.updatedAt, ledgerSeq: row.ledgerSeq)
    }

    /// The canonical form of a stored body that is not its checksum's canonical text (reformatted
    /// at the `sqlite3` prompt, say): it must parse and canonicalize to bytes that hash to the
    /// checksum, else the content changed and this throws ``TallyError/corruptState(key:expected:actual:)``.
    static func canonicalBody(ofStored text: UnsafeBufferPointer<UInt8>, key: String, checksum: String) throws(TallyError) -> [UInt8] {
        let canonical: [UInt8]
        do {
            canonical = try CanonicalJSON.bytes(JSONValue.parseStrict(utf8: UnsafeRawBufferPointer(text)))
        } catch {
            throw TallyError.corruptState(key: key, expected: checksum, actual: "(body is not canonical JSON: \(error))")
        }
        let actual = Digest.sha256Hex(canonical)
        guard actual == checksum else { throw TallyError.corruptState(key: key, expected: checksum, actual: actual) }
        return canonical
    }

    /// Reads the current row of a statement selecting ``columns`` in order, verifying that
    /// the body still matches its checksum: data changed behind Tally's back is reported,
    /// never returned.
    static func document(from row: Statement, verify: Bool = true) throws(TallyError) -> StateDocument {
        let key = row.string(0)
        let checksum = row.string(4)
        let body: JSONValue = try row.withUTF8(3) { (text: UnsafeBufferPointer<UInt8>) throws(TallyError) -> JSONValue in
            let parsed: JSONValue
            do {
                parsed = try JSONValue.parseStrict(utf8: UnsafeRawBufferPointer(text))
            } catch {
                throw TallyError.corruptState(key: key, expected: checksum, actual: "(body is not valid JSON: \(error))")
            }
            // Bodies are stored canonical, so hashing the stored text is the fast check; a
            // mismatch may still be a harmless reformat, so recheck on the canonical form.
            if verify, !Digest.sha256(of: UnsafeRawBufferPointer(text), is: checksum) {
                let actual = (try? CanonicalJSON.bytes(parsed)).map { Digest.sha256Hex($0) } ?? "(not canonicalizable)"
                if actual != checksum {
                    throw TallyError.corruptState(key: key, expected: checksum, actual: actual)
                }
            }
            return parsed
        }
        return StateDocument(key: key, version: row.int64(1), status: row.optionalString(2), body: body,
                             checksum: checksum, updatedAt: row.string(5), ledgerSeq: row.optionalInt64(6))
    }
}
