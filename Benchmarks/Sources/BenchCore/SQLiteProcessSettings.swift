import RawSQLitePeer

/// SQLite's process-wide settings for one case's process, made what each peer's library
/// chooses before the case touches SQLite: Tally turns SQLite's memory statistics off at
/// its first open (`Store.keepsSQLiteMemoryStatistics`), raw C and GRDB leave SQLite's
/// default (on). Without this a case's outcome would depend on which peer's code happened
/// to use SQLite first in the process (a fixture made through Tally, say).
public enum SQLiteProcessSettings {
    /// Whether `peer` runs with SQLite's memory statistics off.
    static func statisticsOff(for peer: String) -> Bool {
        peer.hasPrefix("Tally") && !Synchronous.keepMemoryStatistics
    }

    /// Before `prepare`: a Tally case opens (and closes) a throwaway store first; any other
    /// case initializes SQLite with its defaults.
    public static func settle(for item: Case) throws {
        if item.peer.hasPrefix("Tally") {
            let path = BenchPaths.data("sqlite-settings.db")
            BenchPaths.removeDatabase(path)
            _ = try TallyPeer.open(path, synchronous: .normal)
            BenchPaths.removeDatabase(path)
        } else {
            let code = raw_sqlite_initialize()
            guard code == 0 else { throw PeerError("sqlite3_initialize: result code \(code)") }
        }
    }

    /// After `prepare` (which opens the case's connections): fails unless the statistics
    /// are as `settle` meant them to be. SQLite's high-water mark of memory in use stays 0
    /// only with the statistics off. Cases whose SQLite runs in other processes (the
    /// command-line rows, the disk row) are not checked.
    public static func check(_ item: Case) throws {
        guard ["Tally", "GRDB", "raw C"].contains(where: item.peer.hasPrefix) else { return }
        let off = raw_sqlite_memory_highwater() == 0
        guard off == statisticsOff(for: item.peer) else {
            throw PeerError("\(item.name): SQLite's memory statistics are \(off ? "off" : "on") in this process, expected \(off ? "on" : "off")")
        }
    }
}
