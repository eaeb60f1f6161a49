import Foundation

/// A small pool of read-only connections, so reads run beside the writer (WAL lets them see
/// the last committed state without blocking it).
///
/// Connections are opened on demand up to `capacity`; a caller that finds them all busy
/// waits for one to come back.
final class ConnectionPool: @unchecked Sendable {
    private let condition = NSCondition()
    private var idle: [Connection] = []
    private var opened = 0
    private let capacity: Int
    private let makeConnection: () throws -> Connection

    init(capacity: Int, makeConnection: @escaping () throws -> Connection) {
        self.capacity = max(1, capacity)
        self.makeConnection = makeConnection
    }

    /// Runs `body` with a connection of the pool, returned to the pool afterwards.
    func withConnection<T>(_ body: (Connection) throws -> T) throws -> T {
        let connection = try checkOut()
        defer { checkIn(connection) }
        return try body(connection)
    }

    private func checkOut() throws -> Connection {
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
        if connection.isInTransaction { try? connection.execute("ROLLBACK") }
        condition.lock()
        idle.append(connection)
        condition.signal()
        condition.unlock()
    }
}
