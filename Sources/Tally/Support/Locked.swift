/// A value guarded by a lock, so a `Sendable` type can own non-`Sendable` state (a SQLite
/// connection, a cache) and hand it to one thread at a time.
final class Locked<Value>: @unchecked Sendable {
    private let lock = PlatformLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    /// Runs `body` with exclusive access to the value.
    func withLock<T, E: Error>(_ body: (inout Value) throws(E) -> T) throws(E) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
