import Foundation
import Testing
@testable import Tally

@Suite("Store lifetime: a store nobody references any more has closed everything it opened")
struct StoreLifetimeTests {
    /// Opens a store, writes, reads on a reader connection, follows the ledger and checks the
    /// database, then lets it go: the writer, the readers, the change watcher's and the
    /// checkpoint thread's connections all belong to it and must go with it.
    private func useAndDrop(_ stores: TestStores) throws {
        let store = try stores.store()
        try store.write { tx in
            let event = try tx.ledger.append(stream: "s", kind: "tick", payload: ["n": 1])
            try tx.state.put("k/\(event.seq)", body: ["seq": .number(Double(event.seq))], causedBy: event)
        }
        _ = try store.state.get("k/1")
        var feed = store.ledger.follow(after: 0)
        _ = try feed.next(timeout: 0.01)
        _ = try store.verify()
        try store.checkpointWAL()
    }

    #if os(Linux)
    @Test("SQLite: 20 stores opened, used and dropped leave no file of theirs open")
    func sqliteFilesClosed() throws {
        let stores = TestStores(.sqlite)
        /// This test's open files: descriptors whose target lies in its directory.
        func openHere() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { fd in
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)"))
                    .flatMap { $0.hasPrefix(stores.directory.path) ? $0 : nil }
            }
        }
        for _ in 0..<20 { try useAndDrop(stores) }
        #expect(openHere().isEmpty, "\(openHere())")
    }
    #endif

    @Test("PostgreSQL: 20 stores opened, used and dropped leave no session open on the server",
          arguments: Backend.available.filter { $0 == .postgres })
    func postgresSessionsClosed(backend: Backend) throws {
        let stores = TestStores(backend)
        let name = "lifetime_" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        // Each session of this test's stores carries `name` as its application name.
        let schema = try stores.conninfo("tally")
        let conninfo = schema + (schema.hasPrefix("postgres") ? "&application_name=" : " application_name=") + name
        for _ in 0..<20 {
            let store = try Store(postgres: conninfo)
            try store.write { tx in _ = try tx.ledger.append(stream: "s", kind: "tick", payload: ["n": 1]) }
            _ = try store.state.get("k/1")
            _ = try store.verify()
        }
        let admin = try stores.raw()
        // The server ends a session as soon as its client's connection closes; give it a moment.
        var open: Int64 = -1
        for _ in 0..<50 {
            open = try admin.scalarInt("SELECT count(*) FROM pg_stat_activity WHERE application_name = '\(name)'") ?? -1
            if open == 0 { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(open == 0)
    }
}
