import Foundation

/// The SQL behind the state documents, on a connection the caller holds (inside a write
/// transaction for writes). ``StateStore`` and ``TransactionState`` are thin fronts to it.
enum StateTable {
    static let columns = "key, version, status, body, checksum, updated_at, ledger_seq"

    /// A write to apply to one key.
    struct Write {
        var key: String
        /// New body; nil keeps the current one (update only).
        var body: JSONValue?
        /// New status; `.some(nil)` clears it, nil keeps the current one.
        var status: String??
        var expectedVersion: Int64?
        var causedBy: Int64?
        /// True for `update`: the key must exist.
        var mustExist: Bool
    }

    static func checkStatus(_ status: String?) throws(TallyError) {
        if let status { try EventValidation.checkText(status, field: "status", maximumBytes: 64) }
    }

    /// Applies `write` and returns the new version of the document.
    static func apply(_ write: Write, on db: Connection) throws -> StateDocument {
        try SafePath.validateKey(write.key)
        if case let .some(status) = write.status { try checkStatus(status) }
        let current = try document(write.key, on: db, verify: write.body == nil)
        let currentVersion = current?.version ?? 0
        if let expected = write.expectedVersion, expected != currentVersion {
            throw TallyError.conflict(subject: write.key, expected: expected, actual: currentVersion)
        }
        if write.mustExist && current == nil {
            throw TallyError.notFound(key: write.key)
        }
        guard let body = write.body ?? current?.body else {
            throw TallyError.invalidInput(field: "body", reason: "a new document needs a body")
        }
        let canonical: String
        do {
            canonical = try CanonicalJSON.encode(body)
        } catch {
            throw TallyError.invalidInput(field: "body of '\(write.key)'", reason: "\(error)")
        }
        let status: String? = write.status ?? current?.status
        // After a deletion the key continues from its tombstone's version.
        let version = try current.map { $0.version + 1 } ?? lastHistoryVersion(write.key, on: db) + 1
        let document = StateDocument(
            key: write.key,
            version: version,
            status: status, body: body, checksum: Digest.sha256Hex(canonical),
            updatedAt: Timestamp.now(), ledgerSeq: write.causedBy)
        var text = canonical
        try text.withUTF8 { try writeRow(document, canonicalBody: $0, replacing: current != nil, on: db) }
        return document
    }

    /// Writes a document row as given: inserted when `replacing` is false, else updating the
    /// key's row. The schema's triggers still require the version to move forward.
    static func writeRow(_ document: StateDocument, canonicalBody: UnsafeBufferPointer<UInt8>, replacing: Bool,
                      on db: Connection) throws {
        let sql = replacing
            ? "UPDATE state SET version = ?2, status = ?3, body = ?4, checksum = ?5, updated_at = ?6, ledger_seq = ?7 WHERE key = ?1"
            : "INSERT INTO state (key, version, status, body, checksum, updated_at, ledger_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        let statement = try db.cachedStatement(sql)
        try statement.bind(document.key, at: 1)
        try statement.bind(document.version, at: 2)
        try statement.bind(document.status, at: 3)
        try statement.bindText(canonicalBody, at: 4)
        try statement.bind(document.checksum, at: 5)
        try statement.bind(document.updatedAt, at: 6)
        try statement.bind(document.ledgerSeq, at: 7)
        do {
            try statement.run()
        } catch {
            guard error.constraint == .foreignKey else { throw error }
            throw TallyError.invalidInput(field: "causedBy", reason: "ledger seq \(document.ledgerSeq ?? 0) does not exist")
        }
    }

    /// Deletes `key`, leaving a tombstone in the history. Returns the deleted version.
    static func delete(_ key: String, expectedVersion: Int64?, on db: Connection) throws -> Int64 {
        try SafePath.validateKey(key)
        let version = try currentVersion(key, on: db)
        guard version > 0 else { throw TallyError.notFound(key: key) }
        if let expectedVersion, expectedVersion != version {
            throw TallyError.conflict(subject: key, expected: expectedVersion, actual: version)
        }
        let statement = try db.cachedStatement("DELETE FROM state WHERE key = ?")
        try statement.bind(key, at: 1)
        try statement.run()
        return version
    }

    static func currentVersion(_ key: String, on db: Connection) throws -> Int64 {
        let statement = try db.cachedStatement("SELECT version FROM state WHERE key = ?")
        defer { statement.reset() }
        try statement.bind(key, at: 1)
        return try statement.step() ? statement.int64(0) : 0
    }

    static func lastHistoryVersion(_ key: String, on db: Connection) throws -> Int64 {
        let statement = try db.cachedStatement("SELECT coalesce(max(version), 0) FROM state_history WHERE key = ?")
        defer { statement.reset() }
        try statement.bind(key, at: 1)
        _ = try statement.step()
        return statement.int64(0)
    }

    /// The current document under `key`, checksum-verified when `verify` is true.
    static func document(_ key: String, on db: Connection, verify: Bool = true) throws -> StateDocument? {
        let statement = try db.cachedStatement("SELECT \(columns) FROM state WHERE key = ?")
        defer { statement.reset() }
        try statement.bind(key, at: 1)
        return try statement.step() ? try document(from: statement, verify: verify) : nil
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
                parsed = try JSONValue.parse(utf8: text)
            } catch {
                throw TallyError.corruptState(key: key, expected: checksum, actual: "(body is not valid JSON: \(error))")
            }
            // Bodies are stored canonical, so hashing the stored text is the fast check; a
            // mismatch may still be a harmless reformat, so recheck on the canonical form.
            if verify, Digest.sha256Hex(UnsafeRawBufferPointer(text)) != checksum {
                let actual = (try? CanonicalJSON.encode(parsed)).map(Digest.sha256Hex) ?? "(not canonicalizable)"
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
