import Foundation
import GRDB

/// GRDB.swift as a careful application uses it: a `DatabasePool` (WAL), cached statements,
/// the same SQL and the same rows as the raw-C peer (no hashing either).
public enum GRDBPeer {
    static let insertEvent = """
        INSERT INTO ledger (seq, event_id, stream, stream_version, kind, amount, currency, quantity, \
        payload, recorded_at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """
    static let tip = "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1"
    static let upsertState = """
        INSERT INTO state (key, version, status, body, checksum, updated_at, ledger_seq) \
        VALUES (?1, 1, ?2, ?3, ?4, ?5, NULL) \
        ON CONFLICT (key) DO UPDATE SET version = version + 1, status = excluded.status, \
        body = excluded.body, checksum = excluded.checksum, updated_at = excluded.updated_at, \
        ledger_seq = excluded.ledger_seq
        """

    public static func open(_ path: String, synchronous: String, readonly: Bool = false) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.readonly = readonly
        configuration.busyMode = .timeout(10)
        let pool = try DatabasePool(path: path, configuration: configuration)
        // After opening: DatabasePool sets synchronous=NORMAL on its writer itself, after
        // prepareDatabase. The writer is one long-lived connection, so this sticks.
        if !readonly {
            let level = try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
                // As Tally's writer: statement journals in memory (see Tally's Connection).
                try db.execute(sql: "PRAGMA temp_store = MEMORY")
                if let kib = Synchronous.experimentalCacheKiB { try db.execute(sql: "PRAGMA cache_size = -\(kib)") }
                return try Int64.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
            }
            try Synchronous.check(level, expected: synchronous, peer: "GRDB")
        }
        return pool
    }

    /// A fresh database with Tally's schema (``BenchPaths/schemaSQL``, triggers included).
    public static func fresh(_ path: String, synchronous: String) throws -> DatabasePool {
        BenchPaths.removeDatabase(path)
        let pool = try open(path, synchronous: synchronous)
        try pool.write { db in try db.execute(sql: BenchPaths.schemaSQL) }
        return pool
    }

    /// Event ids and streams made outside the timed region, like Tally's `NewEvent`s.
    public struct Events: Sendable {
        public let ids: [String]
        public let streams: [String]
        public let streamIndex: [Int]
        public let amounts: [Int64]
        public let streamCount: Int

        public init(count: Int, prefix: String, streams: Int) {
            ids = (0..<count).map { EventData.eventID(prefix, $0) }
            self.streams = (0..<count).map { EventData.stream($0, streams: streams) }
            streamIndex = (0..<count).map { $0 % streams }
            amounts = (0..<count).map { EventData.amount($0) }
            streamCount = streams
        }
    }

    /// W1 (perTransaction 1,000) and W2 (perTransaction 1): tip and stream versions in
    /// memory, this pool the only writer.
    public static func appendEvents(_ pool: DatabasePool, _ events: Events, perTransaction: Int) throws {
        var (seq, previousHash): (Int64, String) = try pool.read { db in
            let row = try Row.fetchOne(db.cachedStatement(sql: tip))
            return (row?[0] ?? 0, row?[1] ?? fakeHash(0))
        }
        var versions = [Int64](repeating: 0, count: events.streamCount)
        var start = 0
        let count = events.ids.count
        while start < count {
            let end = min(start + perTransaction, count)
            try pool.write { db in
                let statement = try db.cachedStatement(sql: insertEvent)
                let recordedAt = timestampNow()
                for i in start..<end {
                    seq += 1
                    let s = events.streamIndex[i]
                    versions[s] += 1
                    let hash = fakeHash(seq)
                    try statement.execute(arguments: [
                        seq, events.ids[i], events.streams[i], versions[s], "charge", events.amounts[i], "EUR", nil,
                        EventData.payloadText, recordedAt, previousHash, hash,
                    ])
                    previousHash = hash
                }
            }
            start = end
        }
    }

    /// W3: upserts, `batch` per transaction, checksums precomputed.
    public static func putStates(_ pool: DatabasePool, _ documents: [Document], batch: Int) throws {
        var start = 0
        while start < documents.count {
            let end = min(start + batch, documents.count)
            try pool.write { db in
                let statement = try db.cachedStatement(sql: upsertState)
                let updatedAt = timestampNow()
                for document in documents[start..<end] {
                    try statement.execute(arguments: [
                        document.key, DocumentData.status, document.canonicalText, document.checksum, updatedAt,
                    ])
                }
            }
            start = end
        }
    }

    /// W4: one JSON line per state row (body spliced in as stored) to a temporary file,
    /// fsync, rename, directory fsync — what the raw-C peer does.
    @discardableResult
    public static func exportStates(_ pool: DatabasePool, to path: String) throws -> Int {
        let temporary = path + ".tmp-grdb"
        let output = try FileOutput(path: temporary)
        let rows: Int = try pool.read { db in
            var count = 0
            let cursor = try Row.fetchCursor(db.cachedStatement(sql: "SELECT key, version, status, body, checksum, updated_at, ledger_seq FROM state ORDER BY key"))
            var line: [UInt8] = []
            line.reserveCapacity(1024)
            while let row = try cursor.next() {
                line.append(contentsOf: #"{"type":"state","key":"#.utf8)
                JSONText.appendQuoted(row[0] as String, to: &line)
                line.append(contentsOf: #","version":"#.utf8)
                line.append(contentsOf: String(row[1] as Int64).utf8)
                line.append(contentsOf: #","status":"#.utf8)
                if let status = row[2] as String? { JSONText.appendQuoted(status, to: &line) } else { line.append(contentsOf: "null".utf8) }
                line.append(contentsOf: #","body":"#.utf8)
                line.append(contentsOf: (row[3] as String).utf8)
                line.append(contentsOf: #","checksum":"#.utf8)
                JSONText.appendQuoted(row[4] as String, to: &line)
                line.append(contentsOf: #","updated_at":"#.utf8)
                JSONText.appendQuoted(row[5] as String, to: &line)
                line.append(contentsOf: #","ledger_seq":"#.utf8)
                if let seq = row[6] as Int64? { line.append(contentsOf: String(seq).utf8) } else { line.append(contentsOf: "null".utf8) }
                line.append(contentsOf: "}\n".utf8)
                try output.write(line)
                line.removeAll(keepingCapacity: true)
                count += 1
            }
            return count
        }
        try output.commit(to: path)
        return rows
    }

    /// W5: `writers` threads sharing the pool, each appending its own stream, one
    /// `pool.write` (one durable transaction) per event, reading the tip inside it.
    public static func concurrentAppend(_ pool: DatabasePool, writers: Int, perWriter: Int, idPrefix: String) throws {
        try Threads.run(writers) { index in
            let stream = "writer/\(index + 1)"
            for i in 0..<perWriter {
                try pool.write { db in
                    let row = try Row.fetchOne(db.cachedStatement(sql: tip))
                    let seq: Int64 = (row?[0] ?? 0) + 1
                    let previousHash: String = row?[1] ?? fakeHash(0)
                    try db.cachedStatement(sql: insertEvent).execute(arguments: [
                        seq, "\(idPrefix)-\(index + 1)-\(padded(i + 1, 6))", stream, Int64(i + 1), "charge", Int64(1250), "EUR", nil,
                        EventData.payloadText, timestampNow(), previousHash, fakeHash(seq),
                    ])
                }
            }
        }
    }
}

/// Minimal JSON string escaping for the peers' exports.
enum JSONText {
    static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: Array(#"\u00"#.utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 15)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// A buffered file written with write(2), then fsync, rename over the target, directory fsync.
final class FileOutput {
    let path: String
    let fd: Int32
    var buffer: [UInt8] = []

    init(path: String) throws {
        self.path = path
        fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PeerError("open \(path): errno \(errno)") }
        buffer.reserveCapacity(64 * 1024)
    }

    func write(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 64 * 1024 { try flush() }
    }

    func flush() throws {
        try buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; throw PeerError("write \(path): errno \(errno)") }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    func commit(to target: String) throws {
        try flush()
        guard fsync(fd) == 0 else { throw PeerError("fsync \(path): errno \(errno)") }
        close(fd)
        guard rename(path, target) == 0 else { throw PeerError("rename \(path): errno \(errno)") }
        let directory = Glibc.open((target as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY)
        if directory >= 0 { fsync(directory); close(directory) }
    }
}
