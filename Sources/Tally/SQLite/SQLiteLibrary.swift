import CSQLite

/// Settings of the SQLite library itself (process-wide, not per connection), applied once,
/// just before Tally opens its first connection.
///
/// The one setting is SQLite's memory statistics (`SQLITE_CONFIG_MEMSTATUS`). With them on
/// (the default of SQLite builds such as Debian's), every `sqlite3_malloc` and
/// `sqlite3_free` takes a process-wide mutex to count bytes, and SQLite allocates inside
/// nearly every statement: that lock and unlock alone were 9 % of the writing thread's
/// samples in the W3 benchmark (state writes). SQLite's own list of recommended
/// compile-time options turns them off (`SQLITE_DEFAULT_MEMSTATUS=0`) for that reason. What
/// is lost: `sqlite3_memory_used()`, `sqlite3_memory_highwater()`, `sqlite3_status64()`'s
/// memory counters and the soft and hard heap limits stop working, for every SQLite user in
/// the process. Hence
/// ``Store/keepsSQLiteMemoryStatistics`` to keep them, and hence only before SQLite is
/// initialized: when another library in the process used SQLite first, SQLite refuses the
/// change (`SQLITE_MISUSE`) and Tally leaves things as they are.
package enum SQLiteLibrary {
    private struct State {
        var keepsMemoryStatistics = false
        /// True once Tally has decided (at its first open).
        var prepared = false
        /// True when Tally turned the statistics off.
        var turnedOffMemoryStatistics = false
    }

    private static let state = Locked(State())

    /// Whether Tally leaves the memory statistics on. Read at the first open only.
    package static var keepsMemoryStatistics: Bool {
        get { state.withLock { $0.keepsMemoryStatistics } }
        set { state.withLock { $0.keepsMemoryStatistics = newValue } }
    }

    /// Whether Tally turned the memory statistics off in this process (false before its
    /// first open, when kept, and when SQLite was already initialized by someone else).
    package static var turnedOffMemoryStatistics: Bool {
        state.withLock { $0.turnedOffMemoryStatistics }
    }

    /// Applies the settings once; every connection calls it before `sqlite3_open_v2`.
    ///
    /// `sqlite3_config` must not run beside other SQLite calls. Tally's own opens take turns
    /// through this lock; a different library initializing SQLite on another thread at the
    /// same instant could, at worst, see its memory counters start from the wrong value
    /// (SQLite checks the setting on each allocation and free; nothing else depends on it).
    static func prepare() {
        state.withLock { state in
            guard !state.prepared else { return }
            state.prepared = true
            guard !state.keepsMemoryStatistics else { return }
            state.turnedOffMemoryStatistics = csqlite_config_memstatus(0) == SQLITE_OK
        }
    }

    /// `sqlite3_initialize()`, as a library that uses SQLite before Tally does would call
    /// it: for the test that Tally then leaves the settings alone.
    package static func initializeAsAnotherLibraryWould() throws(TallyError) {
        let code = sqlite3_initialize()
        guard code == SQLITE_OK else {
            throw TallyError.sqlite(SQLiteError(code: code, message: "sqlite3_initialize failed"))
        }
    }

    /// `sqlite3_memory_used()`: the bytes SQLite has allocated, or 0 when memory statistics
    /// are off (and were never on).
    package static var memoryInUse: Int64 { sqlite3_memory_used() }
}
