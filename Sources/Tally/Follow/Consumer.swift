/// A named, durable reader of the ledger: its position (the seq of the last event it has
/// processed) is stored in the database, so it resumes where it stopped after a restart or
/// a crash.
///
/// ```swift
/// let totals = try store.consumer("customer-totals", kinds: ["charge", "payment"])
/// // Exactly once: each batch's state writes and the new position commit together.
/// try totals.process(timeout: nil) { event, tx in
///     let key = "totals/\(event.stream)"
///     let current = try tx.state.get(key)?.body["total"]?.intValue ?? 0
///     try tx.state.put(key, body: ["total": .number(Double(current + Int(event.amount ?? 0)))])
/// }
/// ```
///
/// Two ways to run one:
///
/// - `process` hands each event to a closure *inside the write transaction* that also
///   moves the position. Whatever the closure writes through `tx.ledger` and `tx.state`
///   commits together with the new position, or not at all: a projection kept in state
///   documents sees every event **exactly once**, across crashes. (Side effects outside
///   the database, such as sending mail, are not part of the transaction.)
/// - `deliver` hands each event to a closure outside any transaction and stores the new
///   position after the batch: **at-least-once**. A crash after the closure ran and before
///   the position was stored delivers those events again, so the closure must tolerate
///   repeats (for example by checking `event.seq`).
///
/// Only one `Consumer` value of a name runs at a time, in all processes together: creating
/// one takes an exclusive lock (a `flock` on `DB-consumer-NAME.lock`), released by
/// ``close()``, when the value is freed, or by the kernel when the process ends, crashes
/// included. A second one throws ``TallyError/consumerBusy(name:lockPath:)``.
///
/// The position never passes the ledger's head (the schema refuses it), and `verify`
/// reports a consumer left ahead of a ledger that lost its tail.
public final class Consumer: Sendable {
    /// A consumer as listed by ``Store/consumers()``.
    public struct Info: Sendable, Hashable, Codable {
        /// The consumer's name.
        public let name: String
        /// The seq of the last event it processed (0: none yet).
        public let position: Int64
        /// How many events the ledger has after ``position``.
        public let behind: Int64
        /// When it was created (RFC 3339 UTC).
        public let createdAt: String
        /// When its position last moved (RFC 3339 UTC).
        public let updatedAt: String
        /// Whether a process holds its lock now (nil when that could not be checked).
        public let isRunning: Bool?

        enum CodingKeys: String, CodingKey {
            case name, position, behind
            case createdAt = "created_at", updatedAt = "updated_at", isRunning = "is_running"
        }
    }

    /// The consumer's name.
    public let name: String
    /// Only this stream's events are handed over, when set (the position still moves past
    /// the others).
    public let stream: String?
    /// Only events of these kinds are handed over, when set.
    public let kinds: Set<String>?

    let store: Store
    private let lease: Lease

    init(store: Store, name: String, stream: String?, kinds: Set<String>?, lease: Lease) {
        self.store = store
        self.name = name
        self.stream = stream
        self.kinds = kinds
        self.lease = lease
    }

    /// The seq of the last event this consumer processed.
    public func position() throws(TallyError) -> Int64 {
        try store.readTransaction { (db: Connection) throws(TallyError) -> Int64 in try self.storedPosition(on: db) }
    }

    /// Releases the consumer's lock; the value cannot process afterwards.
    public func close() {
        lease.release()
    }

    // MARK: Exactly once

    /// Hands every event after the position to `handler`, in seq order, a batch at a time;
    /// each batch runs in one write transaction with the position update, so what `handler`
    /// writes through `tx` commits together with it, exactly once.
    ///
    /// When `handler` throws, its batch rolls back (the position stays before it) and the
    /// error comes back unchanged.
    ///
    /// - Parameters:
    ///   - batchSize: Events per transaction (1…10,000).
    ///   - timeout: Once caught up, seconds to wait for more: 0 (the default) returns at
    ///     once, nil waits until `handler` throws.
    ///   - handler: Called for each event with the transaction to write in.
    /// - Returns: The number of events handed to `handler`.
    @discardableResult
    public func process(batchSize: Int = 64, timeout: Double? = 0,
                        _ handler: (LedgerEvent, Transaction) throws -> Void) throws -> Int {
        var handled = 0
        let deadline = Self.deadline(timeout)
        while true {
            let generation = store.commits.current
            let batch = try processBatch(limit: batchSize, handler)
            handled += batch.handled
            if !batch.reachedHead { continue }
            guard let remaining = Self.remaining(until: deadline) else { return handled }
            store.changeWatcher.start()
            store.commits.wait(after: generation, seconds: Swift.min(remaining, 3_600))
        }
    }

    /// `process` for `async` callers: processes what is there, then each new commit, until
    /// the task is cancelled (it then returns normally) or `handler` throws. The batches
    /// run on the store's writer thread, so `handler` must be `Sendable`.
    public func process(batchSize: Int = 64,
                        _ handler: @escaping @Sendable (LedgerEvent, Transaction) throws -> Void) async throws {
        while !Task.isCancelled {
            let generation = store.commits.current
            // On the writer's queue, not inside `store.write`: the batch opens its own transaction.
            let batch = try await store.queues.writeRethrowing { try self.processBatch(limit: batchSize, handler) }
            if !batch.reachedHead { continue }
            store.changeWatcher.start()
            await store.commits.waitAsync(after: generation)
        }
    }

    private struct Batch: Sendable {
        var handled: Int
        var reachedHead: Bool
    }

    private func processBatch(limit: Int, _ handler: (LedgerEvent, Transaction) throws -> Void) throws -> Batch {
        try lease.check(name)
        if try isCaughtUp() { return Batch(handled: 0, reachedHead: true) }
        let (stream, kinds, size) = (self.stream, self.kinds, Self.clamp(limit))
        return try store.write { tx in
            let db = try tx.usableConnection(writing: true)
            let position = try self.storedPosition(on: db)
            var page = FeedPage(position: position)
            try page.read(stream: stream, kinds: kinds, limit: size, on: db)
            for event in page.events { try handler(event, tx) }
            if page.position != position { try ConsumerTable.move(self.name, to: page.position, on: db) }
            return Batch(handled: page.events.count, reachedHead: page.reachedHead)
        }
    }

    // MARK: At least once

    /// Hands every event after the position to `handler`, outside any transaction, and
    /// stores the new position after each batch: at-least-once (after a crash, the events
    /// of the batch in progress come again).
    ///
    /// - Parameters:
    ///   - batchSize: Events per batch, and so the most a crash can repeat (1…10,000).
    ///   - timeout: As for `process`: 0 returns when caught up, nil waits until `handler` throws.
    ///   - handler: Called for each event.
    /// - Returns: The number of events handed to `handler`.
    @discardableResult
    public func deliver(batchSize: Int = 64, timeout: Double? = 0, _ handler: (LedgerEvent) throws -> Void) throws -> Int {
        var handled = 0
        let deadline = Self.deadline(timeout)
        while true {
            let generation = store.commits.current
            try lease.check(name)
            let page = try readPage(limit: batchSize)
            for event in page.events { try handler(event) }
            try acknowledge(page)
            handled += page.events.count
            if !page.reachedHead { continue }
            guard let remaining = Self.remaining(until: deadline) else { return handled }
            store.changeWatcher.start()
            store.commits.wait(after: generation, seconds: Swift.min(remaining, 3_600))
        }
    }

    /// `deliver` for `async` callers, until the task is cancelled (it then returns normally)
    /// or `handler` throws.
    public func deliver(batchSize: Int = 64, _ handler: (LedgerEvent) async throws -> Void) async throws {
        while !Task.isCancelled {
            let generation = store.commits.current
            try lease.check(name)
            let page = try await store.queues.read { () throws(TallyError) -> FeedPage in try self.readPage(limit: batchSize) }
            for event in page.events { try await handler(event) }
            try await store.queues.write { () throws(TallyError) -> Void in try self.acknowledge(page) }
            if !page.reachedHead { continue }
            store.changeWatcher.start()
            await store.commits.waitAsync(after: generation)
        }
    }

    /// Stores `seq` as the position: for consumers that keep their own loop over
    /// ``Ledger/follow(after:stream:kinds:pageSize:)`` and acknowledge what they handled.
    ///
    /// - Throws: ``TallyError/invalidInput(field:reason:)`` for a seq beyond the head or
    ///   behind the current position (use ``Store/resetConsumer(_:to:)`` to go back).
    public func acknowledge(through seq: Int64) throws(TallyError) {
        try lease.check(name)
        try store.writeTransaction { (tx: Transaction) throws(TallyError) -> Void in
            let db = try tx.usableConnection(writing: true)
            let position = try self.storedPosition(on: db)
            let head = try LedgerTable.head(on: db).seq
            guard seq >= position, seq <= head else {
                throw TallyError.invalidInput(
                    field: "seq", reason: "\(seq) is \(seq > head ? "beyond the ledger's head (seq \(head))" : "behind consumer '\(self.name)' (at seq \(position)); reset it to go back")")
            }
            if seq != position { try ConsumerTable.move(self.name, to: seq, on: db) }
        }
    }

    private func readPage(limit: Int) throws(TallyError) -> FeedPage {
        let (stream, kinds, size) = (self.stream, self.kinds, Self.clamp(limit))
        return try store.readTransaction { (db: Connection) throws(TallyError) -> FeedPage in
            var page = FeedPage(position: try self.storedPosition(on: db))
            try page.read(stream: stream, kinds: kinds, limit: size, on: db)
            return page
        }
    }

    /// Stores the position a delivered page reached (only forward: a reset in between wins).
    private func acknowledge(_ page: FeedPage) throws(TallyError) {
        guard page.position > page.start else { return }
        try store.writeTransaction { (tx: Transaction) throws(TallyError) -> Void in
            let db = try tx.usableConnection(writing: true)
            if try self.storedPosition(on: db) < page.position { try ConsumerTable.move(self.name, to: page.position, on: db) }
        }
    }

    // MARK: Helpers

    private func isCaughtUp() throws(TallyError) -> Bool {
        try store.readTransaction { (db: Connection) throws(TallyError) -> Bool in
            try self.storedPosition(on: db) >= LedgerTable.head(on: db).seq
        }
    }

    private func storedPosition(on db: Connection) throws(TallyError) -> Int64 {
        guard let position = try ConsumerTable.position(of: name, on: db) else {
            throw TallyError.invalidInput(field: "consumer", reason: "consumer '\(name)' was removed while this value was open; create it again with Store.consumer(_:)")
        }
        return position
    }

    private static func clamp(_ size: Int) -> Int { Swift.max(1, Swift.min(size, 10_000)) }

    private static func deadline(_ timeout: Double?) -> ContinuousClock.Instant? {
        guard let timeout else { return nil }
        return ContinuousClock.now.advanced(by: .seconds(Swift.max(0, Swift.min(timeout, 1e9))))
    }

    /// Seconds left before `deadline` (infinity without one), or nil when it has passed.
    private static func remaining(until deadline: ContinuousClock.Instant?) -> Double? {
        guard let deadline else { return .infinity }
        let left = ContinuousClock.now.duration(to: deadline).components
        let seconds = Double(left.seconds) + Double(left.attoseconds) / 1e18
        return seconds > 0 ? seconds : nil
    }

    /// The exclusive lock that makes a consumer run once at a time.
    final class Lease: @unchecked Sendable {
        // @unchecked: `lock` is only touched under `guard`.
        private let guardLock = PlatformLock()
        private var lock: ConsumerLock?

        init(_ lock: ConsumerLock) { self.lock = lock }

        func release() {
            guardLock.withLock {
                lock?.unlock()
                lock = nil
            }
        }

        func check(_ name: String) throws(TallyError) {
            let held = guardLock.withLock { lock != nil }
            guard held else {
                throw TallyError.invalidInput(field: "consumer", reason: "consumer '\(name)' was closed; create it again with Store.consumer(_:)")
            }
        }
    }
}

extension Store {
    /// The consumer named `name`, created at position 0 if it does not exist, holding its
    /// lock until it is closed or freed.
    ///
    /// - Parameters:
    ///   - name: 1…64 letters, digits, `.`, `_` or `-` (it names a lock file).
    ///   - stream: Hand over only this stream's events.
    ///   - kinds: Hand over only events of these kinds.
    ///   - lockTimeout: Seconds to wait for another run of the same consumer to end.
    /// - Throws: ``TallyError/consumerBusy(name:lockPath:)`` when another run holds it,
    ///   ``TallyError/invalidInput(field:reason:)`` for a bad name.
    public func consumer(_ name: String, stream: String? = nil, kinds: Set<String>? = nil,
                         lockTimeout: Double = 0) throws(TallyError) -> Consumer {
        try ConsumerTable.validate(name)
        let lease = try Consumer.Lease(lockConsumer(name, timeout: lockTimeout))
        try writeTransaction { (tx: Transaction) throws(TallyError) -> Void in
            try ConsumerTable.create(name, on: try tx.usableConnection(writing: true))
        }
        return Consumer(store: self, name: name, stream: stream, kinds: kinds, lease: lease)
    }

    /// Every consumer, in name order, with how far behind the head it is.
    public func consumers() throws(TallyError) -> [Consumer.Info] {
        let (rows, head) = try readTransaction { (db: Connection) throws(TallyError) -> ([(name: String, position: Int64, createdAt: String, updatedAt: String)], Int64) in
            (try ConsumerTable.list(on: db), try LedgerTable.head(on: db).seq)
        }
        return rows.map { row in
            Consumer.Info(name: row.name, position: row.position, behind: head - row.position, createdAt: row.createdAt,
                          updatedAt: row.updatedAt, isRunning: isConsumerRunning(row.name))
        }
    }

    /// Moves a consumer to `seq` (back to reprocess, or forward to skip), while no one runs it.
    ///
    /// - Throws: ``TallyError/consumerBusy(name:lockPath:)`` while it runs,
    ///   ``TallyError/invalidInput(field:reason:)`` for an unknown consumer or a seq beyond
    ///   the head.
    public func resetConsumer(_ name: String, to seq: Int64) throws(TallyError) {
        try ConsumerTable.validate(name)
        let lock = try lockConsumer(name, timeout: 0)
        defer { lock.unlock() }
        try writeTransaction { (tx: Transaction) throws(TallyError) -> Void in
            let db = try tx.usableConnection(writing: true)
            guard try ConsumerTable.position(of: name, on: db) != nil else { throw Self.unknownConsumer(name) }
            let head = try LedgerTable.head(on: db).seq
            guard seq >= 0, seq <= head else {
                throw TallyError.invalidInput(field: "seq", reason: "\(seq) is outside the ledger (seq 0…\(head)); a consumer's position must be one the ledger has")
            }
            try ConsumerTable.move(name, to: seq, on: db)
        }
    }

    /// Removes a consumer and its lock file, while no one runs it.
    ///
    /// - Throws: ``TallyError/consumerBusy(name:lockPath:)`` while it runs,
    ///   ``TallyError/invalidInput(field:reason:)`` for an unknown consumer.
    public func removeConsumer(_ name: String) throws(TallyError) {
        try ConsumerTable.validate(name)
        let lock = try lockConsumer(name, timeout: 0)
        defer { lock.unlock() }
        let removed = try writeTransaction { (tx: Transaction) throws(TallyError) -> Bool in
            try ConsumerTable.remove(name, on: try tx.usableConnection(writing: true))
        }
        guard removed else { throw Self.unknownConsumer(name) }
        lock.removeFile()
    }

    /// The error for a consumer name the ledger does not know (the command line recognizes
    /// it to name its own command instead of ``consumers()``).
    package static func unknownConsumer(_ name: String) -> TallyError {
        .invalidInput(field: "consumer", reason: "there is no consumer named '\(TallyError.printable(name))'; list them with Store.consumers()")
    }

    /// The path whose `.lock` sidecar guards a consumer.
    func consumerLockBase(_ name: String) -> String { path + "-consumer-" + name }

    private func lockConsumer(_ name: String, timeout: Double) throws(TallyError) -> ConsumerLock {
        if let postgresConninfo {
            return try ConsumerLock.postgres(name: name, conninfo: postgresConninfo, display: path, timeout: timeout)
        }
        let lock = try FileLock(path: consumerLockBase(name))
        do {
            try lock.lock(.exclusive, timeout: timeout)
        } catch {
            if case .lockTimeout = error { throw TallyError.consumerBusy(name: name, lockPath: lock.lockPath) }
            throw error
        }
        return .file(lock)
    }

    private func isConsumerRunning(_ name: String) -> Bool? {
        do {
            let lock = try lockConsumer(name, timeout: 0)
            lock.unlock()
            return false
        } catch {
            if case .consumerBusy = error { return true }
            return nil
        }
    }
}

/// An exclusive lock on one consumer name that the operating system or the server releases
/// when its holder dies: a `flock` on a file beside an SQLite database, or a session-level
/// advisory lock on a PostgreSQL connection kept for the purpose.
enum ConsumerLock {
    case file(FileLock)
    case postgres(PostgresConnection)

    /// Takes the advisory lock for `name` on a connection of its own, waiting at most
    /// `timeout` seconds.
    static func postgres(name: String, conninfo: String, display: String, timeout: Double) throws(TallyError) -> ConsumerLock {
        let connection = try PostgresConnection(conninfo: conninfo)
        let deadline = ContinuousClock.now.advanced(by: .seconds(Swift.max(0, Swift.min(timeout, 1e9))))
        var pause = 0.001
        while true {
            if try connection.scalarInt("SELECT pg_try_advisory_lock(hashtextextended(current_schema() || ' ' || ?, 0))::int", ["tally consumer " + name]) == 1 {
                return .postgres(connection)
            }
            guard ContinuousClock.now < deadline else {
                throw TallyError.consumerBusy(name: name, lockPath: "the advisory lock 'tally consumer \(name)' on \(display)")
            }
            System.sleep(seconds: pause)
            pause = Swift.min(pause * 2, 0.05)
        }
    }

    /// Releases the lock (closing the PostgreSQL session releases its advisory lock).
    func unlock() {
        switch self {
        case let .file(lock): try? lock.unlock()
        case let .postgres(connection): connection.client.close()
        }
    }

    /// Removes the lock file (a removed consumer's), if there is one.
    func removeFile() {
        if case let .file(lock) = self { _ = try? AtomicFile.remove(lock.lockPath) }
    }
}
