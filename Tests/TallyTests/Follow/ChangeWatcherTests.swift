import Foundation
import Logging
import Testing
@testable import Tally

/// The change watcher: commits by other connections wake this process's followers, unless
/// they left the ledger's head where this process last announced it.
@Suite("Change watcher: another connection's new ledger head wakes followers; an unchanged head does not")
struct ChangeWatcherTests {
    let directory = TemporaryDirectory("tally-watcher")

    /// Starts `store`'s watcher and gives it time for its first data_version read (the
    /// store stops it when it goes away).
    private func startWatching(_ store: Store) {
        store.changeWatcher.start()
        Thread.sleep(forTimeInterval: 0.3)
    }

    /// Two stores on one new database file `name`, the first one's watcher started.
    private func watchedAndOther(_ name: String) throws -> (watched: Store, other: Store) {
        let path = directory.file(name)
        let stores = (watched: try Store(path: path), other: try Store(path: path))
        startWatching(stores.watched)
        return stores
    }

    @Test("a state write elsewhere leaves followers asleep; an append elsewhere wakes them")
    func headDecides() throws {
        let (watched, other) = try watchedAndOther("watched.db")
        let before = watched.commits.current
        try other.state.put("doc/1", body: ["n": 1])
        // Absence can only be shown by waiting: past the fallback interval (0.25 s) and the
        // watcher's backoff, a wake-up would have come.
        #expect(watched.commits.generation(after: before, within: 1.0) == before)
        try other.ledger.append(stream: "s", kind: "charge", amount: 1, currency: "EUR")
        #expect(watched.commits.generation(after: before, within: 10) > before)
    }

    @Test("a burst of the store's own appends (the watch off) followed at once by another store's append: followers wake for it")
    func afterOwnBurst() throws {
        let (watched, other) = try watchedAndOther("burst.db")
        for amount in 1...200 {
            try watched.ledger.append(stream: "own", kind: "charge", amount: Int64(amount), currency: "EUR")
        }
        let before = watched.commits.current
        let foreign = try other.ledger.append(stream: "foreign", kind: "charge", amount: 1, currency: "EUR")
        #expect(foreign.seq == 201)
        #expect(watched.commits.generation(after: before, within: 10) > before)
    }

    @Test("while the store's own appends come less than 2 ms apart the watch is off; once they stop it is set again")
    func watchOffWhileBusy() throws {
        var configuration = Store.Configuration()
        configuration.synchronous = .normal  // commits close together even on a slow disk
        let store = try Store(path: directory.file("busy.db"), configuration: configuration)
        startWatching(store)
        #expect(!store.changeWatcher.isWatchOff)
        var sawOff = false
        let until = ContinuousClock.now + .seconds(3)
        var amount: Int64 = 0
        while !sawOff, ContinuousClock.now < until {
            amount += 1
            try store.ledger.append(stream: "s", kind: "charge", amount: amount, currency: "EUR")
            sawOff = store.changeWatcher.isWatchOff
        }
        #expect(sawOff, "the watch stayed on through \(amount) appends")
        let quiet = ContinuousClock.now + .seconds(5)
        while store.changeWatcher.isWatchOff, ContinuousClock.now < quiet { Thread.sleep(forTimeInterval: 0.005) }
        #expect(!store.changeWatcher.isWatchOff)
    }

    @Test("a watch that cannot be set again (the database's directory moved while it was off) is logged once, and another store's commit still wakes followers",
          .enabled(if: FileChangeMonitor.isAvailable, "inotify is Linux's"))
    func watchNotSetAgainKeepsPolling() throws {
        let before = directory.file("before")
        try FileManager.default.createDirectory(atPath: before, withIntermediateDirectories: false)
        let recorder = LogRecorder()
        var configuration = Store.Configuration()
        configuration.synchronous = .normal  // commits close together even on a slow disk
        configuration.logger = recorder.logger
        let store = try Store(path: before + "/moving.db", configuration: configuration)
        startWatching(store)
        var amount: Int64 = 0
        let until = ContinuousClock.now + .seconds(3)
        while !store.changeWatcher.isWatchOff, ContinuousClock.now < until {
            amount += 1
            try store.ledger.append(stream: "own", kind: "charge", amount: amount, currency: "EUR")
        }
        try #require(store.changeWatcher.isWatchOff, "the watch stayed on through \(amount) appends")
        // The watch is set again by the directory's path; once moved, that path is gone.
        let after = directory.file("after")
        try FileManager.default.moveItem(atPath: before, toPath: after)

        let complaint = "could not watch the database's directory again"
        let quiet = ContinuousClock.now + .seconds(5)
        while !recorder.messages(at: .debug).contains(where: { $0.contains(complaint) }), ContinuousClock.now < quiet {
            Thread.sleep(forTimeInterval: 0.005)
        }
        Thread.sleep(forTimeInterval: 0.1)  // some fifty more tries, every 2 ms
        #expect(recorder.messages(at: .debug).filter { $0.contains(complaint) }.count == 1)
        #expect(store.changeWatcher.isWatchOff)

        // Polling goes on: another store (another process, as far as the watcher knows)
        // appending through the directory's new path wakes this store's followers.
        let other = try Store(path: after + "/moving.db")
        let generation = store.commits.current
        let foreign = try other.ledger.append(stream: "foreign", kind: "charge", amount: 1, currency: "EUR")
        #expect(foreign.seq == amount + 1)
        #expect(store.commits.generation(after: generation, within: 10) > generation)
    }

    @Test("the file monitor reports a write, none while paused, and writes again once resumed",
          .enabled(if: FileChangeMonitor.isAvailable, "inotify is Linux's"))
    func monitorPauses() throws {
        let path = directory.file("watched.txt")
        try Data("0".utf8).write(to: URL(fileURLWithPath: path))
        let monitor = try #require(FileChangeMonitor(directory: directory.path, names: ["watched.txt"]))
        let file = try #require(FileHandle(forWritingAtPath: path))
        defer { try? file.close() }
        file.write(Data("1".utf8))
        #expect(monitor.wait(seconds: 5))
        monitor.pause()
        #expect(monitor.isPaused)
        _ = monitor.wait(seconds: 0.05)  // the removal's own event, if any
        file.write(Data("2".utf8))
        #expect(!monitor.wait(seconds: 0.2))
        #expect(monitor.resume())
        #expect(!monitor.isPaused)
        file.write(Data("3".utf8))
        #expect(monitor.wait(seconds: 5))
    }

    @Test("a watch that cannot be set again (its directory is gone) stays paused, and waiting still times out",
          .enabled(if: FileChangeMonitor.isAvailable, "inotify is Linux's"))
    func monitorCannotResume() throws {
        let gone = directory.file("gone")
        try FileManager.default.createDirectory(atPath: gone, withIntermediateDirectories: false)
        let monitor = try #require(FileChangeMonitor(directory: gone, names: ["x"]))
        monitor.pause()
        try FileManager.default.removeItem(atPath: gone)
        #expect(!monitor.resume())
        #expect(monitor.isPaused)
        _ = monitor.wait(seconds: 0.05)  // the removal's own events, if any
        #expect(!monitor.wait(seconds: 0.1))
    }

    @Test("on PostgreSQL, the store's own append wakes followers once, and another store's append wakes them",
          .enabled(if: Backend.postgresURI != nil, "needs the PostgreSQL test server (TALLY_TEST_POSTGRES)"))
    func postgresOwnCommitsOnce() throws {
        let stores = TestStores(.postgres)
        let watched = try stores.store("watched")
        let other = try stores.store("watched")  // another store on the same database: another process, as far as NOTIFY goes
        watched.changeWatcher.start()
        defer { watched.changeWatcher.stop() }
        Thread.sleep(forTimeInterval: 0.5)  // the watcher's LISTEN session, and its first wake-up
        let before = watched.commits.current
        try watched.ledger.append(stream: "s", kind: "charge", amount: 1, currency: "EUR")
        let woken = watched.commits.generation(after: before, within: 10)
        #expect(woken == before + 1, "the commit itself wakes followers, once")
        // The NOTIFY of that commit arrives within milliseconds; past the fallback interval
        // (0.25 s) it has been handled, and it must not have woken anyone again. (Other
        // tests' commits on the server notify the same channel; their ledgers are in other
        // schemas, so they leave this head where it is and wake no one either.)
        #expect(watched.commits.generation(after: woken, within: 1.0) == woken)
        try other.ledger.append(stream: "s", kind: "charge", amount: 1, currency: "EUR")
        #expect(watched.commits.generation(after: woken, within: 10) > woken)
    }

    @Test("on PostgreSQL, a notification whose ledger head cannot be read still wakes followers",
          .enabled(if: Backend.postgresURI != nil, "needs the PostgreSQL test server (TALLY_TEST_POSTGRES)"))
    func postgresUnreadableHeadWakes() throws {
        let stores = TestStores(.postgres)
        let conninfo = try stores.conninfo("bare")  // a schema without Tally's tables: the head read fails
        let notifier = CommitNotifier()
        let watcher = ChangeWatcher(postgres: conninfo, display: "bare", notifier: notifier, logger: Logger(label: "test"))
        watcher.start()
        defer { watcher.stop() }
        // The watcher wakes followers once when its LISTEN session opens (a notification may
        // have been missed before it); wait for that first.
        let opened = notifier.generation(after: 0, within: 10)
        #expect(opened > 0)
        Thread.sleep(forTimeInterval: 0.3)
        let before = notifier.current
        try stores.raw("bare").execute("NOTIFY tally_ledger")
        #expect(notifier.generation(after: before, within: 10) > before)
    }

    /// Starts the watcher `makeWatcher` builds on a database holding one plain table (no
    /// ledger: reading the head fails), commits a row from another connection, and returns
    /// the notifier's generations before the commit and after it (or after 10 s).
    private func generationsAroundCommit(
        _ name: String, makeWatcher: (String, CommitNotifier) -> ChangeWatcher
    ) throws -> (before: UInt64, after: UInt64) {
        let path = directory.file(name)
        let writer = try SQLiteConnection(path: path)
        try writer.configure(SQLiteConnection.Configuration())
        try writer.execute("CREATE TABLE t (v INTEGER)")
        let notifier = CommitNotifier()
        let watcher = makeWatcher(path, notifier)
        watcher.start()
        defer { watcher.stop() }
        Thread.sleep(forTimeInterval: 0.3)
        let before = notifier.current
        try writer.execute("INSERT INTO t VALUES (1)")
        return (before, notifier.generation(after: before, within: 10))
    }

    @Test("when the system refuses a thread, the watch runs on a Dispatch queue and still wakes followers")
    func dispatchFallback() throws {
        let attempts = Locked(0)
        let generations = try generationsAroundCommit("fallback.db") { path, notifier in
            ChangeWatcher(path: path, notifier: notifier, logger: Logger(label: "test"),
                          startThread: { _, _ in attempts.withLock { $0 += 1 }; return false })
        }
        #expect(generations.after > generations.before)
        #expect(attempts.withLock { $0 } == 1)
    }

    @Test("a commit whose ledger head cannot be read still wakes followers")
    func unreadableHeadWakes() throws {
        let generations = try generationsAroundCommit("plain.db") { path, notifier in
            ChangeWatcher(path: path, notifier: notifier, logger: Logger(label: "test"))
        }
        #expect(generations.after > generations.before)
    }
}
