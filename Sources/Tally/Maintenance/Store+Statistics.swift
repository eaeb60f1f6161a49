

extension Store {
    /// Reads counts and sizes in one read transaction (a consistent view; nothing is
    /// written, no checkpoint is run). Counting scans the tables, so it takes time in
    /// proportion to their size.
    public func statistics() throws(TallyError) -> Store.Statistics {
        let latestCheckpointSQL = "SELECT size FROM checkpoints ORDER BY id DESC LIMIT 1"
        var statistics = try readTransaction { (db: Connection) throws(TallyError) -> Store.Statistics in
            func integer(_ sql: String) throws(TallyError) -> Int64 { try db.scalarInt(sql) ?? 0 }
            if db.dialect == .postgres {
                // The server's own figures: its size and version; no pages or WAL of a file.
                return Store.Statistics(
                    path: path, schemaVersion: Int(try integer("SELECT max(version)::bigint FROM schema_migrations")),
                    events: try integer("SELECT count(*) FROM ledger"),
                    streams: try integer("SELECT count(DISTINCT stream) FROM ledger"),
                    ledgerHeadSeq: try integer("SELECT last_seq FROM ledger_head WHERE id"),
                    documents: try integer("SELECT count(*) FROM state"),
                    historyRows: try integer("SELECT count(*) FROM state_history"),
                    checkpoints: try integer("SELECT count(*) FROM checkpoints"),
                    latestCheckpointSize: try db.scalarInt(latestCheckpointSQL),
                    consumers: try integer("SELECT count(*) FROM consumers"),
                    databaseBytes: try integer("SELECT pg_database_size(current_database())"), walBytes: 0, walFrames: 0,
                    pageSize: try integer("SELECT current_setting('block_size')::bigint"), pageCount: 0, freelistCount: 0,
                    journalMode: "postgresql", sqliteVersion: try db.scalarText("SELECT version()") ?? "PostgreSQL")
            }
            return Store.Statistics(
                path: path,
                schemaVersion: Int(try integer("PRAGMA user_version")),
                events: try integer("SELECT count(*) FROM ledger"),
                streams: try integer("SELECT count(DISTINCT stream) FROM ledger"),
                ledgerHeadSeq: try integer("SELECT coalesce(max(seq), 0) FROM ledger"),
                documents: try integer("SELECT count(*) FROM state"),
                historyRows: try integer("SELECT count(*) FROM state_history"),
                checkpoints: try integer("SELECT count(*) FROM checkpoints"),
                latestCheckpointSize: try db.scalarInt(latestCheckpointSQL),
                consumers: try integer("SELECT count(*) FROM consumers"),
                databaseBytes: 0, walBytes: 0, walFrames: 0,
                pageSize: try integer("PRAGMA page_size"),
                pageCount: try integer("PRAGMA page_count"),
                freelistCount: try integer("PRAGMA freelist_count"),
                journalMode: try db.scalarText("PRAGMA journal_mode") ?? "unknown",
                sqliteVersion: SQLiteConnection.sqliteVersion)
        }
        guard statistics.journalMode != "postgresql" else { return statistics }
        statistics.databaseBytes = FileOperations.size(of: path) ?? 0
        statistics.walBytes = FileOperations.size(of: path + "-wal") ?? 0
        // A WAL file is a 32-byte header, then frames of a 24-byte header plus one page.
        if statistics.walBytes > 32, statistics.pageSize > 0 {
            statistics.walFrames = (statistics.walBytes - 32) / (statistics.pageSize + 24)
        }
        return statistics
    }
}

extension Store {
    /// Counts, sizes and SQLite figures of a database, as ``Store/statistics()`` reads them.
    public struct Statistics: Sendable, Codable, Equatable {
        /// The database file.
        public var path: String
        /// Schema version (highest applied migration).
        public var schemaVersion: Int
        /// Ledger events.
        public var events: Int64
        /// Distinct ledger streams.
        public var streams: Int64
        /// The last event's seq (0 when the ledger is empty).
        public var ledgerHeadSeq: Int64
        /// Current state documents.
        public var documents: Int64
        /// Rows in `state_history` (every version ever written, tombstones included).
        public var historyRows: Int64
        /// Signed checkpoints stored (``Store/signCheckpoint(with:)``).
        public var checkpoints: Int64
        /// The number of events the latest stored checkpoint covers; nil when none was signed.
        public var latestCheckpointSize: Int64?
        /// Durable consumers (``Store/consumer(_:stream:kinds:lockTimeout:)``), whatever their position.
        public var consumers: Int64
        /// Size of the database file in bytes.
        public var databaseBytes: Int64
        /// Size of the `-wal` file in bytes (0 when there is none).
        public var walBytes: Int64
        /// Frames the `-wal` file has room for, from its size: an upper bound on the frames not
        /// yet checkpointed, since SQLite reuses the file from the start after a checkpoint
        /// instead of shrinking it. `tally checkpoint --truncate` brings it to 0.
        public var walFrames: Int64
        /// `PRAGMA page_size`.
        public var pageSize: Int64
        /// `PRAGMA page_count`.
        public var pageCount: Int64
        /// `PRAGMA freelist_count`: unused pages (`VACUUM` returns them to the filesystem).
        public var freelistCount: Int64
        /// `PRAGMA journal_mode`, `wal` for a Tally database in use.
        public var journalMode: String
        /// The SQLite library's version.
        public var sqliteVersion: String

        enum CodingKeys: String, CodingKey {
            case path, events, streams, documents
            case schemaVersion = "schema_version", ledgerHeadSeq = "ledger_head_seq", historyRows = "history_rows"
            case checkpoints, latestCheckpointSize = "latest_checkpoint_size", consumers
            case databaseBytes = "database_bytes", walBytes = "wal_bytes", walFrames = "wal_frames"
            case pageSize = "page_size", pageCount = "page_count", freelistCount = "freelist_count"
            case journalMode = "journal_mode", sqliteVersion = "sqlite_version"
        }
    }
}

extension Store.Statistics {
    /// Decodes statistics as ``Store/statistics()`` encodes them (`tally stats --json`),
    /// also from versions before the checkpoint and consumer counts: those read as 0 and nil.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        path = try container.decode(String.self, forKey: .path)
        schemaVersion = try container.decode(Int.self, forKey: .schemaVersion)
        events = try container.decode(Int64.self, forKey: .events)
        streams = try container.decode(Int64.self, forKey: .streams)
        ledgerHeadSeq = try container.decode(Int64.self, forKey: .ledgerHeadSeq)
        documents = try container.decode(Int64.self, forKey: .documents)
        historyRows = try container.decode(Int64.self, forKey: .historyRows)
        checkpoints = try container.decodeIfPresent(Int64.self, forKey: .checkpoints) ?? 0
        latestCheckpointSize = try container.decodeIfPresent(Int64.self, forKey: .latestCheckpointSize)
        consumers = try container.decodeIfPresent(Int64.self, forKey: .consumers) ?? 0
        databaseBytes = try container.decode(Int64.self, forKey: .databaseBytes)
        walBytes = try container.decode(Int64.self, forKey: .walBytes)
        walFrames = try container.decode(Int64.self, forKey: .walFrames)
        pageSize = try container.decode(Int64.self, forKey: .pageSize)
        pageCount = try container.decode(Int64.self, forKey: .pageCount)
        freelistCount = try container.decode(Int64.self, forKey: .freelistCount)
        journalMode = try container.decode(String.self, forKey: .journalMode)
        sqliteVersion = try container.decode(String.self, forKey: .sqliteVersion)
    }
}
