/// The state documents: versioned, checksummed JSON under path-like keys.
///
/// `store.state` and `tx.state` are the same type: from the store, each write is its own
/// transaction and each read a read transaction; from a ``Transaction``, they join it (use
/// `Store.write(_:)` to combine several writes, or writes with ledger appends). Every read
/// verifies the checksum and throws ``TallyError/corruptState(key:expected:actual:)`` for a
/// body changed behind Tally's back.
public struct StateStore: Sendable {
    let context: AccessContext

    /// What `save(_:body:status:expectedVersion:causedBy:)` did.
    public struct SaveResult: Sendable, Hashable {
        /// The document as stored now.
        public let document: StateDocument
        /// False when the body and status equal the current version's: nothing was written
        /// and ``document`` is the current version.
        public let written: Bool
        /// Other keys that differ from this one only in letter case. They would share one
        /// mirror file on a case-insensitive file system (macOS, Windows); rename one.
        public let caseCollisions: [String]
    }

    /// Creates or replaces the document under `key`.
    ///
    /// Writing the same body and status again writes nothing and returns the current version.
    ///
    /// - Parameters:
    ///   - key: Slash-separated segments, e.g. `invoices/INV-1001`.
    ///   - body: The document; stored as canonical JSON with its SHA-256.
    ///   - status: ``StateStore/StatusUpdate/keep`` (the default) keeps the current status (none for a
    ///     new document); a string sets it; `nil` clears it.
    ///   - expectedVersion: nil writes unconditionally; 0 requires that the key does not
    ///     exist; n requires that it is at version n. Otherwise
    ///     ``TallyError/conflict(subject:expected:actual:)``.
    ///   - causedBy: The ledger event this change follows from (stored as `ledger_seq`).
    @discardableResult
    public func put(_ key: String, body: JSONValue, status: StateStore.StatusUpdate = .keep, expectedVersion: Int64? = nil,
                    causedBy: LedgerEvent? = nil) throws(TallyError) -> StateDocument {
        try save(key, body: body, status: status, expectedVersion: expectedVersion, causedBy: causedBy).document
    }

    /// Creates or replaces the document under `key` with an app's own `Encodable` value,
    /// encoded with Tally's encoder (see ``JSONValue/init(encoding:)``).
    @discardableResult
    public func put(_ key: String, body: some Encodable, status: StateStore.StatusUpdate = .keep, expectedVersion: Int64? = nil,
                    causedBy: LedgerEvent? = nil) throws(TallyError) -> StateDocument {
        let value = try JSONValueEncoder().encode(body, field: "body of '\(TallyError.printable(key))'")
        return try put(key, body: value, status: status, expectedVersion: expectedVersion, causedBy: causedBy)
    }

    /// `put(_:body:status:expectedVersion:causedBy:)` that also says whether anything was
    /// written and which keys differ from `key` only in case.
    @discardableResult
    public func save(_ key: String, body: JSONValue, status: StateStore.StatusUpdate = .keep, expectedVersion: Int64? = nil,
                     causedBy: LedgerEvent? = nil) throws(TallyError) -> SaveResult {
        try apply(StateTable.Write(key: key, body: body, status: status, expectedVersion: expectedVersion,
                                   causedBy: causedBy?.seq, mustExist: false))
    }

    /// Changes an existing document's body and/or status (nil body and ``StateStore/StatusUpdate/keep``
    /// keep the current values).
    ///
    /// - Throws: ``TallyError/notFound(key:)`` when the key does not exist, and what
    ///   `put(_:body:status:expectedVersion:causedBy:)` throws.
    @discardableResult
    public func update(_ key: String, body: JSONValue? = nil, status: StateStore.StatusUpdate = .keep, expectedVersion: Int64? = nil,
                       causedBy: LedgerEvent? = nil) throws(TallyError) -> StateDocument {
        try apply(StateTable.Write(key: key, body: body, status: status, expectedVersion: expectedVersion,
                                   causedBy: causedBy?.seq, mustExist: true)).document
    }

    private func apply(_ write: StateTable.Write) throws(TallyError) -> SaveResult {
        var write = write
        write.maximumBytes = context.store.configuration.maximumDocumentBytes
        return try context.write { (tx: Transaction) throws(TallyError) -> SaveResult in
            let (document, written, collisions) = try StateTable.apply(write, on: tx.connection)
            if written { tx.touchedKeys.insert(write.key) }
            return SaveResult(document: document, written: written, caseCollisions: collisions)
        }
    }

    /// Deletes the document under `key`; its history keeps every version and a tombstone.
    /// Returns the version that was deleted.
    ///
    /// - Throws: ``TallyError/notFound(key:)``, ``TallyError/conflict(subject:expected:actual:)``.
    @discardableResult
    public func delete(_ key: String, expectedVersion: Int64? = nil) throws(TallyError) -> Int64 {
        try context.write { (tx: Transaction) throws(TallyError) -> Int64 in
            let version = try StateTable.delete(key, expectedVersion: expectedVersion, on: tx.connection)
            tx.touchedKeys.insert(key)
            return version
        }
    }

    /// The current document under `key`, or nil.
    public func get(_ key: String) throws(TallyError) -> StateDocument? {
        try SafePath.validateKey(key)
        return try context.read { (db: Connection) throws(TallyError) -> StateDocument? in try StateTable.document(key, on: db) }
    }

    /// Documents in key order, optionally only those whose key starts with `prefix` and/or
    /// with `status`, a page at a time.
    public func list(prefix: String = "", status: String? = nil, pageSize: Int = 512) -> PagedCursor<StateDocument> {
        let context = self.context
        let size = max(1, pageSize)
        return PagedCursor(pageSize: size, queues: context.queues) { (last: StateDocument?) throws(TallyError) -> [StateDocument] in
            try context.read { (db: Connection) throws(TallyError) -> [StateDocument] in
                try StateTable.list(prefix: prefix, status: status, after: last?.key, limit: size, on: db)
            }
        }
    }

    /// Every version of `key` ever written, oldest first, deletions included as tombstones.
    public func history(_ key: String, pageSize: Int = 256) throws(TallyError) -> PagedCursor<StateHistoryEntry> {
        try SafePath.validateKey(key)
        let context = self.context
        let size = max(1, pageSize)
        return PagedCursor(pageSize: size, queues: context.queues) { (last: StateHistoryEntry?) throws(TallyError) -> [StateHistoryEntry] in
            try context.read { (db: Connection) throws(TallyError) -> [StateHistoryEntry] in
                try StateTable.history(key, after: last?.version ?? 0, limit: size, on: db)
            }
        }
    }

    /// How many documents there are, optionally with `status`.
    public func count(status: String? = nil) throws(TallyError) -> Int64 {
        try context.read { (db: Connection) throws(TallyError) -> Int64 in try StateTable.count(status: status, on: db) }
    }
}

extension StateStore {
    /// How a write treats a document's status label.
    ///
    /// A string literal sets the status and `nil` clears it, so calls read naturally:
    /// `put(key, body: b, status: "paid")`, `update(key, status: nil)`.
    public enum StatusUpdate: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByNilLiteral {
        /// Keep the current status (a new document gets none).
        case keep
        /// Remove the status.
        case clear
        /// Set the status to this label (1…64 bytes, no control characters).
        case set(String)

        /// `.set(value)`.
        public init(stringLiteral value: String) { self = .set(value) }
        /// `.clear`.
        public init(nilLiteral: ()) { self = .clear }

        /// `.set(status)` for a status, `.clear` for nil.
        public init(_ status: String?) { self = status.map { .set($0) } ?? .clear }
    }
}
