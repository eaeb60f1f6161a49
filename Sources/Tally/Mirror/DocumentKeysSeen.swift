/// The keys a first pass over the database's documents saw, so that the walk of the mirror
/// directory after it can tell a document's file from an extra one without a database
/// lookup per file (a random B-tree read each: 20 % of a re-mirror's system calls).
///
/// Exact, because both passes read one snapshot of the database. Bounded: once more than
/// ``limit`` keys have been seen (about 64 bytes each) it forgets them, and every question
/// goes to the database instead.
struct DocumentKeysSeen {
    /// The most keys remembered.
    let limit: Int
    private var keys: Set<String>? = []
    private var count = 0

    init(limit: Int) {
        self.limit = limit
    }

    /// Records that the first pass saw `key`.
    mutating func insert(_ key: String) {
        guard keys != nil else { return }
        count += 1
        if count > limit { keys = nil } else { keys?.insert(key) }
    }

    /// Whether `key` is a document of the snapshot `db` reads (the one the first pass read).
    func contains(_ key: String, on db: Connection) throws(TallyError) -> Bool {
        if let keys { return keys.contains(key) }
        return try StateTable.currentVersion(key, on: db) > 0
    }
}
