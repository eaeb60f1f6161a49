/// A never-ending, gap-free read of the ledger: first every event after a position (read
/// from storage a page at a time), then each new event as soon as its commit is durable,
/// whichever connection or process made it.
///
/// ```swift
/// for try await update in store.ledger.follow(after: 0) {
///     switch update {
///     case .event(let event): print(event.seq, event.kind)
///     case .caughtUp(let seq): print("live from seq \(seq)")
///     }
/// }
/// ```
///
/// ## Why it never skips, repeats or reorders
///
/// Every `seq` is assigned inside the single writer's transaction, as the previous `seq`
/// plus one (a trigger refuses anything else), so seqs become visible in commit order and a
/// reader's snapshot holding `seq` N holds every seq below it. The feed asks for
/// `seq > position` and moves `position` to the last seq it read, so an event is delivered
/// once, in order, and never skipped, however many writers commit at once. A wake-up only
/// makes the feed read again from its position: a lost or merged notification delays it,
/// never makes it skip.
///
/// ## What is verified
///
/// Every event's hash is recomputed as it is read. Without filters the feed also checks
/// that each event's `prev_hash` is the hash of the event before it (the event at `after`
/// included), so the events it delivers are the chain `verify` checks.
///
/// Once caught up, a feed without a stream filter takes the events this process's own
/// writer commits from memory (the store keeps its latest commits' events, up to a few
/// thousand, once a feed has waited) instead of reading them back: they are the events the
/// writer hashed and committed. The chain's links are still checked, and whatever memory
/// does not hold without a gap up to every head announced, another process's commit
/// included, is read from the database.
///
/// ## Latency
///
/// In-process commits wake the feed at once. Commits by other processes are noticed
/// through a file-change notification on Linux and a cheap `PRAGMA data_version` probe
/// (no table is read), with a fallback check every 250 ms (20 ms where the platform has
/// no notification). The README gives the measured figures.
///
/// A feed is a value: iterate it from one task or thread at a time.
public struct LedgerFeed: AsyncSequence, Sendable {
    /// What the feed delivers.
    public enum Update: Sendable, Hashable {
        /// The next event after the feed's position that passes its filters.
        case event(LedgerEvent)
        /// The feed has delivered everything committed when it got here and now waits for
        /// new commits. Sent once, at the end of the catch-up; `seq` is the ledger's head
        /// then (events after it come live).
        case caughtUp(seq: Int64)
    }

    /// The type of element the sequence yields.
    public typealias Element = Update

    let store: Store
    /// Only this stream's events, when set.
    public let stream: String?
    /// Only events of these kinds, when set.
    public let kinds: Set<String>?
    /// The seq of the last event the feed has looked at (delivered or filtered out).
    public private(set) var position: Int64
    private let pageSize: Int
    private var buffer: [LedgerEvent] = []
    private var index = 0
    /// The stream version of the last event of `stream` looked at (stream filter only).
    private var streamVersion: Int64?
    /// The hash of the event at `position` (no filters only), to check the chain's links.
    private var previousHash: String?
    private var reachedHead = false
    private var announcedCaughtUp = false
    private var started = false
    /// The commit generation taken just before the last read, when that read reached the
    /// head. While the store's generation is still this, every commit the feed could see was
    /// in that read: reading again would find nothing, so the feed waits instead.
    private var drainedAt: UInt64?

    init(store: Store, after position: Int64, stream: String?, kinds: Set<String>?, pageSize: Int) {
        self.store = store
        self.position = position
        self.stream = stream
        self.kinds = kinds
        self.pageSize = Swift.max(1, Swift.min(pageSize, 10_000))
    }

    /// The next update, blocking the calling thread while there is none.
    ///
    /// - Parameter timeout: Seconds to wait for a new commit once caught up; nil waits as
    ///   long as it takes.
    /// - Returns: The next update, or nil when `timeout` passed without one.
    /// - Throws: ``TallyError/corruptDatabase(path:detail:)`` for an event that was altered
    ///   or a broken chain link, ``TallyError/invalidInput(field:reason:)`` for a starting
    ///   position beyond the ledger's head, and the errors of reading the database.
    public mutating func next(timeout: Double? = nil) throws(TallyError) -> Update? {
        let deadline = timeout.map { ContinuousClock.now.advanced(by: .seconds(Swift.max(0, $0))) }
        while true {
            if let update = try take() { return update }
            let generation = store.commits.current
            if drainedAt != generation {
                if !refillFromMemory() { try refill(at: generation) }
                if index < buffer.count || !reachedHead || !announcedCaughtUp { continue }
            }
            startWatching()
            var remaining = Double.infinity
            if let deadline {
                let left = ContinuousClock.now.duration(to: deadline).components
                remaining = Double(left.seconds) + Double(left.attoseconds) / 1e18
                if remaining <= 0 { return nil }
            }
            store.commits.wait(after: generation, seconds: Swift.min(remaining, 3_600))
        }
    }

    /// The next update for `async` callers: suspends (without holding a thread) while there
    /// is none. Returns nil only when the task is cancelled.
    mutating func nextAsync() async throws(TallyError) -> Update? {
        while !Task.isCancelled {
            if let update = try take() { return update }
            let generation = store.commits.current
            if drainedAt != generation {
                if !refillFromMemory() {
                    let feed = self
                    self = try await store.queues.read { () throws(TallyError) -> LedgerFeed in
                        var copy = feed
                        try copy.refill(at: generation)
                        return copy
                    }
                }
                if index < buffer.count || !reachedHead || !announcedCaughtUp { continue }
            }
            startWatching()
            await store.commits.waitAsync(after: generation)
        }
        return nil
    }

    /// A buffered event, or the caught-up marker when it is due.
    private mutating func take() throws(TallyError) -> Update? {
        if index < buffer.count {
            let event = buffer[index]
            index += 1
            return .event(event)
        }
        if reachedHead, !announcedCaughtUp {
            announcedCaughtUp = true
            return .caughtUp(seq: position)
        }
        return nil
    }

    /// Before the first wait: commits of other connections wake the feed from now on, and
    /// the store keeps its own commits' events for it.
    private func startWatching() {
        store.changeWatcher.start()
        store.commits.keepRecentEvents()
    }

    /// Takes the events after `position` from the store's own latest commits, kept in
    /// memory, when they continue from it: a feed following this process's writers then
    /// reads nothing back. They are the events the writer hashed and committed, not a read
    /// of storage (every event read from the database is verified). Only once caught up and
    /// without a stream filter (whose position is the stream's version); the chain's links
    /// are still checked, and anything unexpected leaves the read to the database.
    /// Returns whether it took the place of a read.
    private mutating func refillFromMemory() -> Bool {
        guard reachedHead, stream == nil, let recent = store.commits.recentEvents(after: position, limit: pageSize),
              !recent.events.isEmpty || recent.complete
        else { return false }
        var link = previousHash
        for event in recent.events {
            guard link == nil || event.prevHash == link else { return false }
            link = event.hash
        }
        previousHash = link
        position = recent.events.last?.seq ?? position
        buffer = kinds.map { wanted in recent.events.filter { wanted.contains($0.kind) } } ?? recent.events
        index = 0
        drainedAt = recent.complete ? recent.generation : nil
        return true
    }

    /// Reads the next page after `position` in one read transaction; `generation` is the
    /// store's commit generation taken before it.
    private mutating func refill(at generation: UInt64) throws(TallyError) {
        var page = FeedPage(position: position, streamVersion: streamVersion, previousHash: previousHash, started: started)
        let (stream, kinds, size) = (self.stream, self.kinds, pageSize)
        try store.readTransaction { (db: Connection) throws(TallyError) -> Void in
            try page.read(stream: stream, kinds: kinds, limit: size, on: db)
        }
        started = true
        position = page.position
        streamVersion = page.streamVersion
        previousHash = page.previousHash
        buffer = page.events
        index = 0
        // Once at the head, stay "reached": a later full page only means more arrived.
        if page.reachedHead { reachedHead = true }
        drainedAt = page.reachedHead ? generation : nil
    }

    /// An iterator that waits for new commits when caught up.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var feed: LedgerFeed

        /// The next update; nil once the task is cancelled.
        public mutating func next() async throws(TallyError) -> Update? {
            try await feed.nextAsync()
        }

        /// The next update (the isolation-aware form the standard library calls).
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(TallyError) -> Update? {
            try await feed.nextAsync()
        }
    }

    /// An iterator starting at the feed's position.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(feed: self)
    }
}

/// One read of the feed, on a connection inside a transaction: the events after a
/// position, filtered, with the new position and whether the head was reached. Shared by
/// ``LedgerFeed`` (on a reader) and ``Consumer`` (inside its write transaction).
struct FeedPage {
    /// Where the page started.
    let start: Int64
    var position: Int64
    var streamVersion: Int64?
    var previousHash: String?
    var started: Bool
    var events: [LedgerEvent] = []
    var reachedHead = false

    init(position: Int64, streamVersion: Int64? = nil, previousHash: String? = nil, started: Bool = false) {
        self.start = position
        self.position = position
        self.streamVersion = streamVersion
        self.previousHash = previousHash
        self.started = started
    }

    mutating func read(stream: String?, kinds: Set<String>?, limit: Int, on db: Connection) throws(TallyError) {
        let head = try LedgerTable.head(on: db)
        if !started {
            guard position >= 0, position <= head.seq else {
                throw TallyError.invalidInput(
                    field: "after", reason: "seq \(position) is beyond the ledger's head (seq \(head.seq)); follow from a seq the ledger has, or 0 for the start")
            }
            if stream == nil, position > 0 {
                // The event the feed starts after, verified, anchors the first link check.
                previousHash = try LedgerTable.event(seq: position, on: db)?.hash
            }
            started = true
        }
        let read: [LedgerEvent]
        if let stream {
            let version: Int64
            if let known = streamVersion { version = known } else { version = try LedgerTable.streamVersion(stream, atOrBefore: position, on: db) }
            read = try LedgerTable.events(inStream: stream, afterVersion: version, limit: limit, on: db)
            streamVersion = read.last?.streamVersion ?? version
        } else {
            read = try LedgerTable.events(from: position + 1, through: .max, limit: limit, on: db)
            for event in read {
                if let previousHash, event.prevHash != previousHash {
                    throw TallyError.corruptDatabase(
                        path: db.path,
                        detail: "the ledger chain breaks at seq \(event.seq): its prev_hash \(event.prevHash) is not the hash of seq \(event.seq - 1) (\(previousHash))")
                }
                previousHash = event.hash
            }
        }
        events = kinds.map { wanted in read.filter { wanted.contains($0.kind) } } ?? read
        if read.count < limit {
            // The page ended before `limit`: everything committed up to `head` was read.
            reachedHead = true
            position = Swift.max(read.last?.seq ?? position, head.seq)
        } else {
            position = read.last?.seq ?? position
        }
    }
}

extension Ledger {
    /// Follows the ledger: every event after `after` (0 = from the first), then each new
    /// one as it is committed, by this process or any other. See ``LedgerFeed``.
    ///
    /// Named `follow` rather than `events(after:)` because it never ends: ``events(from:through:pageSize:)``
    /// reads what is there and stops.
    ///
    /// - Parameters:
    ///   - after: Deliver events with a greater seq. Must not be beyond the head.
    ///   - stream: Only this stream's events.
    ///   - kinds: Only events of these kinds.
    ///   - pageSize: Events read per query while catching up.
    public func follow(after: Int64 = 0, stream: String? = nil, kinds: Set<String>? = nil, pageSize: Int = 256) -> LedgerFeed {
        LedgerFeed(store: context.store, after: after, stream: stream, kinds: kinds, pageSize: pageSize)
    }
}
