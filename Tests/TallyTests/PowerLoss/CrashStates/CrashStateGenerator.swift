// Crash-state rules (ALICE-style: Pillai et al., "All File Systems Are Not Created Equal",
// OSDI '14). Adapted from a standalone prototype; a test utility, never shipped in Tally.
//
// The log is replayed against a model that keeps, for every inode, what is durable and what
// only lives in the page cache. "Crash after op k" means ops 0..<k ran and then power was lost
// (k = 0...N). Each state listed for k is a tree a POSIX file system may legally show after
// reboot, under these rules:
//
// 1. File data. A regular-file inode has a persisted content (the initial state, or as of its
//    last fsync) and the unsynced data ops since (write, truncate, externalContent), in issue
//    order. After a crash it holds the persisted content plus (a) none of them, (b) all of
//    them, (c) each prefix of them, or (d) all but the last plus the last one torn at block
//    granularity (blocks aligned to the file: the first k of the m blocks it touches,
//    0 < k < m).
//    Why this bound rather than "any subset of blocks" (exponential): the classic bugs are
//    about *whether* data reached the disk before a metadata change made it visible. A temp
//    file renamed over the target without an fsync shows up after a crash as the new name
//    with length 0 (a) or as a partial file (c, d): the ext4 zero-length-file bug. A protocol
//    that fsyncs before it renames collapses (a)-(d) to one state, so every missing fsync
//    yields at least one extra, visibly wrong state. Not covered: later writes surviving
//    while earlier ones are lost, and tears inside a non-last write. Size and data persist
//    together (ext4 data=ordered): no zero-filled or garbage tails. Nor do we credit ext4's
//    auto_da_alloc (flushing data on replace-by-rename): the model holds a protocol to what
//    POSIX promises, not to one heuristic.
// 2. fsync of a file persists its data and size, never its names: a new file that was fsynced
//    while its directory was not may vanish. `syncfs` (Linux) persists everything of the file
//    system, data and directory entries, as sync(2) does for one file system.
// 3. Directory entries. A directory has a persisted entry table (initial state, or as of its
//    last fsync) and unsynced entry changes (create, link, unlink, mkdir, rename in/out, a
//    file created outside the seam). After a crash each directory independently shows its
//    table plus a *prefix* of its changes (`.prefix`: ext4 and xfs journal metadata in order,
//    so a later change in a directory is never durable without the earlier ones), or any
//    *subset* of them (`.anySubset`: what POSIX allows and ALICE saw on btrfs and
//    ext3-writeback; enumerated per directory behind a limit on pending changes). Letting
//    directories diverge from each other (ext4 has one journal for all) only adds states.
// 4. rename is atomic. Within a directory it is a single change, so the target name shows the
//    old inode or the new one, never nothing. Across directories it is one change recorded in
//    both: a crash shows it in both or in neither, and fsyncing either directory makes it
//    durable in both, with what precedes it in the other directory's order.
// 5. mkdir's entry is a change in the parent; whatever is inside the new directory is
//    reachable only if that entry survives.
// 6. The tree after a crash is what is reachable from the root through the chosen tables. An
//    inode without a surviving name is gone, whatever its data. Hard links share one content
//    choice per inode.
// 7. externalContent is an unsynced whole-content replacement made outside the seam; it tears
//    over the blocks that differ, in file order (SQLite rewrites changed pages in place); a
//    shrink only happens with the complete replacement. externalSyncedContent is the same
//    replacement already durable (SQLite's writes, whose own protocol is not modelled).
// 8. Identical trees at one crash point are reported once (states are hashed as values).
//    Limits throw instead of silently truncating the exploration, with one exception that
//    bounds the product over files: while the combinations of the files' contents at a crash
//    point stay within `Limits.maxContentCombinations` (4096), all are generated; beyond
//    that, one file varies at a time while every other holds none or all of its unsynced
//    data. Small inputs stay within the budget; only TALLY_STRESS runs (a mirror batch of 25
//    unsynced temporary files) rely on the reduction.

/// One tree that may be on disk after power loss at a given point of the log.
struct CrashState: Hashable, Sendable {
    /// How many ops ran before the crash: 0 is before the first op, N after the last.
    let crashPoint: Int
    /// Labels of the `protocolReturned` markers among the ops that ran, in order.
    let returnedLabels: [String]
    /// The op just before the crash (nil at crash point 0), for diagnostics.
    let precedingOperation: FileOp?
    /// The on-disk tree.
    let disk: DirectoryState

    /// Creates a state; normally only the generator does.
    init(crashPoint: Int, returnedLabels: [String], precedingOperation: FileOp?, disk: DirectoryState) {
        self.crashPoint = crashPoint
        self.returnedLabels = returnedLabels
        self.precedingOperation = precedingOperation
        self.disk = disk
    }

    /// Whether any protocol had reported success before the crash.
    var protocolReturned: Bool { !returnedLabels.isEmpty }

    /// Whether the protocol call `label` (any call if nil) had reported success.
    func hasReturned(_ label: String? = nil) -> Bool {
        guard let label else { return protocolReturned }
        return returnedLabels.contains(label)
    }

    /// The bytes of the file at `path` in this state, nil if absent.
    func contents(of path: String) -> [UInt8]? {
        disk.contents(of: path)
    }

    /// The files of this state whose path satisfies `predicate`.
    func files(matching predicate: (String) -> Bool) -> [String: [UInt8]] {
        disk.files(matching: predicate)
    }
}

/// Every crash state of a log, grouped by crash point in order.
struct CrashStateReport: Sendable {
    /// The log the states were generated from.
    let operations: [FileOp]
    /// All states, ordered by crash point; deduplicated within each crash point.
    let states: [CrashState]
    /// `countsPerCrashPoint[k]` is the number of distinct states after k ops.
    let countsPerCrashPoint: [Int]

    /// Sum of the per-crash-point counts (what a checker has to examine).
    var totalCount: Int { states.count }

    /// Distinct trees over all crash points (what a checker that caches by tree
    /// would examine).
    var distinctDiskCount: Int { Set(states.map(\.disk)).count }

    /// The states after exactly `crashPoint` ops.
    func states(atCrashPoint crashPoint: Int) -> [CrashState] {
        states.filter { $0.crashPoint == crashPoint }
    }
}

/// Why generation stopped.
enum CrashStateError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The initial tree has an invalid path (absolute, "..", a file used as a directory).
    case invalidInitialState(reason: String)
    /// The log cannot have happened (e.g. a write to a closed fd); usually a recorder bug.
    case invalidLog(operationIndex: Int, operation: FileOp, reason: String)
    /// More distinct states than `Limits.maxStates` over all crash points.
    case tooManyStates(limit: Int, crashPoint: Int)
    /// More candidate trees (before deduplication) than allowed at one crash point.
    case tooManyCandidates(limit: Int, crashPoint: Int)
    /// `.anySubset` met a directory with more unsynced changes than its limit.
    case tooManyPendingDirectoryOperations(directory: String, count: Int, limit: Int, crashPoint: Int)
    /// A generator setting is out of range.
    case invalidConfiguration(reason: String)

    /// A message that says what to change.
    var description: String {
        switch self {
        case let .invalidInitialState(reason):
            "invalid initial state: \(reason)"
        case let .invalidLog(index, operation, reason):
            "invalid log at op \(index) \(operation): \(reason)"
        case let .tooManyStates(limit, crashPoint):
            "more than \(limit) crash states (reached at crash point \(crashPoint)); "
                + "shorten the log, add fsyncs, or raise Limits.maxStates"
        case let .tooManyCandidates(limit, crashPoint):
            "more than \(limit) candidate trees at crash point \(crashPoint); "
                + "shorten the log or raise Limits.maxCandidatesPerCrashPoint"
        case let .tooManyPendingDirectoryOperations(directory, count, limit, crashPoint):
            "directory \"\(directory)\" has \(count) unsynced entry changes at crash point \(crashPoint), "
                + "over the .anySubset limit of \(limit) (2^\(count) subsets); use .prefix or a shorter log"
        case let .invalidConfiguration(reason):
            "invalid generator configuration: \(reason)"
        }
    }
}

/// Produces, for every prefix of an op log, the set of trees a POSIX file
/// system may leave after power loss (rules at the top of this file).
struct CrashStateGenerator: Sendable {
    /// Which combinations of a directory's unsynced entry changes may survive.
    enum DirectoryOrdering: Hashable, Sendable {
        /// Each directory keeps a prefix of its changes (in-order metadata
        /// journaling, as on ext4 and xfs). The default.
        case prefix
        /// Each directory keeps any subset of its changes (file systems that
        /// reorder metadata). Throws if a directory has more than
        /// `maxPendingOperations` unsynced changes (at most 16 is accepted).
        case anySubset(maxPendingOperations: Int)
    }

    /// Caps that turn an exploding exploration into a clear error.
    struct Limits: Hashable, Sendable {
        /// Distinct states over all crash points.
        var maxStates: Int
        /// Candidate trees examined at one crash point, before deduplication.
        var maxCandidatesPerCrashPoint: Int
        /// Combinations of the files' contents explored in full at one crash point (for each
        /// shape of the directories); beyond it, one file varies at a time while the others
        /// hold all or none of their unsynced data.
        var maxContentCombinations: Int

        /// Defaults sized for hand-written and recorded Tally protocol logs.
        init(maxStates: Int = 100_000, maxCandidatesPerCrashPoint: Int = 1_000_000, maxContentCombinations: Int = 4096) {
            self.maxStates = maxStates
            self.maxCandidatesPerCrashPoint = maxCandidatesPerCrashPoint
            self.maxContentCombinations = maxContentCombinations
        }
    }

    /// How directory changes may survive.
    var ordering: DirectoryOrdering
    /// The caps.
    var limits: Limits
    /// Granularity of torn writes, in bytes.
    var blockSize: Int

    /// A generator with the given ordering, caps and tear granularity.
    init(ordering: DirectoryOrdering = .prefix, limits: Limits = Limits(), blockSize: Int = 4096) {
        self.ordering = ordering
        self.limits = limits
        self.blockSize = blockSize
    }

    /// All crash states of `log` applied to `initial`, collected in memory.
    func generate(initial: DirectoryState, log: [FileOp]) throws(CrashStateError) -> CrashStateReport {
        var states: [CrashState] = []
        var counts = Array(repeating: 0, count: log.count + 1)
        try visit(initial: initial, log: log) { state in
            states.append(state)
            counts[state.crashPoint] += 1
            return true
        }
        return CrashStateReport(operations: log, states: states, countsPerCrashPoint: counts)
    }

    /// Same as `generate(initial:log:)` for a hand-built log.
    func generate(initial: DirectoryState, log: FileOpLog) throws(CrashStateError) -> CrashStateReport {
        try generate(initial: initial, log: log.operations)
    }

    /// Streams each distinct state to `body` as it is found, so a checker that
    /// materializes states need not hold them all. Errors from `body` propagate.
    func forEachState(
        initial: DirectoryState, log: [FileOp], _ body: (CrashState) throws -> Void
    ) throws {
        var failure: (any Error)?
        try visit(initial: initial, log: log) { state in
            do { try body(state) } catch { failure = error }
            return failure == nil
        }
        if let failure { throw failure }
    }

    /// Calls `body` with each distinct state until it returns false. (A Bool
    /// rather than a throwing body keeps this typed-throws and lets `generate`
    /// promise only `CrashStateError`.)
    private func visit(
        initial: DirectoryState, log: [FileOp], _ body: (CrashState) -> Bool
    ) throws(CrashStateError) {
        try validateConfiguration()
        var model = try FileSystemModel(initial: initial)
        var total = 0
        var stopped = false
        for crashPoint in 0...log.count where !stopped {
            if crashPoint > 0 { try model.apply(log[crashPoint - 1], at: crashPoint - 1) }
            var seen = Set<DirectoryState>()
            let enumerator = CrashPointEnumerator(
                model: model, ordering: ordering, blockSize: blockSize,
                maxCandidates: limits.maxCandidatesPerCrashPoint,
                maxContentCombinations: limits.maxContentCombinations, crashPoint: crashPoint)
            try enumerator.enumerate { (disk) throws(CrashStateError) in
                guard !stopped, seen.insert(disk).inserted else { return }
                total += 1
                guard total <= limits.maxStates else {
                    throw .tooManyStates(limit: limits.maxStates, crashPoint: crashPoint)
                }
                stopped = !body(CrashState(
                    crashPoint: crashPoint, returnedLabels: model.returnedLabels,
                    precedingOperation: crashPoint > 0 ? log[crashPoint - 1] : nil, disk: disk))
            }
        }
    }

    private func validateConfiguration() throws(CrashStateError) {
        guard blockSize > 0 else { throw .invalidConfiguration(reason: "blockSize must be positive") }
        guard limits.maxStates > 0, limits.maxCandidatesPerCrashPoint > 0, limits.maxContentCombinations > 0 else {
            throw .invalidConfiguration(reason: "limits must be positive")
        }
        if case let .anySubset(maximum) = ordering, !(0...16).contains(maximum) {
            throw .invalidConfiguration(reason: "anySubset(maxPendingOperations:) must be in 0...16")
        }
    }
}
