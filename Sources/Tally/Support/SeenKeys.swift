/// A set of state keys that are usually added in ascending order, as export and the
/// database's `ORDER BY key` produce them: while they ascend, a key above the last one is new
/// without hashing anything, and they are kept in order and searched by bisection. The first
/// key out of order (a snapshot edited or written by another tool) moves them into a hashed
/// set. Snapshot import and the mirror remember up to hundreds of thousands of keys with it,
/// where hashing each key once or twice was a measurable share of the work.
struct SeenKeys {
    private var ascending: [String] = []
    private var unordered: Set<String>?

    /// Adds `key`; false when it was there already.
    mutating func insert(_ key: String) -> Bool {
        if unordered == nil {
            if ascending.last.map({ $0 < key }) ?? true {
                ascending.append(key)
                return true
            }
            unordered = Set(ascending)
            ascending = []
        }
        return unordered?.insert(key).inserted ?? false
    }

    /// Whether `key` was added.
    func contains(_ key: String) -> Bool {
        if let unordered { return unordered.contains(key) }
        var low = 0, high = ascending.count
        while low < high {
            let middle = (low + high) / 2
            if ascending[middle] < key { low = middle + 1 } else { high = middle }
        }
        return low < ascending.count && ascending[low] == key
    }
}
