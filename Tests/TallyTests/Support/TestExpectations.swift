@testable import Tally

// The command line's exit codes as the library's errors and reports map to them, so the
// library's tests can state "this is a corruption (3)" the way the README's table does. The
// CLI tests check the real mapping (Sources/tally/Support/ExitStatus.swift) end to end.

extension TallyError {
    /// The exit status `tally` gives this error: 2 bad input, 3 corruption, 4 conflict, 5 I/O.
    var exitCode: Int32 {
        switch self {
        case .corruptState, .corruptDatabase, .corruptFile, .proofRejected: return 3
        case .conflict, .duplicateEvent, .snapshotConflict, .dataWouldBeLost: return 4
        case .io, .lockTimeout, .unsafeFile, .consumerBusy, .replicatorAttached: return 5
        case let .sqlite(error):
            switch error.code {
            case .ioError, .full, .cannotOpen, .readOnly, .busy, .locked, .permission, .noMemory: return 5
            case .constraint: return 4
            default: return 2
            }
        case let .postgres(code, _, _):
            switch code.prefix(2) {
            case "08", "53", "57", "58", "40": return 5
            case "23", "P0": return 4
            default: return 2
            }
        default: return 2
        }
    }
}

extension VerifyReport {
    /// `tally verify`'s exit status: 3 corruption, 1 other findings, 0 clean.
    var exitStatus: Int32 { isCorrupt ? 3 : (isClean ? 0 : 1) }
}

extension ReconcileReport {
    /// `tally reconcile`'s exit status: 1 with findings, 0 clean.
    var exitStatus: Int32 { isClean ? 0 : 1 }
}

extension Store {
    /// Runs a test's own SQL in one read transaction on a reader connection.
    func sql<T>(_ body: (Connection) throws -> T) throws -> T {
        try readers.withConnection { (db: Connection) throws -> T in
            try db.transaction(.deferred, throwing: { try body(db) })
        }
    }
}
