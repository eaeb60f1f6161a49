/// The state documents of a ``Store``: versioned, checksummed JSON under path-like keys.
///
/// Each write here is its own transaction; use ``Store/write(_:)`` and
/// ``Transaction/state`` to combine several writes, or writes with ledger appends. Every
/// read verifies the checksum and throws ``TallyError/corruptState(key:expected:actual:)``
/// for a body changed behind Tally's back.
public struct StateStore: Sendable {
    let store: Store

    /// Creates or replaces the document under `key`.
    ///
    /// - Parameters:
    ///   - expectedVersion: nil writes unconditionally; 0 requires that the key does not
    ///     exist; n requires that it is at version n. Otherwise
    ///     ``TallyError/conflict(subject:expected:actual:)``.
    ///   - causedBy: The ledger event this change follows from (stored as `ledger_seq`).
    @discardableResult
    public func put(_ key: String, body: JSONValue, status: String? = nil, expectedVersion: Int64? = nil,
                    causedBy: LedgerEvent? = nil) throws(TallyError) -> StateDocument {
        try store.writeTyped { tx in
            try tx.state.put(key, body: body, status: status, expectedVersion: expectedVersion, causedBy: causedBy)
        }
    }

    /// Changes an existing document's body and/or status (nil keeps the current value).
    /// Throws ``TallyError/notFound(key:)`` when the key does not exist.
    @discardableResult
    public func update(_ key: String, body: JSONValue? = nil, status: String? = nil, expectedVersion: Int64? = nil,
                       causedBy: LedgerEvent? = nil) throws(TallyError) -> StateDocument {
        try store.writeTyped { tx in
            try tx.state.update(key, body: body, status: status, expectedVersion: expectedVersion, causedBy: causedBy)
        }
    }

    /// Deletes the document under `key`; its history keeps every version and a tombstone.
    /// Returns the version that was deleted.
    @discardableResult
    public func delete(_ key: String, expectedVersion: Int64? = nil) throws(TallyError) -> Int64 {
        try store.writeTyped { tx in try tx.state.delete(key, expectedVersion: expectedVersion) }
    }

    /// The current document under `key`, or nil.
    public func get(_ key: String) throws(TallyError) -> StateDocument? {
        try SafePath.validateKey(key)
        return try store.readTyped { try StateTable.document(key, on: $0) }
    }

    /// Documents in key order, optionally only those whose key starts with `prefix` and/or
    /// with `status`, a page at a time.
    public func list(prefix: String = "", status: String? = nil, pageSize: Int = 512) -> PagedCursor<StateDocument> {
        let store = self.store
        let size = max(1, pageSize)
        return PagedCursor(pageSize: size) { (last: StateDocument?) throws(TallyError) in
            try store.readTyped { db in
                // Keys are ASCII below 0x7F, so [prefix, prefix + "\u{7F}") is exactly the keys
                // that start with prefix, as an index range. Later pages start after the last key.
                let lower = last == nil ? ">=" : ">"
                let statement = try db.cachedStatement("""
                    SELECT \(StateTable.columns) FROM state
                     WHERE key \(lower) ?1 AND key < ?2 AND (?3 IS NULL OR status = ?3)
                     ORDER BY key LIMIT ?4
                    """)
                defer { statement.reset() }
                try statement.bind(last?.key ?? prefix, at: 1)
                try statement.bind(prefix + "\u{7F}", at: 2)
                try statement.bind(status, at: 3)
                try statement.bind(Int64(size), at: 4)
                var documents: [StateDocument] = []
                while try statement.step() {
                    documents.append(try StateTable.document(from: statement))
                }
                return documents
            }
        }
    }

    /// Every version of `key` ever written, oldest first, deletions included as tombstones.
    public func history(_ key: String, pageSize: Int = 256) throws(TallyError) -> PagedCursor<StateHistoryEntry> {
        try SafePath.validateKey(key)
        let store = self.store
        let size = max(1, pageSize)
        return PagedCursor(pageSize: size) { (last: StateHistoryEntry?) throws(TallyError) in
            try store.readTyped { db in
                let statement = try db.cachedStatement("""
                    SELECT key, version, status, body, checksum, updated_at, ledger_seq, deleted
                      FROM state_history WHERE key = ? AND version > ? ORDER BY version LIMIT ?
                    """)
                defer { statement.reset() }
                try statement.bind(key, at: 1)
                try statement.bind(last?.version ?? 0, at: 2)
                try statement.bind(Int64(size), at: 3)
                var entries: [StateHistoryEntry] = []
                while try statement.step() {
                    let body: JSONValue?
                    do {
                        body = statement.isNull(3) ? nil : try statement.withUTF8(3) { try JSONValue.parse(utf8: $0) }
                    } catch {
                        throw TallyError.corruptDatabase(path: db.path, detail: "state_history of '\(key)' version \(statement.int64(1)) is not valid JSON: \(error)")
                    }
                    entries.append(StateHistoryEntry(
                        key: statement.string(0), version: statement.int64(1), status: statement.optionalString(2),
                        body: body, checksum: statement.optionalString(4), updatedAt: statement.string(5),
                        ledgerSeq: statement.optionalInt64(6), deleted: statement.int64(7) != 0))
                }
                return entries
            }
        }
    }

    /// How many documents there are, optionally with `status`.
    public func count(status: String? = nil) throws(TallyError) -> Int64 {
        try store.readTyped { db in
            try db.scalarInt("SELECT count(*) FROM state WHERE (?1 IS NULL OR status = ?1)", [status]) ?? 0
        }
    }
}

/// The state documents inside a ``Store/write(_:)`` transaction: writes join that
/// transaction and commit (or roll back) with everything else in it, ledger appends included.
public struct TransactionState {
    let transaction: Transaction

    /// Creates or replaces a document (see ``StateStore/put(_:body:status:expectedVersion:causedBy:)``).
    @discardableResult
    public func put(_ key: String, body: JSONValue, status: String? = nil, expectedVersion: Int64? = nil,
                    causedBy: LedgerEvent? = nil) throws(TallyError) -> StateDocument {
        try apply(StateTable.Write(key: key, body: body, status: .some(status), expectedVersion: expectedVersion,
                                   causedBy: causedBy?.seq, mustExist: false))
    }

    /// Changes an existing document (see ``StateStore/update(_:body:status:expectedVersion:causedBy:)``).
    @discardableResult
    public func update(_ key: String, body: JSONValue? = nil, status: String? = nil, expectedVersion: Int64? = nil,
                       causedBy: LedgerEvent? = nil) throws(TallyError) -> StateDocument {
        try apply(StateTable.Write(key: key, body: body, status: status.map { .some($0) }, expectedVersion: expectedVersion,
                                   causedBy: causedBy?.seq, mustExist: true))
    }

    /// Deletes a document, leaving a tombstone in its history.
    @discardableResult
    public func delete(_ key: String, expectedVersion: Int64? = nil) throws(TallyError) -> Int64 {
        let version = try transaction.store.mapErrors { try StateTable.delete(key, expectedVersion: expectedVersion, on: transaction.database) }
        transaction.touchedKeys.insert(key)
        return version
    }

    /// The current document as this transaction sees it.
    public func get(_ key: String) throws(TallyError) -> StateDocument? {
        try SafePath.validateKey(key)
        return try transaction.store.mapErrors { try StateTable.document(key, on: transaction.database) }
    }

    private func apply(_ write: StateTable.Write) throws(TallyError) -> StateDocument {
        let document = try transaction.store.mapErrors { try StateTable.apply(write, on: transaction.database) }
        transaction.touchedKeys.insert(write.key)
        return document
    }
}
