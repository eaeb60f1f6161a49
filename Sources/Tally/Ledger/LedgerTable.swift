/// All the SQL behind the ledger, on a connection the caller already holds (inside a write
/// transaction for appends). ``Ledger`` is a thin front to it.
enum LedgerTable {
    static let columns = "seq, event_id, stream, stream_version, kind, amount, currency, quantity, payload, recorded_at, prev_hash, hash"

    private static let headSQL = InternalSQL("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1")
    private static let tipSQL = InternalSQL("SELECT \(columns) FROM ledger ORDER BY seq DESC LIMIT 1")
    private static let insertSQL = InternalSQL("INSERT INTO ledger (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    private static let streamVersionSQL = InternalSQL("SELECT coalesce(max(stream_version), 0) FROM ledger WHERE stream = ?")
    private static let streamVersionAtSQL = InternalSQL(
        "SELECT coalesce(max(stream_version), 0) FROM ledger WHERE stream = ? AND seq <= ?")
    private static let byIDSQL = InternalSQL("SELECT \(columns) FROM ledger WHERE event_id = ?")
    private static let bySeqSQL = InternalSQL("SELECT \(columns) FROM ledger WHERE seq = ?")
    private static let rangeSQL = InternalSQL("SELECT \(columns) FROM ledger WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?")
    private static let streamSQL = InternalSQL(
        "SELECT \(columns) FROM ledger WHERE stream = ? AND stream_version > ? ORDER BY stream_version LIMIT ?")
    private static let latestSQL = InternalSQL("SELECT \(columns) FROM ledger ORDER BY seq DESC LIMIT ?")
    private static let nextStreamSQL = InternalSQL("SELECT min(stream) FROM ledger WHERE stream > ?")
    private static let amountsOfStreamSQL = InternalSQL(
        "SELECT \(columns) FROM ledger WHERE stream = ? AND amount IS NOT NULL ORDER BY stream_version")

    /// The last event's seq and hash, or (0, 64 zeros) for an empty ledger.
    static func head(on db: Connection) throws(TallyError) -> (seq: Int64, hash: String) {
        let statement = try db.statement(headSQL)
        defer { statement.reset() }
        guard try statement.step() else { return (0, Digest.zeroHash) }
        return (statement.int64(0), statement.string(1))
    }

    /// The chain tip an append extends, with its own hash recomputed: a new event is never
    /// chained onto an event that was altered.
    static func verifiedTip(on db: Connection) throws(TallyError) -> (seq: Int64, hash: String) {
        if db.dialect == .postgres { return try lockedHead(on: db) }
        let statement = try db.statement(tipSQL)
        defer { statement.reset() }
        guard try statement.step() else { return (0, Digest.zeroHash) }
        let link = try verifiedLink(from: statement, path: db.path)
        return (link.seq, link.hash)
    }

    /// The current row's seq and stored hash, its chain hash recomputed from the stored
    /// columns, and its Merkle leaf hash from the same layout of its bytes: what an append
    /// needs of the tip (which ignores the leaf: one SHA-256 of a few hundred bytes per
    /// transaction, kept for one code path), and a proof or the tree's growth of every event.
    ///
    /// The payload is hashed as stored and never built into a tree (an append reads the tip
    /// whenever the writer's memory of it cannot be trusted, and a parse would be a third of
    /// the work). It is still checked to be JSON: the
    /// canonical recognizer vouches for what Tally writes, the strict parser decides the
    /// rest (a payload someone rewrote and re-hashed at the sqlite3 prompt).
    static func verifiedLink(from row: Statement, path: String) throws(TallyError) -> (seq: Int64, hash: String, leaf: Hash32) {
        let seq = row.int64(0)
        try checkPayloadIsJSON(row, seq: seq, path: path)
        let (fields, stored) = (hashedFields(of: row), row.string(11))
        let (computed, leaf) = row.withUTF8(8) { LedgerHash.hashes(fields, canonicalPayload: $0) }
        guard computed == stored else { throw altered(seq: seq, computed: computed, stored: stored, path: path) }
        return (seq, stored, leaf)
    }

    /// Checks that the current row's payload is JSON without building it: the canonical
    /// recognizer vouches for what Tally wrote, the strict parser decides the rest.
    static func checkPayloadIsJSON(_ row: Statement, seq: Int64, path: String) throws(TallyError) {
        do {
            try row.withUTF8(8) { (bytes) throws(JSONParseError) in
                if CanonicalJSON.canonicalValueEnd(in: bytes, from: 0) == bytes.count { return }
                _ = try JSONValue.parseStrict(utf8: UnsafeRawBufferPointer(bytes))
            }
        } catch {
            throw TallyError.corruptDatabase(path: path, detail: "ledger seq \(seq) has a payload that is not valid JSON: \(error)")
        }
    }

    static func altered(seq: Int64, computed: String, stored: String, path: String) -> TallyError {
        .corruptDatabase(path: path, detail: "ledger seq \(seq) was altered: its content hashes to \(computed) but its stored hash is \(stored)")
    }

    private static let lockHeadSQL = InternalSQL("SELECT last_seq, last_hash FROM ledger_head WHERE id FOR UPDATE")

    /// PostgreSQL: locks the head row, which serializes appends from every process (seq
    /// order is commit order, with no gaps), and verifies the event it names.
    private static func lockedHead(on db: Connection) throws(TallyError) -> (seq: Int64, hash: String) {
        let statement = try db.statement(lockHeadSQL)
        defer { statement.reset() }
        guard try statement.step() else {
            throw TallyError.corruptDatabase(path: db.path, detail: "the ledger_head row is missing")
        }
        let head = (seq: statement.int64(0), hash: statement.string(1))
        guard head.seq > 0 else { return head }
        let row = try db.statement(bySeqSQL)
        defer { row.reset() }
        try row.bind(head.seq, at: 1)
        guard try row.step(), try verifiedLink(from: row, path: db.path).hash == head.hash else {
            throw TallyError.corruptDatabase(path: db.path, detail: "ledger_head names seq \(head.seq) with hash \(head.hash), which the ledger does not hold")
        }
        return head
    }

    /// What a run of appends inside one transaction already knows: the chain tip and the
    /// versions of the streams it touched. Valid only inside the transaction (and savepoint)
    /// that read it; a fresh cursor reads everything from the database.
    struct AppendCursor {
        var tip: (seq: Int64, hash: String)?
        /// Versions of streams: those this transaction read or appended to, and, once the
        /// first append trusted the writer's memo, those its earlier transactions knew. One
        /// table, updated in place and handed on to the next memo at the commit: a bulk
        /// append touching a thousand streams once each paid for a second table, growing it
        /// and merging it into the first at every commit (3 % of W1's samples).
        var streamVersions: [String: Int64] = [:]
        /// The Merkle tree's right edge; the memo's to start with (used only if it is at the
        /// tip's size, else rebuilt).
        var frontier: MerkleFrontier?
        /// Subtree roots the appends completed that are not in `merkle_nodes` yet. They are
        /// stored together once an append call's events are in (``appendAll(_:on:cursor:)``):
        /// one level-4 insert per 16 events, interleaved with a bulk append's index writes,
        /// kept `merkle_nodes`' last page dirty through the whole transaction, and once
        /// SQLite's page cache spilled it to the WAL every further node read it back and
        /// wrote it again (W1: a third more WAL writes and two thirds more WAL reads than
        /// the same inserts without the tree).
        var pendingNodes: [MerkleNode] = []
        /// What the writer knew when its last transaction committed, until the first append
        /// of this one decides whether it still holds.
        private var memo: AppendMemo?
        /// The connection's change count when this transaction began.
        private let changesAtStart: Int64
        /// `PRAGMA data_version` as the first append of this transaction read it (SQLite).
        private var dataVersion: Int64?

        /// A cursor for a transaction about to begin on `db`, starting from the writer's
        /// memo. The memo's stream versions move into the cursor (the memo keeps the rest),
        /// so that adding this transaction's to them at the commit copies nothing.
        init(takingFrom memo: inout AppendMemo?, on db: Connection) {
            self.memo = memo
            self.frontier = memo?.frontier
            self.changesAtStart = db.totalChanges
            memo?.streamVersions = [:]
        }

        /// A cursor that knows nothing (snapshot import builds its tree with one).
        init() {
            changesAtStart = 0
        }

        /// The version `stream` is at, when this transaction or the trusted memo knows it.
        func knownVersion(of stream: String) -> Int64? {
            streamVersions[stream]
        }

        /// The chain tip for the first append of the transaction. It is taken from the memo
        /// of the writer's last commit when nothing can have written since: no other
        /// connection committed (`PRAGMA data_version` has not moved, and it is read inside
        /// this write transaction, whose lock no one else can commit under) and this
        /// connection changed no row. Every commit on the writer replaces the memory (one
        /// that appended nothing leaves none of the tip), so the change count guards what
        /// does not commit that way: a transaction that failed or rolled back, or a write
        /// added later outside `Store.writeTransaction` and group commit. Otherwise the tip
        /// is read and its hash recomputed. Either way the schema's triggers still check
        /// every insert's seq, prev_hash and stream version.
        mutating func firstTip(on db: Connection) throws(TallyError) -> (seq: Int64, hash: String) {
            dataVersion = try db.otherCommitsVersion()
            if var memo = self.memo.take(), let tip = memo.tip, let anchor = memo.anchor,
               anchor.dataVersion == dataVersion, anchor.totalChanges == changesAtStart {
                // Taken, not copied: the cursor holds the only reference, so its updates
                // happen in place. (Nothing reads a stream's version before the tip.)
                if streamVersions.isEmpty {
                    swap(&streamVersions, &memo.streamVersions)
                } else {
                    streamVersions.merge(memo.streamVersions) { current, _ in current }
                }
                return tip
            }
            return try LedgerTable.verifiedTip(on: db)
        }

        /// Forgets what this transaction learned, after a rollback to a savepoint undid some
        /// of it: the next append reads the tip, the stream versions and the tree from the
        /// database again. (Restoring a copy taken before each call would copy the stream
        /// versions at every call of a long transaction.)
        mutating func forgetAfterRollback() {
            tip = nil
            streamVersions = [:]
            frontier = nil
            pendingNodes = []
            memo = nil
        }

        /// What the next transaction may start from, once this one committed on `db`.
        mutating func memoAfterCommit(on db: Connection) -> AppendMemo {
            guard let dataVersion, let tip else { return AppendMemo(frontier: frontier) }
            var versions: [String: Int64] = [:]
            if streamVersions.count <= AppendMemo.streamLimit { swap(&versions, &streamVersions) }
            return AppendMemo(anchor: (dataVersion, db.totalChanges), tip: tip, streamVersions: versions, frontier: frontier)
        }
    }

    /// What the writer connection knew of the ledger when its last transaction committed:
    /// spares a run of single-event transactions (every durable append) reading and
    /// re-hashing the tip and looking up the stream's version each time.
    struct AppendMemo {
        /// Stream versions remembered at most; past it the memory starts again empty.
        static let streamLimit = 16_384

        /// `PRAGMA data_version` read inside that transaction and the connection's change
        /// count after its commit; nil when unknown (then only the frontier is of use).
        var anchor: (dataVersion: Int64, totalChanges: Int64)?
        var tip: (seq: Int64, hash: String)?
        var streamVersions: [String: Int64] = [:]
        /// The Merkle tree's right edge; used only when it is at the tip's size.
        var frontier: MerkleFrontier?
    }

    /// Appends one validated event (or recognises an idempotent retry of one), reusing and
    /// advancing what `cursor` knows. Must run inside a write transaction: the chain tip and
    /// the stream version are read there, so concurrent processes cannot fork the chain.
    static func append(_ checked: EventValidation.Checked, on db: Connection,
                       cursor: inout AppendCursor) throws(TallyError) -> (event: LedgerEvent, replayed: Bool) {
        // `checked.event` is read in place, not copied into a local: a copy of the event (and
        // of the hashed fields into the stored event, below) retained and released each of
        // its strings once more per append.
        // The tip first: on PostgreSQL reading it takes the head row's lock, and only under
        // that lock is the stream's version final (another process may append to the same
        // stream until then). (Not `??`: its autoclosure rethrows untyped errors.)
        let tip: (seq: Int64, hash: String)
        if let known = cursor.tip { tip = known } else { tip = try cursor.firstTip(on: db) }
        let current: Int64
        if let known = cursor.knownVersion(of: checked.event.stream) { current = known } else { current = try streamVersion(checked.event.stream, on: db) }
        let recordedAt = Timestamp.now()
        let fields = LedgerHash.Fields(
            prevHash: tip.hash, seq: tip.seq + 1, eventID: checked.eventID, stream: checked.event.stream, streamVersion: current + 1,
            kind: checked.event.kind, amount: checked.event.amount, currency: checked.event.currency, quantity: checked.event.quantity, recordedAt: recordedAt)
        let (hash, leaf) = checked.canonicalPayload.withUnsafeBufferPointer { LedgerHash.hashes(fields, canonicalPayload: $0) }
        let stored = LedgerEvent(consume fields, payload: checked.event.payload, hash: hash)
        if let expected = checked.event.expectedStreamVersion, expected != current {
            // A retry of an event that already moved the stream is a replay, not a conflict.
            if checked.event.eventID != nil, let replay = try replayed(checked, on: db) { return (replay, true) }
            throw TallyError.conflict(subject: checked.event.stream, expected: expected, actual: current)
        }
        // PostgreSQL aborts the whole transaction on a failed statement, so a retry is
        // recognized before inserting (the head row's lock makes look-then-insert safe).
        if db.dialect == .postgres, checked.event.eventID != nil, let replay = try replayed(checked, on: db) {
            return (replay, true)
        }
        do throws(TallyError) {
            try insert(stored, canonicalPayload: checked.canonicalPayload, on: db)
        } catch where checked.event.eventID != nil && isEventIDClash(error) {
            // Only a caller-chosen id can be a retry; detecting it from the UNIQUE clash
            // spares every other append a lookup.
            guard let replay = try replayed(checked, on: db) else { throw error }
            return (replay, true)
        }
        try growTree(leaf: leaf, tip: tip.seq, cursor: &cursor, on: db)
        cursor.tip = (stored.seq, stored.hash)
        cursor.streamVersions[checked.event.stream] = stored.streamVersion
        return (stored, false)
    }

    /// Adds the leaf of the event just inserted after `tip` to the Merkle tree; the subtree
    /// roots it completes wait in the cursor until ``storePendingNodes(cursor:on:)``.
    static func growTree(leaf: Hash32, tip: Int64, cursor: inout AppendCursor, on db: Connection) throws(TallyError) {
        var frontier = try MerkleLog.frontier(size: tip, cached: cursor.frontier, on: db, storing: true)
        try MerkleLog.append(leaf: leaf, to: &frontier, collecting: &cursor.pendingNodes)
        cursor.frontier = frontier
    }

    /// Stores the subtree roots the cursor's appends completed. Every path that appends
    /// calls it before anything else can read `merkle_nodes` or commit.
    static func storePendingNodes(cursor: inout AppendCursor, on db: Connection) throws(TallyError) {
        guard !cursor.pendingNodes.isEmpty else { return }
        try MerkleLog.store(cursor.pendingNodes, on: db)
        cursor.pendingNodes.removeAll(keepingCapacity: true)
    }

    /// Appends checked events in order (one call of an append API), then stores the Merkle
    /// nodes they completed. On an error the caller rolls back what the call wrote.
    static func appendAll(_ checked: [EventValidation.Checked], on db: Connection,
                          cursor: inout AppendCursor) throws(TallyError) -> [(event: LedgerEvent, replayed: Bool)] {
        var results: [(event: LedgerEvent, replayed: Bool)] = []
        results.reserveCapacity(checked.count)
        for event in checked { results.append(try append(event, on: db, cursor: &cursor)) }
        try storePendingNodes(cursor: &cursor, on: db)
        return results
    }

    private static func isEventIDClash(_ error: TallyError) -> Bool {
        if case let .postgres(code, message, _) = error { return code == "23505" && message.contains("ledger_event_id_key") }
        guard let sqlite = error.sqliteError, sqlite.code == .constraintUnique else { return false }
        return sqlite.message.contains("ledger.event_id")
    }

    /// The stored event when `checked` is an exact retry of it; nil when its id is unused;
    /// ``TallyError/duplicateEvent(eventID:existingSeq:)`` when the id holds other content.
    private static func replayed(_ checked: EventValidation.Checked, on db: Connection) throws(TallyError) -> LedgerEvent? {
        guard let existing = try event(id: checked.eventID, on: db) else { return nil }
        let event = checked.event
        guard existing.stream == event.stream, existing.kind == event.kind, existing.amount == event.amount,
              existing.currency == event.currency, existing.quantity == event.quantity,
              existing.payload == event.payload
        else {
            throw TallyError.duplicateEvent(eventID: checked.eventID, existingSeq: existing.seq)
        }
        return existing
    }

    /// Inserts an event whose fields (and hash) are already decided: appends and snapshot
    /// import. The schema's triggers re-check seq, prev_hash and stream_version.
    static func insert(_ event: LedgerEvent, canonicalPayload: [UInt8], on db: Connection) throws(TallyError) {
        let statement = try db.statement(insertSQL)
        try statement.bind(event.seq, at: 1)
        try statement.bind(event.streamVersion, at: 4)
        try statement.bind(event.amount, at: 6)
        try statement.bind(event.quantity, at: 8)
        try canonicalPayload.withBytes { (payload) throws(TallyError) in
            try db.dialect.checkStorable(json: payload, field: "payload")
            try statement.withTexts([
                (2, .string(event.eventID)), (3, .string(event.stream)), (5, .string(event.kind)), (7, .string(event.currency)),
                (9, .utf8(payload)), (10, .string(event.recordedAt)), (11, .string(event.prevHash)), (12, .string(event.hash)),
            ]) { () throws(TallyError) in try statement.run() }
        }
    }

    /// The stream's last version (0 for a new stream).
    static func streamVersion(_ stream: String, on db: Connection) throws(TallyError) -> Int64 {
        let statement = try db.statement(streamVersionSQL)
        defer { statement.reset() }
        try statement.bind(stream, at: 1)
        _ = try statement.step()
        return statement.int64(0)
    }

    /// The version `stream` had once the events up to `seq` were committed.
    static func streamVersion(_ stream: String, atOrBefore seq: Int64, on db: Connection) throws(TallyError) -> Int64 {
        let statement = try db.statement(streamVersionAtSQL)
        defer { statement.reset() }
        try statement.bind(stream, at: 1)
        try statement.bind(seq, at: 2)
        return try statement.step() ? statement.int64(0) : 0
    }

    static func event(id: String, on db: Connection) throws(TallyError) -> LedgerEvent? {
        try first(byIDSQL, id, on: db)
    }

    static func event(seq: Int64, on db: Connection) throws(TallyError) -> LedgerEvent? {
        try first(bySeqSQL, seq, on: db)
    }

    private static func first(_ sql: InternalSQL, _ argument: some SQLiteBindable, on db: Connection) throws(TallyError) -> LedgerEvent? {
        let statement = try db.statement(sql)
        defer { statement.reset() }
        try statement.bind(argument, at: 1)
        return try statement.step() ? try event(from: statement, path: db.path) : nil
    }

    static func events(from: Int64, through: Int64, limit: Int, on db: Connection) throws(TallyError) -> [LedgerEvent] {
        let statement = try db.statement(rangeSQL)
        defer { statement.reset() }
        try statement.bind(from, at: 1)
        try statement.bind(through, at: 2)
        try statement.bind(Int64(limit), at: 3)
        return try collect(statement, path: db.path)
    }

    static func events(inStream stream: String, afterVersion: Int64, limit: Int, on db: Connection) throws(TallyError) -> [LedgerEvent] {
        let statement = try db.statement(streamSQL)
        defer { statement.reset() }
        try statement.bind(stream, at: 1)
        try statement.bind(afterVersion, at: 2)
        try statement.bind(Int64(limit), at: 3)
        return try collect(statement, path: db.path)
    }

    static func latest(_ count: Int, on db: Connection) throws(TallyError) -> [LedgerEvent] {
        let statement = try db.statement(latestSQL)
        defer { statement.reset() }
        try statement.bind(Int64(count), at: 1)
        return try collect(statement, path: db.path)
    }

    /// The first stream after `after` in stream order (`only` restricts it to that stream).
    static func nextStream(after: String?, only: String?, on db: Connection) throws(TallyError) -> String? {
        if let only { return after == nil || only > (after ?? "") ? only : nil }
        let statement = try db.statement(nextStreamSQL)
        defer { statement.reset() }
        try statement.bind(after ?? "", at: 1)
        guard try statement.step(), !statement.isNull(0) else { return nil }
        // "" is below every stream (streams are non-empty), so the first call starts at the top.
        return statement.string(0)
    }

    /// The balances of one stream per currency, summed from its verified events, with
    /// overflow detected instead of wrapping.
    static func balances(ofStream stream: String, on db: Connection) throws(TallyError) -> [Balance] {
        let statement = try db.statement(amountsOfStreamSQL)
        defer { statement.reset() }
        try statement.bind(stream, at: 1)
        var sums: [String: (total: Int64, events: Int64, lastSeq: Int64)] = [:]
        while try statement.step() {
            let event = try event(from: statement, path: db.path)
            guard let amount = event.amount, let currency = event.currency else { continue }
            var sum = sums[currency] ?? (0, 0, 0)
            let (total, overflow) = sum.total.addingReportingOverflow(amount)
            guard !overflow else {
                throw TallyError.invalidInput(
                    field: "balance of \(stream) in \(currency)",
                    reason: "the sum of its amounts passes ±9,223,372,036,854,775,807 minor units at seq \(event.seq), more than 64 bits hold")
            }
            sum = (total, sum.events + 1, event.seq)
            sums[currency] = sum
        }
        return sums.keys.sorted().compactMap { currency in
            sums[currency].map { Balance(stream: stream, currency: currency, balance: $0.total, events: $0.events, lastSeq: $0.lastSeq) }
        }
    }

    static func collect(_ statement: Statement, path: String) throws(TallyError) -> [LedgerEvent] {
        var events: [LedgerEvent] = []
        while try statement.step() {
            events.append(try event(from: statement, path: path))
        }
        return events
    }

    /// Reads the current row of a statement selecting ``columns`` in order, recomputing its
    /// hash: an event changed behind Tally's back is reported, never returned.
    static func event(from row: Statement, path: String) throws(TallyError) -> LedgerEvent {
        let event = try unverifiedEvent(from: row, path: path)
        let computed = row.withUTF8(8) { LedgerHash.hash(LedgerHash.Fields(event), canonicalPayload: $0) }
        guard computed == event.hash else { throw altered(seq: event.seq, computed: computed, stored: event.hash, path: path) }
        return event
    }

    /// Reads the current row, verifying its hash, and computes its Merkle leaf hash from
    /// the same bytes.
    static func eventAndLeaf(from row: Statement, path: String) throws(TallyError) -> (event: LedgerEvent, leaf: Hash32) {
        let event = try unverifiedEvent(from: row, path: path)
        let (computed, leaf) = row.withUTF8(8) { LedgerHash.hashes(LedgerHash.Fields(event), canonicalPayload: $0) }
        guard computed == event.hash else { throw altered(seq: event.seq, computed: computed, stored: event.hash, path: path) }
        return (event, leaf)
    }

    /// Reads the current row without checking its hash (chain verification reports breaks
    /// itself instead of throwing).
    static func unverifiedEvent(from row: Statement, path: String) throws(TallyError) -> LedgerEvent {
        let seq = row.int64(0)
        let payload: JSONValue
        do {
            payload = try row.withUTF8(8) { (bytes) throws(JSONParseError) -> JSONValue in
                try JSONValue.parseStrict(utf8: UnsafeRawBufferPointer(bytes))
            }
        } catch {
            throw TallyError.corruptDatabase(path: path, detail: "ledger seq \(seq) has a payload that is not valid JSON: \(error)")
        }
        return LedgerEvent(
            seq: seq, eventID: row.string(1), stream: row.string(2), streamVersion: row.int64(3),
            kind: row.string(4), amount: row.optionalInt64(5), currency: row.optionalString(6),
            quantity: row.optionalDouble(7), payload: payload, recordedAt: row.string(9),
            prevHash: row.string(10), hash: row.string(11))
    }

    /// What the hashes of the current row (selecting ``columns`` in order) cover besides
    /// its payload, read without building the event.
    static func hashedFields(of row: Statement) -> LedgerHash.Fields {
        LedgerHash.Fields(
            prevHash: row.string(10), seq: row.int64(0), eventID: row.string(1), stream: row.string(2),
            streamVersion: row.int64(3), kind: row.string(4), amount: row.optionalInt64(5),
            currency: row.optionalString(6), quantity: row.optionalDouble(7), recordedAt: row.string(9))
    }
}
