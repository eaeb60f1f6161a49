/// Finds a replicator (Litestream) attached to a database, from what the kernel shows about
/// file locks, so that operations it cannot live with are refused with a clear message.
///
/// Litestream keeps a read transaction open on the database all the time: SQLite shows that
/// as a POSIX read lock on one of the WAL read-mark bytes of `DB-shm` (bytes 123–127 in the
/// unix VFS's layout). While that lock is held a truncating checkpoint can never complete
/// (it would stall every writer for the busy timeout, then give up), and replacing the
/// database file under it leaves a replica that restores to a malformed database.
///
/// Linux only (`/proc/locks` and `/proc/PID/comm`); elsewhere it finds nothing and the
/// operations fall back to SQLite's own refusal (busy).
package enum ReplicatorProbe {
    /// A process holding a read mark on the database's shared memory.
    package struct Holder: Sendable, Equatable {
        /// Its process id.
        package let pid: Int32
        /// Its command name (`/proc/PID/comm`), e.g. `litestream`.
        package let command: String
        /// Whether it is a known replicator.
        package var isReplicator: Bool { command.lowercased().hasPrefix("litestream") }
    }

    /// The processes other than this one that hold a WAL read mark of `databasePath`.
    package static func readMarkHolders(of databasePath: String) -> [Holder] {
        guard case let .success(shm) = System.statInfo(databasePath + "-shm") else { return [] }
        let operations = FileOperations(syscalls: .live)
        guard let locks = try? operations.readProcFile("/proc/locks") else { return [] }
        var holders: [Holder] = []
        var seen = Set<Int32>()
        for line in String(decoding: locks, as: UTF8.self).split(separator: "\n") {
            // "1: POSIX  ADVISORY  READ 8639 08:01:1234567 124 124" (blocked waiters have "->").
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 8, !fields.contains("->"), fields[1] == "POSIX" || fields[1] == "OFDLCK", fields[3] == "READ",
                  let pid = Int32(fields[4]), pid > 0, pid != System.processID,
                  let inode = fields[5].split(separator: ":").last.flatMap({ UInt64($0) }), inode == shm.inode,
                  let start = UInt64(fields[6]), let end = UInt64(fields[7]), start <= 127, end >= 123,
                  seen.insert(pid).inserted else { continue }
            let command = (try? operations.readProcFile("/proc/\(pid)/comm"))
                .map { String(decoding: $0, as: UTF8.self).trimmingTrailingNewlines() } ?? "?"
            holders.append(Holder(pid: pid, command: command))
        }
        return holders
    }

    /// The replicator attached to `databasePath`, if one is.
    package static func replicator(of databasePath: String) -> Holder? {
        readMarkHolders(of: databasePath).first(where: \.isReplicator)
    }
}

extension FileOperations {
    /// Reads a small file of `/proc` (whose size reads as 0) to its end.
    func readProcFile(_ path: String) throws(TallyError) -> [UInt8] {
        let fd = FileSyscalls.retryingEINTR { syscalls.open(path, [.readOnly, .noFollow], 0) }
        guard fd >= 0 else { throw TallyError.io(step: "open", path: path, errno: -fd) }
        defer { _ = syscalls.close(fd) }
        return try readToEnd(fd, path: path, limit: 4 << 20)
    }
}
