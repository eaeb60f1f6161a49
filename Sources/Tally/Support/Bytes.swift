extension Array where Element == UInt8 {
    /// `withUnsafeBufferPointer` for closures that throw ``TallyError``: the standard
    /// library's version rethrows untyped errors, which would erase the type.
    func withBytes<T>(_ body: (UnsafeBufferPointer<UInt8>) throws(TallyError) -> T) throws(TallyError) -> T {
        let result: Result<T, TallyError> = withUnsafeBufferPointer { buffer in
            Result { () throws(TallyError) -> T in try body(buffer) }
        }
        return try result.get()
    }
}

extension Array where Element == UInt8 {
    /// Whether two byte arrays hold the same bytes, compared with `memcmp` rather than
    /// element by element (`==`), which was 6 % of a re-mirror comparing files with what the
    /// database holds.
    func sameBytes(as other: [UInt8]) -> Bool {
        count == other.count && withUnsafeBytes { left in other.withUnsafeBytes { System.equal(left, $0) } }
    }
}
