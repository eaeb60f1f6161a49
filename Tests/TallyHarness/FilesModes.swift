import Foundation
import Tally

/// Harness modes for the Files/ tests. Returns nil when `mode` is not one of ours.
enum FilesModes {
    static func run(_ mode: String, _ arguments: [String]) -> Int32? {
        switch mode {
        default: return nil
        }
    }
}
