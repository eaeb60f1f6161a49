import Foundation
@testable import Tally

extension CommitNotifier {
    /// Waits up to `seconds` for a generation past `generation`; the generation then (still
    /// `generation` when none came).
    func generation(after generation: UInt64, within seconds: Double) -> UInt64 {
        let deadline = Date().addingTimeInterval(seconds)
        var now = current
        while now == generation, Date() < deadline {
            now = wait(after: generation, seconds: deadline.timeIntervalSinceNow)
        }
        return now
    }
}
