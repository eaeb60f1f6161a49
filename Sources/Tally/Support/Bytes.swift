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
