import Foundation
import Testing
@testable import Tally

/// `ledger.follow`: catch up from storage, say so, then deliver each new commit, never
/// skipping, repeating or reordering, and verifying what it delivers.
@Suite("Follow: the feed catches up, says so, then delivers every commit once and in order")
struct LedgerFeedTests {
    let directory = TemporaryDirectory("tally-feed")

    private func store(_ stores: TestStores, events: Int = 0) throws -> Store {
        let store = try stores.store("feed")
        for index in 0..<events {
            try store.ledger.append(stream: "s/\(index % 3)", kind: index % 2 == 0 ? "charge" : "payment", amount: Int64(index + 1), currency: "EUR")
        }
        return store
    }

    @Test("catch-up from storage in pages, one caught-up marker at the head, then live events from another thread", arguments: Backend.available)
    func catchUpThenLive(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try store(stores, events: 1_000)
        var feed = store.ledger.follow(after: 0, pageSize: 64)
        var seqs: [Int64] = []
        var marker: Int64?
        while marker == nil, let update = try feed.next(timeout: 5) {
            switch update {
            case let .event(event): seqs.append(event.seq)
            case let .caughtUp(seq): marker = seq
            }
        }
        #expect(seqs == Array(1...1_000))
        #expect(marker == 1_000)
        let writer = Thread {
            for index in 0..<50 { _ = try? store.ledger.append(stream: "live", kind: "charge", eventID: "live-\(index)") }
        }
        writer.start()
        var live: [Int64] = []
        while live.count < 50, let update = try feed.next(timeout: 10) {
            guard case let .event(event) = update else { Issue.record("a second caught-up marker"); break }
            live.append(event.seq)
        }
        #expect(live == Array(1_001...1_050))
        #expect(feed.position == 1_050)
    }

    /// The feed's next `count` events, failing the test at a timeout or a caught-up marker.
    private func events(_ count: Int, of feed: inout LedgerFeed, within seconds: Double = 10) throws -> [LedgerEvent] {
        var events: [LedgerEvent] = []
        while events.count < count {
            guard let update = try feed.next(timeout: seconds) else {
                Issue.record("no event for \(seconds) s after \(events.count) of \(count)")
                break
            }
            guard case let .event(event) = update else { continue }
            events.append(event)
        }
        return events
    }

    @Test("this process's commits reach its waiting followers from memory, exactly as committed: the rows are not read back")
    func ownCommitsFromMemory() throws {
        let path = directory.file("memory.db")
        let store = try Store(path: path)
        try store.ledger.append(stream: "s", kind: "charge", amount: 1, currency: "EUR")
        var feed = store.ledger.follow(after: 0)
        #expect(try events(1, of: &feed).map(\.seq) == [1])
        #expect(try feed.next(timeout: 5) == .caughtUp(seq: 1))
        #expect(try feed.next(timeout: 0.05) == nil)  // it waited: the store now keeps its commits' events
        let appended = try store.ledger.append(contentsOf: (2...4).map { NewEvent(stream: "s", kind: "charge", amount: Int64($0), currency: "EUR", payload: ["n": .number(Double($0))]) })
        // Rewritten behind Tally's back before the follower looks: a read of the rows would
        // fail their hash check.
        let db = try SQLiteConnection(path: path)
        try db.execute("DROP TRIGGER ledger_no_update")
        try db.execute(#"UPDATE ledger SET payload = '{"n":0}' WHERE seq >= 2"#)
        #expect(try events(3, of: &feed) == appended)
        #expect(try !store.verify().isClean)
    }

    @Test("another connection's commit between two of this process's is read from the database, never waited for in memory")
    func foreignCommitBetweenOwn() throws {
        let path = directory.file("mixed.db")
        let store = try Store(path: path)
        let other = try Store(path: path)
        var feed = store.ledger.follow(after: 0)
        #expect(try feed.next(timeout: 5) == .caughtUp(seq: 0))
        #expect(try feed.next(timeout: 0.05) == nil)
        Thread.sleep(forTimeInterval: 0.3)  // the change watcher's first data_version read
        let first = try store.ledger.append(stream: "own", kind: "charge", amount: 1, currency: "EUR")
        #expect(try events(1, of: &feed) == [first])
        let before = store.commits.current
        let foreign = try other.ledger.append(stream: "other", kind: "charge", amount: 2, currency: "EUR")
        _ = store.commits.generation(after: before, within: 10)
        // Announced by the watcher: the memory ends at seq 1, below it, so the feed reads.
        #expect(try events(1, of: &feed, within: 5) == [foreign])
        let third = try store.ledger.append(stream: "own", kind: "charge", amount: 3, currency: "EUR")
        #expect(try events(1, of: &feed) == [third])
    }

    @Test("a timeout with nothing new returns nil; an empty ledger is caught up at seq 0", arguments: Backend.available)
    func timeout(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try store(stores)
        var feed = store.ledger.follow()
        #expect(try feed.next(timeout: 1) == .caughtUp(seq: 0))
        let started = ContinuousClock.now
        #expect(try feed.next(timeout: 0.2) == nil)
        #expect(ContinuousClock.now - started >= .milliseconds(200))
    }

    @Test("for try await: concurrent async appenders, every seq exactly once, in order; cancellation ends it", arguments: Backend.available)
    func asyncFeed(backend: Backend) async throws {
        let stores = TestStores(backend)
        let store = try store(stores, events: 10)
        let follower = Task { () throws -> [Int64] in
            var seen: [Int64] = []
            for try await update in store.ledger.follow(after: 5) {
                if case let .event(event) = update { seen.append(event.seq) }
                if seen.count == 205 { break }
            }
            return seen
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask { try await store.ledger.append(NewEvent(stream: "t/\(index % 7)", kind: "k", eventID: "a-\(index)")) }
            }
            try await group.waitForAll()
        }
        #expect(try await follower.value == Array(6...210))

        let received = Locked(0)
        let idle = Task { () throws -> Int in
            for try await _ in store.ledger.follow(after: 210) { received.withLock { $0 += 1 } }
            return received.withLock { $0 }
        }
        // Cancel once the caught-up marker has arrived (a PostgreSQL follower first connects
        // and LISTENs, which takes a while on a loaded machine), then the sequence must end.
        let deadline = ContinuousClock.now + .seconds(30)
        while received.withLock({ $0 }) == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(50))
        idle.cancel()
        #expect(try await idle.value == 1)  // the caught-up marker, then the cancellation ends it
    }

    @Test("stream and kind filters deliver only matching events, yet the position moves past the others", arguments: Backend.available)
    func filters(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try store(stores, events: 30)
        var feed = store.ledger.follow(after: 0, stream: "s/1", kinds: ["charge"], pageSize: 4)
        var delivered: [LedgerEvent] = []
        while let update = try feed.next(timeout: 0) {
            if case let .event(event) = update { delivered.append(event) }
        }
        #expect(!delivered.isEmpty)
        #expect(delivered.allSatisfy { $0.stream == "s/1" && $0.kind == "charge" })
        #expect(delivered.map(\.seq) == delivered.map(\.seq).sorted())
        #expect(feed.position == 30)
        var all = store.ledger.events()
        let expected = try all.collect().filter { $0.stream == "s/1" && $0.kind == "charge" }.map(\.seq)
        #expect(delivered.map(\.seq) == expected)
    }

    @Test("starting beyond the head is refused, naming the head", arguments: Backend.available)
    func beyondHead(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try store(stores, events: 3)
        var feed = store.ledger.follow(after: 7)
        let error = try #require(throws: TallyError.self) { _ = try feed.next(timeout: 0) }
        #expect(error.problem.contains("seq 7") && error.problem.contains("seq 3"), "\(error)")
    }

    @Test("an edited event is corruption; an edit that recomputed its own hash is caught by the next link")
    func verified() throws {
        let stores = TestStores(.sqlite)
        let store = try store(stores, events: 5)
        let fixture = ReconcileFixture.self
        try fixture.tamper(store.path, "UPDATE ledger SET amount = 99 WHERE seq = 2", dropping: ["ledger_no_update"])
        var feed = store.ledger.follow()
        let edited = try #require(throws: TallyError.self) { while try feed.next(timeout: 0) != nil {} }
        #expect(edited.problem.contains("seq 2"), "\(edited)")

        // Rewrite seq 2 consistently: content and its own hash agree, the chain does not.
        let row = try store.sql { db -> LedgerEvent in
            let statement = try db.prepare("SELECT \(LedgerTable.columns) FROM ledger WHERE seq = 2")
            _ = try statement.step()
            return try LedgerTable.unverifiedEvent(from: statement, path: db.path)
        }
        var fields = LedgerHash.Fields(row)
        fields.amount = 99
        let forged = try LedgerHash.hash(fields, payload: row.payload)
        try fixture.tamper(store.path, "UPDATE ledger SET amount = 99, hash = '\(forged)' WHERE seq = 2", dropping: ["ledger_no_update"])
        var again = store.ledger.follow()
        let link = try #require(throws: TallyError.self) { while try again.next(timeout: 0) != nil {} }
        #expect(link.problem.contains("chain breaks at seq 3"), "\(link)")
    }

    /// Follows an empty store from its head while another process appends `childEvents`
    /// events (and this one `localEvents`, from a thread of its own); the seqs delivered.
    private func seqsFollowed(_ backend: Backend, childEvents: Int, localEvents: Int = 0) throws -> [Int64] {
        let stores = TestStores(backend)
        let store = try store(stores)
        var feed = store.ledger.follow()
        #expect(try feed.next(timeout: 1) == .caughtUp(seq: 0))
        let child = try ChildProcess.start(["ledger-append", try stores.location("feed"), "other", "\(childEvents)"])
        let local = Thread {
            for index in 0..<localEvents { _ = try? store.ledger.append(stream: "local", kind: "charge", amount: Int64(index + 1), currency: "EUR") }
        }
        local.start()
        var seqs: [Int64] = []
        while seqs.count < childEvents + localEvents, let update = try feed.next(timeout: 20) {
            if case let .event(event) = update { seqs.append(event.seq) }
        }
        _ = child.output.fileHandleForReading.readDataToEndOfFile()
        child.process.waitUntilExit()
        return seqs
    }

    @Test("another process's commits are noticed without polling the table, within the fallback interval at worst", arguments: Backend.available)
    func otherProcess(backend: Backend) throws {
        let started = ContinuousClock.now
        #expect(try seqsFollowed(backend, childEvents: 40) == Array(1...40))
        #expect(ContinuousClock.now - started < .seconds(20))
    }

    @Test("this process and another appending at once: the follower gets every seq once, in order", arguments: Backend.available)
    func bothProcesses(backend: Backend) throws {
        #expect(try seqsFollowed(backend, childEvents: 60, localEvents: 60) == Array(1...120))
    }
}

/// The notifier's mark of the last announced seq, which lets the change watcher stay quiet
/// about commits this process announced itself.
@Suite("Commit notifier: a head already announced is not announced again; any other head is")
struct CommitNotifierTests {
    @Test("own commits set the mark; the watcher's report of the same head wakes no one; a later or an earlier head does")
    func announcedHeads() {
        let notifier = CommitNotifier()
        let start = notifier.current
        notifier.notify(headSeq: 10)
        #expect(notifier.current == start + 1)
        #expect(!notifier.notifyUnlessAnnounced(headSeq: 10))
        #expect(notifier.current == start + 1)
        #expect(notifier.notifyUnlessAnnounced(headSeq: 12))  // another process appended 11 and 12
        #expect(notifier.current == start + 2)
        #expect(!notifier.notifyUnlessAnnounced(headSeq: 12))
        // A restore to an earlier state: the lower head is news, and becomes the mark.
        #expect(notifier.notifyUnlessAnnounced(headSeq: 5))
        #expect(notifier.current == start + 3)
        #expect(notifier.notifyUnlessAnnounced(headSeq: 6))
        // A commit whose head is unknown wakes followers and leaves the mark alone.
        notifier.notify()
        #expect(notifier.current == start + 5)
        #expect(!notifier.notifyUnlessAnnounced(headSeq: 6))
    }

    @Test("only the store's own commits count as its writer being busy; the watcher's announcements do not")
    func ownCommitClock() {
        let notifier = CommitNotifier()
        #expect(notifier.nanosecondsSinceOwnCommit == .max)
        #expect(notifier.notifyUnlessAnnounced(headSeq: 4))
        notifier.notify()
        #expect(notifier.nanosecondsSinceOwnCommit == .max)
        notifier.notify(headSeq: 5)
        #expect(notifier.nanosecondsSinceOwnCommit < 1_000_000_000)
        Thread.sleep(forTimeInterval: 0.01)
        #expect(notifier.nanosecondsSinceOwnCommit >= 10_000_000)
    }

    /// An event with `seq` (its other fields do not matter here).
    private func event(_ seq: Int64) -> LedgerEvent {
        LedgerEvent(seq: seq, eventID: "e\(seq)", stream: "s", streamVersion: seq, kind: "k", amount: nil, currency: nil,
                    quantity: nil, payload: .object([:]), recordedAt: "2026-11-30T00:00:00.000Z",
                    prevHash: String(repeating: "0", count: 64), hash: String(repeating: "1", count: 64))
    }

    @Test("kept events: own commits without a gap, complete only up to every head announced; a gap, an unknown commit or a lower head forgets")
    func keptEvents() {
        let notifier = CommitNotifier()
        notifier.notify(headSeq: 2, committed: [event(1), event(2)])
        #expect(notifier.recentEvents(after: 0, limit: 10) == nil)  // nothing kept before a follower waits
        notifier.keepRecentEvents()
        notifier.notify(headSeq: 3, committed: [event(3)])
        #expect(notifier.recentEvents(after: 2, limit: 10)?.events.map(\.seq) == [3])
        #expect(notifier.recentEvents(after: 2, limit: 10)?.complete == true)
        #expect(notifier.recentEvents(after: 1, limit: 10) == nil)  // seq 2 is not kept
        notifier.notify(headSeq: 5, committed: [event(4), event(5)])
        #expect(notifier.recentEvents(after: 2, limit: 2)?.events.map(\.seq) == [3, 4])
        #expect(notifier.recentEvents(after: 2, limit: 2)?.complete == false)  // the limit stopped it
        // Another process appended 6: what is kept no longer reaches the head.
        #expect(notifier.notifyUnlessAnnounced(headSeq: 6))
        #expect(notifier.recentEvents(after: 5, limit: 10)?.events.isEmpty == true)
        #expect(notifier.recentEvents(after: 5, limit: 10)?.complete == false)
        // The store's next commit does not continue the kept events: they start again.
        notifier.notify(headSeq: 8, committed: [event(7), event(8)])
        #expect(notifier.recentEvents(after: 5, limit: 10) == nil)
        #expect(notifier.recentEvents(after: 6, limit: 10)?.events.map(\.seq) == [7, 8])
        #expect(notifier.recentEvents(after: 6, limit: 10)?.complete == true)
        // A lower head (a restore, or a head read before the last commit): kept events
        // beyond it go, and the rest is complete no more.
        #expect(notifier.notifyUnlessAnnounced(headSeq: 7))
        #expect(notifier.recentEvents(after: 6, limit: 10)?.events.map(\.seq) == [7])
        #expect(notifier.recentEvents(after: 6, limit: 10)?.complete == false)
        // A commit whose events are not known (a snapshot import) forgets them all.
        notifier.notify(headSeq: 9)
        #expect(notifier.recentEvents(after: 6, limit: 10) == nil)
        // A commit larger than what is kept: only its last events, and nothing before them.
        notifier.notify(headSeq: 10, committed: [event(10)])
        let large = (11...(11 + Int64(CommitNotifier.recentLimit))).map(event)
        notifier.notify(headSeq: large.last?.seq, committed: large)
        #expect(notifier.recentEvents(after: 10, limit: 10) == nil)
        #expect(notifier.recentEvents(after: 11, limit: 1)?.events.map(\.seq) == [12])
    }

    @Test("an own commit whose head the watcher announced first wakes no one again; the next one does")
    func watcherFirst() {
        let notifier = CommitNotifier()
        notifier.notify(headSeq: 7)
        let start = notifier.current
        #expect(notifier.notifyUnlessAnnounced(headSeq: 8))  // the NOTIFY of this process's commit 8 came first
        notifier.notify(headSeq: 8)  // then the writer's own announcement
        #expect(notifier.current == start + 1)
        notifier.notify(headSeq: 9)
        #expect(notifier.current == start + 2)
        // After a restore below the mark, own commits still wake followers.
        #expect(notifier.notifyUnlessAnnounced(headSeq: 2))
        notifier.notify(headSeq: 3)
        #expect(notifier.current == start + 4)
    }

    @Test("a waiter blocked on the current generation wakes when a new head is announced, not for the announced one")
    func waiterWakes() {
        let notifier = CommitNotifier()
        notifier.notify(headSeq: 3)
        let generation = notifier.current
        let woke = Locked<UInt64?>(nil)
        // A real thread and a long timeout: the test machine may be slow, never the wake-up.
        let waiter = Thread {
            let value = notifier.wait(after: generation, seconds: 600)
            woke.withLock { $0 = value }
        }
        waiter.start()
        Thread.sleep(forTimeInterval: 0.05)
        #expect(!notifier.notifyUnlessAnnounced(headSeq: 3))
        Thread.sleep(forTimeInterval: 0.05)
        #expect(woke.withLock { $0 } == nil)
        #expect(notifier.notifyUnlessAnnounced(headSeq: 4))
        for _ in 0..<1_000 where woke.withLock({ $0 }) == nil { Thread.sleep(forTimeInterval: 0.01) }
        #expect(woke.withLock { $0 } == generation + 1)
    }
}
