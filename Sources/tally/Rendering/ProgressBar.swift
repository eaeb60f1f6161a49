import Tally

/// Draws the library's ``OperationProgress`` reports as one self-overwriting line on stderr:
///
/// ```
/// ledger  [##########..........]  52%  52,000/100,000  41,230/s  ETA 0:01
/// ```
///
/// Only when stderr is a terminal and `--quiet` was not given: on a pipe or in a log file
/// carriage returns would only be noise, so then nothing at all is written. A terminal that
/// goes away mid-run costs nothing: writes to stderr are best effort and never trap.
final class ProgressBar: @unchecked Sendable {
    private let enabled: Bool
    private let lock = PlatformLock()
    // Guarded by `lock`: the library may report from any thread.
    private var phase = ""
    private var phaseStart = Clock.secondsSince1970()
    private var lastDraw: Double = 0
    private var drawn = false

    /// A bar that draws only when stderr is a terminal and `quiet` is false.
    init(quiet: Bool) {
        enabled = !quiet && System.isTerminal(System.standardError)
    }

    /// The callback to hand to the library.
    var callback: (@Sendable (OperationProgress) -> Void)? {
        guard enabled else { return nil }
        return { [self] progress in update(progress) }
    }

    private func update(_ progress: OperationProgress) {
        lock.lock()
        defer { lock.unlock() }
        let now = Clock.secondsSince1970()
        if progress.phase.rawValue != phase {
            phase = progress.phase.rawValue
            phaseStart = now
        }
        let complete = progress.total > 0 && progress.done >= progress.total
        // At most ten redraws a second: the terminal is slower than the library.
        guard complete || now - lastDraw >= 0.1 else { return }
        lastDraw = now
        drawn = true
        Console.errorText("\r" + Self.line(progress, elapsed: now - phaseStart) + "\u{1B}[K")
    }

    /// Clears the bar's line so the command's own output starts on a clean line.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drawn { Console.errorText("\r\u{1B}[K") }
        drawn = false
    }

    /// The text of the bar for `progress` after `elapsed` seconds in its phase.
    static func line(_ progress: OperationProgress, elapsed: Double, width: Int = 20) -> String {
        let done = max(0, progress.done)
        let rate = elapsed > 0.05 ? Double(done) / elapsed : 0
        var parts = [Output.padded(progress.phase.rawValue, to: 8)]
        if progress.total > 0 {
            let fraction = min(1, Double(done) / Double(progress.total))
            let filled = Int((fraction * Double(width)).rounded(.down))
            parts.append("[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]")
            parts.append("\(Int((fraction * 100).rounded(.down)))%".leftPadded(to: 4))
            parts.append("\(grouped(done))/\(grouped(progress.total))")
        } else {
            parts.append(grouped(done))
        }
        if rate > 0 { parts.append("\(grouped(Int64(rate)))/s") }
        if progress.total > done, rate > 0 {
            parts.append("ETA " + duration(Double(progress.total - done) / rate))
        }
        return parts.joined(separator: "  ")
    }

    /// `1234567` → `1,234,567`.
    static func grouped(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (value < 0 ? "-" : "") + out
    }

    /// `75` → `1:15`, `3700` → `1:01:40`.
    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded(.up))
        let hours = total / 3600, minutes = total / 60 % 60, rest = total % 60
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return hours > 0 ? "\(hours):\(two(minutes)):\(two(rest))" : "\(minutes):\(two(rest))"
    }
}
