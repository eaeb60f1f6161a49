import Foundation
import Testing

@testable import Tally

// Import writes only the database, inside one SQLite transaction: its durability is SQLite's
// own WAL protocol, which these tests do not model (SQLite's test suite covers it, and the
// kill -9 tests in Reliability/ cover Tally's use of it). What is checked here is the file
// side: reading a snapshot never creates, changes or removes a file besides the database's.

@Suite("Importing a snapshot only reads its file: nothing but the database's own files is created or changed")
struct ImportPowerLossTests {
    @Test("A replace import, a dry run and a refused import leave the snapshot's directory byte for byte, and only tally.db, -wal and -shm beside the database")
    func importTouchesOnlyTheDatabase() throws {
        let source = try PowerLossDatabase()
        try source.append(4)
        try source.put("invoices/1", "imported")
        let target = try PowerLossDatabase()
        try withTemporaryDirectory { directory in
            let snapshot = directory + "/ledger.tally"
            try source.store.exportSnapshot(to: snapshot)
            let bytes = contents(snapshot) ?? []
            try Data(bytes.prefix(bytes.count / 2)).write(to: URL(fileURLWithPath: directory + "/cut.tally"))

            let recording = try record(under: directory, observingExternalChanges: true) { _ in
                _ = try target.store.importSnapshot(from: snapshot, dryRun: true)
                #expect(throws: TallyError.self) { try target.store.importSnapshot(from: directory + "/cut.tally") }
                _ = try target.store.importSnapshot(from: snapshot)
            }
            #expect(recording.log.isEmpty, "import changed files beside the snapshot: \(recording.log)")
            #expect(recording.final == recording.initial)
            #expect(try target.store.ledger.head() == source.store.ledger.head())
            let names = try FileManager.default.contentsOfDirectory(atPath: target.directory.path)
            #expect(Set(names).isSubset(of: ["tally.db", "tally.db-wal", "tally.db-shm"]), "\(names)")
        }
    }
}
