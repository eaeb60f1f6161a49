import Foundation
import Tally

/// Harness modes for the database tests (ledger, state, crash loops). Returns nil when
/// `mode` is not one of ours.
enum DatabaseModes {
    static func run(_ mode: String, _ arguments: [String]) -> Int32? {
        switch mode {
        default: return nil
        }
    }
}
