import Foundation
import Testing
@testable import Tally

/// What a PostgreSQL store says to SQLite's file maintenance, and what its statistics hold.
@Suite("Maintenance on a PostgreSQL store: SQLite-only calls are refused with the PostgreSQL tool to use, and change nothing")
struct MaintenanceOnPostgresTests {
    /// Runs only where the PostgreSQL test server is configured (`.ci/run` starts one).
    static var postgres: [Backend] { Backend.available.filter { $0 == .postgres } }

    @Test("checkpointWAL and backup name the call and the PostgreSQL alternative; the store still works", arguments: postgres)
    func refusals(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        try store.ledger.append(stream: "s", kind: "tick", payload: ["n": 1])
        let backups = stores.directory.file("backups")

        let checkpoint = try #require(throws: TallyError.self) { try store.checkpointWAL(truncate: true) }
        guard case let .invalidInput(field, reason) = checkpoint else {
            Issue.record("expected invalidInput, got \(checkpoint)")
            return
        }
        #expect(field == "store")
        #expect(reason.contains("checkpointWAL(truncate:)") && reason.contains("PostgreSQL checkpoints its own WAL"), "\(reason)")

        let backup = try #require(throws: TallyError.self) { try store.backup(toDirectory: backups) }
        #expect(backup.description.contains("backup(toDirectory:keep:progress:)"), "\(backup)")
        #expect(backup.description.contains("pg_basebackup or pg_dump"), "\(backup)")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: backups)) ?? []
        #expect(left.isEmpty, "\(left)")

        try store.ledger.append(stream: "s", kind: "tick", payload: ["n": 2])
        #expect(try store.ledger.head().seq == 2)
    }

    @Test("statistics report the server's figures: counts, its size, no SQLite file or WAL", arguments: postgres)
    func statistics(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        try store.write { tx in
            let event = try tx.ledger.append(stream: "s", kind: "tick", payload: ["n": 1])
            try tx.state.put("k/1", body: ["n": 1], causedBy: event)
        }
        try store.state.put("k/1", body: ["n": 2])
        let statistics = try store.statistics()
        #expect(statistics.journalMode == "postgresql")
        #expect(statistics.events == 1)
        #expect(statistics.ledgerHeadSeq == 1)
        #expect(statistics.documents == 1)
        #expect(statistics.historyRows == 2)
        #expect(statistics.databaseBytes > 0)
        #expect(statistics.walBytes == 0 && statistics.walFrames == 0)
        #expect(statistics.sqliteVersion.contains("PostgreSQL"))
    }
}
