/// A small pool of read-only connections, so reads run beside the writer (WAL lets them see
/// the last committed state without blocking it).
///
/// Connections are opened on demand up to `capacity`; a caller that finds them all busy
/// waits for one to come back.
final class ConnectionPool: @unchecked Sendable {
    private let condition = PlatformCondition()
    private var idle: [Connection] = []
    private var opened = 0
    private let capacity: Int
    private let makeConnection: () throws(TallyError) -> Connection

    init(capacity: Int, makeConnection: @escaping () throws(TallyError) -> Connection) {
        self.capacity = max(1, capacity)
        self.makeConnection = makeConnection
    }

    /// Runs `body` with a connection of the pool, returned to the pool afterwards.
    func withConnection<T, E: Error>(_ body: (Connection) throws(E) -> T) throws -> T {
        let connection = try checkOut()
        defer { checkIn(connection) }
        return try body(connection)
    }

    /// ``withConnection(_:)`` for closures that throw only ``TallyError``.
    func withTypedConnection<T>(_ body: (Connection) throws(TallyError) -> T) throws(TallyError) -> T {
        let connection = try checkOut()
        defer { checkIn(connection) }
        return try body(connection)
    }

    private func checkOut() throws(TallyError) -> Connection {
        condition.lock()
        while idle.isEmpty && opened >= capacity {
            condition.wait()
        }
        if let connection = idle.popLast() {
            condition.unlock()
            return connection
        }
        opened += 1
        condition.unlock()
        do {
            return try makeConnection()
        } catch {
            condition.lock()
            opened -= 1
            condition.signal()
            condition.unlock()
            throw error
        }
    }

    private func checkIn(_ connection: Connection) {
        // A connection left inside a transaction (a body that escaped a read scope) must not
        // carry an old snapshot into the next borrower.
        connection.rollback()
        condition.lock()
        idle.append(connection)
        condition.signal()
        condition.unlock()
    }
}
