/// Progress of a long operation (export, import, mirror, reconcile, verify, backup),
/// reported to the callback those calls accept. The command line draws a bar from it.
public struct OperationProgress: Sendable, Equatable {
    /// What is being processed.
    public enum Phase: String, Sendable, Equatable {
        /// State documents.
        case state
        /// Ledger events.
        case ledger
        /// Files of a mirror directory.
        case files
        /// Bytes of a snapshot being imported.
        case `import`
        /// Pages of a database being copied.
        case backup
        /// A copy being verified.
        case verify
        /// SQLite's own integrity check.
        case integrity
    }

    /// What is being processed.
    public var phase: Phase
    /// Items done so far in this phase.
    public var done: Int64
    /// Items expected in this phase (0 when unknown).
    public var total: Int64

    /// Creates a progress report.
    public init(phase: Phase, done: Int64, total: Int64) {
        self.phase = phase
        self.done = done
        self.total = total
    }
}
