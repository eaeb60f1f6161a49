/// The checks of ``Store/verify(rules:checkpoints:progress:)-9yr21``, run in one read transaction.
///
/// Each check runs on its own: when SQLite reports damage (`SQLITE_CORRUPT`,
/// `SQLITE_NOTADB`) in the middle of one, that check records what it saw and the next one
/// still runs, so a damaged page yields a report that says so rather than a crash or a
/// bare error. Every scan streams one row at a time.
struct DatabaseVerifier {
    let db: Connection
    /// The ledger inside the same read transaction, for domain rules.
    let ledger: Ledger
    let rules: [any DomainRule]
    let checkpoints: [Checkpoint]
    let progress: (@Sendable (OperationProgress) -> Void)?
    private var findings: [Finding] = []
    private var documentsChecked: Int64 = 0

    init(transaction: Transaction, rules: [any DomainRule], checkpoints: [Checkpoint] = [],
         progress: (@Sendable (OperationProgress) -> Void)?) {
        self.db = transaction.connection
        self.ledger = transaction.ledger
        self.rules = rules
        self.checkpoints = checkpoints
        self.progress = progress
    }

    mutating func run() throws(TallyError) -> VerifyReport {
        progress?(OperationProgress(phase: .integrity, done: 0, total: 0))
        let integrity = try integrityCheck()
        let schema = try schemaCheck()
        let foreignKeys = try foreignKeyCheck()
        let (chain, tree) = try ledgerCheck()
        do throws(TallyError) {
            try checkStates()
        } catch where error.isCorruption {
            findings.append(Self.damaged("the state table after \(documentsChecked) documents", error))
        }
        do throws(TallyError) {
            try checkHistory()
        } catch where error.isCorruption {
            findings.append(Self.damaged("the state history", error))
        }
        do throws(TallyError) {
            try checkLedgerReferences()
        } catch where error.isCorruption {
            findings.append(Self.damaged("the ledger_seq references", error))
        }
        do throws(TallyError) {
            try checkConsumers()
        } catch where error.isCorruption {
            findings.append(Self.damaged("the consumer positions", error))
        }
        var report = VerifyReport(integrityCheck: integrity, schemaProblems: schema, foreignKeyProblems: foreignKeys, chain: chain,
                                  documentsChecked: documentsChecked, findings: findings)
        report.merkleRoot = tree?.root
        report.checkpointsChecked = tree?.checkpoints
        return report
    }

    /// The finding for a check that SQLite could not finish because the file is damaged.
    private static func damaged(_ what: String, _ error: TallyError) -> Finding {
        Finding(kind: .corrupt, detail: "reading \(what) failed: \(error.problem); "
            + "the database file is damaged. Restore it from a backup or a snapshot")
    }

    /// Differences between the database's schema and the migrations' (see ``SchemaCheck``).
    private func schemaCheck() throws(TallyError) -> [String] {
        if db.dialect == .postgres { return try postgresSchemaCheck() }
        do throws(TallyError) {
            return try SchemaCheck.problems(of: db, migrator: .embedded)
        } catch where error.isCorruption {
            return ["the schema cannot be read: \(error.problem)"]
        }
    }

    /// PostgreSQL: every trigger the migrations create exists and is enabled, and no other
    /// trigger sits on Tally's tables.
    private func postgresSchemaCheck() throws(TallyError) -> [String] {
        var problems: [String] = []
        var present: [String: String] = [:]
        for row in try db.rows("""
            SELECT t.tgname, t.tgenabled::text, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
             WHERE NOT t.tgisinternal AND c.relnamespace = to_regnamespace(current_schema())
            """) {
            guard row.count == 3, case let .text(name) = row[0], case let .text(enabled) = row[1], case let .text(table) = row[2] else { continue }
            present[name] = enabled
            if !PostgresMigrator.triggers.contains(name) {
                problems.append("trigger \(name) on \(table) is not one of Tally's: it changes what writes do; drop it")
            }
        }
        for name in PostgresMigrator.triggers {
            switch present[name] {
            case nil: problems.append("trigger \(name) is missing: the rule it enforces no longer holds for every client")
            case "D": problems.append("trigger \(name) is disabled: the rule it enforces no longer holds for every client")
            default: break
            }
        }
        return problems
    }

    // MARK: SQLite's own checks

    private func integrityCheck() throws(TallyError) -> [String] {
        // PostgreSQL checks its own pages (with data checksums, when the cluster has them).
        if db.dialect == .postgres { return ["ok"] }
        do throws(TallyError) {
            let rows = try db.rows("PRAGMA integrity_check")
            // SQLite packs several problems into one row, one per line; a report lists lines.
            let lines = rows.flatMap { row -> [String] in
                guard case let .text(text)? = row.first else { return ["\(row)"] }
                return text.split(separator: "\n").map(String.init)
            }
            return lines.isEmpty ? ["error: PRAGMA integrity_check returned nothing"] : lines
        } catch {
            // Damage is the report's subject, not a failure of verify.
            guard error.isCorruption else { throw error }
            return ["error: \(error.problem)"]
        }
    }

    private func foreignKeyCheck() throws(TallyError) -> [String] {
        // PostgreSQL enforces foreign keys at every commit; there is nothing to re-check.
        if db.dialect == .postgres { return [] }
        do throws(TallyError) {
            return try db.rows("PRAGMA foreign_key_check").map { row in
                let table = row.count > 0 ? text(row[0]) : "?"
                let rowid = row.count > 1 && row[1] != .null ? "row \(text(row[1]))" : "a row"
                let parent = row.count > 2 ? text(row[2]) : "?"
                return "\(rowid) of \(table) refers to a row of \(parent) that does not exist; see the findings for the key"
            }
        } catch {
            guard error.isCorruption else { throw error }
            return ["PRAGMA foreign_key_check failed: \(error.problem)"]
        }
    }

    private func text(_ value: SQLiteValue) -> String {
        switch value {
        case let .text(text): return text
        case let .integer(number): return String(number)
        case let .real(number): return String(number)
        case .null: return "null"
        case let .blob(data): return "\(data.count)-byte blob"
        }
    }

    // MARK: The ledger

    /// The hash chain and the Merkle tree, checked in one walk of the ledger in seq order:
    /// each row is read once and hashed once (the chain hash and the leaf hash come from one
    /// layout of its bytes). The chain check stops at its first break; the tree check goes
    /// on past a gap or a relinked row, and stops, saying the ledger is damaged, at a row
    /// that cannot be read or does not hash to its stored hash.
    private mutating func ledgerCheck() throws(TallyError) -> (chain: ChainReport, tree: (root: String, checkpoints: Int64)?) {
        let total = (try? db.scalarInt("SELECT coalesce(max(seq), 0) FROM ledger")) ?? 0
        var chain = ChainWalk()
        var chainUnreadable: TallyError?
        var tree: MerkleTreeCheck?
        var treeDamage: TallyError?
        do throws(TallyError) {
            tree = try MerkleTreeCheck(checkpoints: checkpoints, on: db)
        } catch where error.isCorruption {
            treeDamage = error
        }
        var treeGoes: Bool { tree != nil && treeDamage == nil }
        do throws(TallyError) {
            let events = try db.prepare("SELECT \(LedgerTable.columns) FROM ledger ORDER BY seq")
            defer { events.finalize() }
            while chain.isIntact || treeGoes, try events.step() {
                let seq = events.int64(0)
                do throws(TallyError) {
                    try LedgerTable.checkPayloadIsJSON(events, seq: seq, path: db.path)
                } catch {
                    if chain.isIntact { chain.unreadable(seq: seq, "\(error)") }
                    if treeGoes { treeDamage = error }
                    break
                }
                let fields = LedgerTable.hashedFields(of: events)
                let stored = events.string(11)
                let (computed, leaf) = events.withUTF8(8) { LedgerHash.hashes(fields, canonicalPayload: $0) }
                if chain.isIntact { chain.check(fields, storedHash: stored, computedHash: computed) }
                if treeGoes {
                    if computed != stored {
                        treeDamage = LedgerTable.altered(seq: seq, computed: computed, stored: stored, path: db.path)
                    } else {
                        do throws(TallyError) {
                            try tree?.add(leaf: leaf, on: db)
                        } catch where error.isCorruption {
                            treeDamage = error
                        }
                    }
                }
                if seq % 10_000 == 0 { progress?(OperationProgress(phase: .ledger, done: seq, total: total)) }
            }
        } catch where error.isCorruption {
            if chain.isIntact { chainUnreadable = error }
            if treeGoes { treeDamage = error }
        }

        var report = chain.report
        if let chainUnreadable {
            report = ChainReport(eventsChecked: 0, headSeq: 0, headHash: Digest.zeroHash, firstBreak: ChainReport.Break(
                seq: 0, reason: .unreadable("the ledger could not be read to the end: \(chainUnreadable.problem)")))
        }
        // AUTOINCREMENT remembers the highest seq ever inserted, even after the rows are
        // gone: a ledger whose tail was deleted (triggers dropped, rows removed, triggers put
        // back) still shows here.
        let rememberedSQL = db.dialect == .postgres ? "SELECT last_seq FROM ledger_head WHERE id" : "SELECT seq FROM sqlite_sequence WHERE name = 'ledger'"
        if report.isIntact, let remembered = try db.scalarInt(rememberedSQL),
           remembered > report.headSeq {
            report.firstBreak = ChainReport.Break(seq: report.headSeq + 1, reason: .tailRemoved(rememberedSeq: remembered))
        }

        var treeResult: (root: String, checkpoints: Int64)?
        if var check = tree {
            if treeDamage == nil {
                do throws(TallyError) {
                    treeResult = try check.finish(on: db)
                } catch where error.isCorruption {
                    treeDamage = error
                }
            }
            findings += check.findings
        }
        if let treeDamage { findings.append(Self.damaged("the ledger for its Merkle tree", treeDamage)) }
        return (report, treeResult)
    }

    // MARK: State documents

    /// Recomputes every checksum, reporting each corrupt document (not only the first).
    private mutating func checkStates() throws(TallyError) {
        let total = try db.scalarInt("SELECT count(*) FROM state") ?? 0
        let statement = try db.prepare("SELECT \(StateTable.columns) FROM state ORDER BY key")
        while try statement.step() {
            documentsChecked += 1
            if documentsChecked % 1000 == 0 { progress?(OperationProgress(phase: .state, done: documentsChecked, total: total)) }
            // Bodies are stored canonical, so hashing the stored text is the whole check for
            // an intact row; only a mismatch (or a rule) needs the parse.
            let intact = statement.withUTF8(3) { Digest.sha256Hex(UnsafeRawBufferPointer($0)) } == statement.string(4)
            guard !intact || !rules.isEmpty else { continue }
            switch DocumentComparison.storedRow(statement) {
            case let .document(document):
                findings += DocumentComparison.runRules(rules, on: document, ledger: ledger)
            case let .corrupt(key, version, expected, actual):
                findings.append(Finding(kind: .corrupt, key: key, databaseVersion: version, databaseChecksum: expected,
                                        detail: "the stored body hashes to \(actual) but the stored checksum is \(expected): "
                                            + "it was changed outside Tally. Restore it from a snapshot or backup, or "
                                            + "rewrite it through Tally if the new body is right"))
            }
        }
        progress?(OperationProgress(phase: .state, done: documentsChecked, total: total))
    }

    /// Merges `state` with each key's latest `state_history` row, both in key order.
    private mutating func checkHistory() throws(TallyError) {
        let states = try db.prepare("SELECT key, version, status, checksum FROM state ORDER BY key")
        // With a lone max(), SQLite takes the bare columns from the row holding the maximum.
        let latest = try db.prepare(db.dialect == .postgres
            ? "SELECT DISTINCT ON (key) key, version, status, checksum, deleted FROM state_history ORDER BY key, version DESC"
            : "SELECT key, max(version), status, checksum, deleted FROM state_history GROUP BY key ORDER BY key")
        var hasState = try states.step()
        var hasHistory = try latest.step()
        while hasState || hasHistory {
            let stateKey = hasState ? states.string(0) : nil
            let historyKey = hasHistory ? latest.string(0) : nil
            if let stateKey, historyKey.map({ stateKey.utf8.lexicographicallyPrecedes($0.utf8) }) ?? true {
                findings.append(Finding(kind: .missing, key: stateKey, databaseVersion: states.int64(1),
                                        databaseChecksum: states.string(3),
                                        detail: "state has '\(stateKey)' at version \(states.int64(1)) but state_history has "
                                            + "no row for it: the row was written with the history triggers dropped. "
                                            + "Rewrite the document through Tally to record it"))
                hasState = try states.step()
            } else if let historyKey, stateKey.map({ historyKey.utf8.lexicographicallyPrecedes($0.utf8) }) ?? true {
                if latest.int64(4) == 0 {
                    findings.append(Finding(kind: .missing, key: historyKey, databaseVersion: latest.int64(1),
                                            databaseChecksum: latest.optionalString(3),
                                            detail: "state_history says '\(historyKey)' exists at version \(latest.int64(1)) "
                                                + "but state has no row for it: it was deleted outside Tally (no tombstone). "
                                                + "Restore it from a snapshot, or delete it through Tally"))
                }
                hasHistory = try latest.step()
            } else {
                compareHistory(states, latest)
                hasState = try states.step()
                hasHistory = try latest.step()
            }
        }
    }

    private mutating func compareHistory(_ state: Statement, _ history: Statement) {
        let key = state.string(0)
        let version = state.int64(1), historyVersion = history.int64(1)
        var differences: [String] = []
        if history.int64(4) != 0 {
            differences.append("the latest history row (version \(historyVersion)) records a deletion")
        } else {
            if historyVersion != version { differences.append("its latest history row is version \(historyVersion)") }
            if history.optionalString(3) != state.string(3) {
                differences.append("the history's checksum is \(history.optionalString(3) ?? "null")")
            }
            if history.optionalString(2) != state.optionalString(2) {
                differences.append("the history's status is \(history.optionalString(2).map { "'\($0)'" } ?? "null")")
            }
        }
        guard !differences.isEmpty else { return }
        findings.append(Finding(kind: .mismatch, key: key, databaseVersion: version, databaseChecksum: state.string(3),
                                detail: "state has '\(key)' at version \(version) but \(differences.joined(separator: ", ")): "
                                    + "state or state_history was changed with the triggers dropped. Find out which is "
                                    + "right, then rewrite the document through Tally"))
    }

    /// `ledger_seq` values that name no event, in `state` and in history rows `state`
    /// does not already cover.
    private mutating func checkLedgerReferences() throws(TallyError) {
        let head = try db.scalarInt("SELECT coalesce(max(seq), 0) FROM ledger") ?? 0
        let current = try db.prepare("""
            SELECT s.key, s.version, s.checksum, s.ledger_seq FROM state s
             WHERE s.ledger_seq IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ledger l WHERE l.seq = s.ledger_seq)
             ORDER BY s.key
            """)
        while try current.step() {
            let key = current.string(0), seq = current.int64(3)
            findings.append(Finding(kind: .missing, key: key, databaseVersion: current.int64(1),
                                    databaseChecksum: current.string(2),
                                    detail: "'\(key)' says it was last changed by ledger seq \(seq), which does not exist "
                                        + "(the ledger ends at seq \(head)): the reference was written with foreign keys "
                                        + "off. Rewrite the document through Tally with the right event"))
        }
        let history = try db.prepare("""
            SELECT h.key, h.version, h.checksum, h.ledger_seq FROM state_history h
             WHERE h.ledger_seq IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ledger l WHERE l.seq = h.ledger_seq)
               AND NOT EXISTS (SELECT 1 FROM state s WHERE s.key = h.key AND s.version = h.version)
             ORDER BY h.key, h.version
            """)
        while try history.step() {
            let key = history.string(0), version = history.int64(1), seq = history.int64(3)
            findings.append(Finding(kind: .missing, key: key, databaseVersion: version, databaseChecksum: history.optionalString(2),
                                    detail: "state_history of '\(key)' version \(version) refers to ledger seq \(seq), "
                                        + "which does not exist (the ledger ends at seq \(head)): it was written with "
                                        + "foreign keys off. History is append-only; note it, or restore from a backup"))
        }
    }

    /// Consumers whose position is beyond the ledger's head: the events they processed are
    /// gone (the tail was cut off), and new events would take those seqs unprocessed.
    private mutating func checkConsumers() throws(TallyError) {
        let head = try db.scalarInt("SELECT coalesce(max(seq), 0) FROM ledger") ?? 0
        let ahead = try db.prepare("SELECT name, position FROM consumers WHERE position > ? ORDER BY name")
        try ahead.bind(head, at: 1)
        while try ahead.step() {
            let name = ahead.string(0), position = ahead.int64(1)
            findings.append(Finding(kind: .missing,
                                    detail: "consumer '\(name)' is at seq \(position) but the ledger ends at seq \(head): the events "
                                        + "it processed are missing, and new events would take their seqs unprocessed. Restore "
                                        + "the ledger from a backup, or reset the consumer (Store.resetConsumer(_:to:))"))
        }
    }
}
