import Foundation

/// The SQL behind the ledger, on a connection the caller already holds (inside a write
/// transaction for appends). ``Ledger`` and ``TransactionLedger`` are thin fronts to it.
enum LedgerTable {
    static let columns = "seq, event_id, stream, stream_version, kind, amount, currency, quantity, payload, recorded_at, prev_hash, hash"

    /// The last event's seq and hash, or (0, 64 zeros) for an empty ledger.
    static func head(on db: Connection) throws -> (seq: Int64, hash: String) {
        let statement = try db.cachedStatement("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1")
        defer { statement.reset() }
        guard try statement.step() else { return (0, Digest.zeroHash) }
        return (statement.int64(0), statement.string(1))
    }

    /// What a run of appends inside one transaction already knows: the chain tip and the
    /// versions of the streams it touched. Valid only inside the transaction (and savepoint)
    /// that read it; a fresh cursor reads everything from the database.
    struct AppendCursor {
        var tip: (seq: Int64, hash: String)?
        var streamVersions: [String: Int64] = [:]
    }

    /// Appends one validated event. Must run inside a write transaction: the chain tip and
    /// the stream version are read there, so concurrent processes cannot fork the chain.
    static func append(_ checked: EventValidation.Checked, on db: Connection) throws -> LedgerEvent {
        var cursor = AppendCursor()
        return try append(checked, on: db, cursor: &cursor)
    }

    /// Appends one validated event, reusing (and advancing) what `cursor` knows, so a batch
    /// does not re-read the tip and the stream version for every event.
    static func append(_ checked: EventValidation.Checked, on db: Connection, cursor: inout AppendCursor) throws -> LedgerEvent {
        let event = checked.event
        // Only a caller-chosen id can be a retry; a generated one is new (and UNIQUE guards it).
        if event.eventID != nil, let existing = try self.event(id: checked.eventID, on: db) {
            guard existing.stream == event.stream, existing.kind == event.kind, existing.amount == event.amount,
                  existing.currency == event.currency, existing.quantity == event.quantity,
                  existing.payload == event.payload
            else {
                throw TallyError.duplicateEvent(eventID: checked.eventID, existingSeq: existing.seq)
            }
            return existing  // an idempotent retry: nothing is written
        }
        let current = try cursor.streamVersions[event.stream] ?? streamVersion(event.stream, on: db)
        if let expected = event.expectedStreamVersion, expected != current {
            throw TallyError.conflict(subject: event.stream, expected: expected, actual: current)
        }
        let tip = try cursor.tip ?? head(on: db)
        let recordedAt = Timestamp.now()
        var payload = checked.canonicalPayload
        let hash = payload.withUTF8 {
            LedgerHash.hash(
                prevHash: tip.hash, seq: tip.seq + 1, eventID: checked.eventID, stream: event.stream,
                streamVersion: current + 1, kind: event.kind, amount: event.amount, currency: event.currency,
                quantity: event.quantity, canonicalPayload: $0, recordedAt: recordedAt)
        }
        let stored = LedgerEvent(
            seq: tip.seq + 1, eventID: checked.eventID, stream: event.stream, streamVersion: current + 1,
            kind: event.kind, amount: event.amount, currency: event.currency, quantity: event.quantity,
            payload: event.payload, recordedAt: recordedAt, prevHash: tip.hash, hash: hash)
        try insert(stored, canonicalPayload: checked.canonicalPayload, on: db)
        cursor.tip = (stored.seq, stored.hash)
        cursor.streamVersions[event.stream] = stored.streamVersion
        return stored
    }

    /// Inserts an event whose fields (and hash) are already decided: appends and snapshot
    /// import. The schema's triggers re-check seq, prev_hash and stream_version.
    static func insert(_ event: LedgerEvent, canonicalPayload: String, on db: Connection) throws {
        let statement = try db.cachedStatement("INSERT INTO ledger (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        try statement.bind(event.seq, at: 1)
        try statement.bind(event.eventID, at: 2)
        try statement.bind(event.stream, at: 3)
        try statement.bind(event.streamVersion, at: 4)
        try statement.bind(event.kind, at: 5)
        try statement.bind(event.amount, at: 6)
        try statement.bind(event.currency, at: 7)
        try statement.bind(event.quantity, at: 8)
        try statement.bind(canonicalPayload, at: 9)
        try statement.bind(event.recordedAt, at: 10)
        try statement.bind(event.prevHash, at: 11)
        try statement.bind(event.hash, at: 12)
        try statement.run()
    }

    /// The stream's last version (0 for a new stream).
    static func streamVersion(_ stream: String, on db: Connection) throws -> Int64 {
        let statement = try db.cachedStatement("SELECT coalesce(max(stream_version), 0) FROM ledger WHERE stream = ?")
        defer { statement.reset() }
        try statement.bind(stream, at: 1)
        _ = try statement.step()
        return statement.int64(0)
    }

    static func event(id: String, on db: Connection) throws -> LedgerEvent? {
        try first("SELECT \(columns) FROM ledger WHERE event_id = ?", id, on: db)
    }

    static func event(seq: Int64, on db: Connection) throws -> LedgerEvent? {
        try first("SELECT \(columns) FROM ledger WHERE seq = ?", seq, on: db)
    }

    private static func first(_ sql: String, _ argument: some SQLiteBindable, on db: Connection) throws -> LedgerEvent? {
        let statement = try db.cachedStatement(sql)
        defer { statement.reset() }
        try statement.bind(argument, at: 1)
        return try statement.step() ? try event(from: statement, path: db.path) : nil
    }

    /// Reads the current row of a statement selecting ``columns`` in order.
    static func event(from row: Statement, path: String) throws(TallyError) -> LedgerEvent {
        let seq = row.int64(0)
        let payload: JSONValue
        do {
            payload = try row.withUTF8(8) { try JSONValue.parse(utf8: $0) }
        } catch {
            throw TallyError.corruptDatabase(path: path, detail: "ledger seq \(seq) has a payload that is not valid JSON: \(error)")
        }
        return LedgerEvent(
            seq: seq, eventID: row.string(1), stream: row.string(2), streamVersion: row.int64(3),
            kind: row.string(4), amount: row.optionalInt64(5), currency: row.optionalString(6),
            quantity: row.optionalDouble(7), payload: payload, recordedAt: row.string(9),
            prevHash: row.string(10), hash: row.string(11))
    }
}
