import Foundation
import Testing

@testable import Tally

// Shared machinery of the power-loss tests: record a protocol through the seam, generate
// every crash state of the log, check each against invariants, and materialize the distinct
// ones so that Tally's own code (the sweeper, mirror, reconcile, open and verify) runs on them.
//
// How the combinations are bounded, so the whole suite runs in seconds on 2 cores:
//
// - inputs are small (a few documents, events and backups; files of a few hundred bytes to a
//   few KiB) and torn writes are cut at 512-byte sectors (4 KiB pages for the streaming
//   writer, whose writes are 64 KiB), so every multi-sector write still tears;
// - a file's unsynced writes survive as a prefix plus a torn last write, not as any subset of
//   blocks (rule 1 in CrashStateGenerator.swift: linear instead of exponential per file);
// - directories keep a prefix of their unsynced changes (`.prefix`, in-order journaling as
//   on ext4 and xfs); each protocol is explored a second time with `.anySubset` (any subset
//   of a directory's unsynced changes, as POSIX allows) as long as no directory holds more
//   than `anySubsetLimit` unsynced changes at once — the protocols fsync directories often
//   enough that none does;
// - identical trees at one crash point are generated once, and the on-disk checks run once
//   per distinct (tree, reported-success) pair over the whole log;
// - `TALLY_STRESS=1` raises the input sizes and the limits.

/// The bounds of the exploration (see the comment at the top of this file).
enum PowerLossBounds {
    /// `TALLY_STRESS=1`: larger inputs and limits.
    static let stress = ProcessInfo.processInfo.environment["TALLY_STRESS"] == "1"
    /// Torn-write granularity for small inputs: a disk sector.
    static let sector = 512
    /// Most unsynced changes one directory may hold for `.anySubset` (2^n subsets each).
    static let anySubsetLimit = stress ? 14 : 10
    /// Most crash states per exploration before it stops with an error instead.
    static let maximumStates = stress ? 2_000_000 : 200_000
    /// The two directory orderings every protocol is explored with.
    static let orderings: [CrashStateGenerator.DirectoryOrdering] = [.prefix, .anySubset(maxPendingOperations: anySubsetLimit)]
}

extension CrashStateGenerator.DirectoryOrdering {
    var name: String {
        switch self {
        case .prefix: "in-order directories"
        case .anySubset: "reordered directories"
        }
    }
}

/// What a protocol did under the recorder.
struct Recording: Sendable {
    let initial: DirectoryState
    let log: [FileOp]
    /// The tree on disk after the protocol (and the recording) ended.
    let final: DirectoryState
    let problems: [String]
    let externalOperations: Int
}

/// Records what `body` does under `root` through a ``SyscallRecorder``.
func record(
    under root: String, observingExternalChanges: Bool = false, syncFileSystemAvailable: Bool = true,
    _ body: (SyscallRecorder) throws -> Void
) throws -> Recording {
    let recorder = try SyscallRecorder(
        root: root, observesExternalChanges: observingExternalChanges, syncFileSystemAvailable: syncFileSystemAvailable)
    try body(recorder)
    recorder.finish()
    return Recording(initial: recorder.initial, log: recorder.log, final: try DirectoryState(readingDirectoryAt: root),
                     problems: recorder.problems, externalOperations: recorder.externalOperations)
}

/// The outcome of exploring one recording under one directory ordering.
struct Exploration: Sendable {
    let name: String
    let ordering: CrashStateGenerator.DirectoryOrdering
    let operations: Int
    /// Crash states examined (sum over crash points of the distinct trees at each).
    let states: Int
    /// Distinct (tree, reported-success) pairs materialized and checked with Tally's code.
    let checkedOnDisk: Int
    let violations: [String]

    var summary: String {
        "\(name) [\(ordering.name)]: \(operations) operations, \(states) crash states, "
            + "\(checkedOnDisk) checked on disk, \(violations.count) violations"
    }
}

/// The states a check on disk sees once: the tree and which calls had reported success.
private struct DiskKey: Hashable {
    let disk: DirectoryState
    let returned: [String]
}

/// Generates every crash state of `recording`, checks each against `invariants`, and runs
/// `onDisk` on a materialized copy of each distinct one. Returns the counts and violations
/// (each a one-line description, at most the first 20 kept in full).
func explore(
    _ name: String, _ recording: Recording,
    ordering: CrashStateGenerator.DirectoryOrdering = .prefix,
    blockSize: Int = PowerLossBounds.sector,
    invariants: [CrashInvariant],
    onDisk: ((CrashState, MaterializedDirectory) throws -> [String])? = nil
) throws -> Exploration {
    let generator = CrashStateGenerator(
        ordering: ordering, limits: .init(maxStates: PowerLossBounds.maximumStates), blockSize: blockSize)
    var states = 0
    var violations: [String] = []
    var checked = Set<DiskKey>()
    let scratch = TemporaryDirectory("tally-powerloss")
    try generator.forEachState(initial: recording.initial, log: recording.log) { state in
        states += 1
        for invariant in invariants {
            if let violation = invariant.violation(in: state) { violations.append(violation.description) }
        }
        guard let onDisk, checked.insert(DiskKey(disk: state.disk, returned: state.returnedLabels)).inserted else { return }
        let directory = try state.disk.materialize(under: scratch.path)
        defer { try? directory.remove() }
        for problem in try onDisk(state, directory) {
            let after = state.precedingOperation.map { " after \($0)" } ?? " before the first op"
            violations.append("crash point \(state.crashPoint)\(after): \(problem); disk: \(state.disk)")
        }
    }
    let exploration = Exploration(name: name, ordering: ordering, operations: recording.log.count, states: states,
                                  checkedOnDisk: checked.count, violations: violations)
    print("[power-loss] \(exploration.summary)")
    return exploration
}

/// Explores `recording` under both directory orderings and expects no violation and a
/// faithful log; returns the explorations (in-order first).
@discardableResult
func expectNoViolations(
    _ name: String, _ recording: Recording,
    blockSize: Int = PowerLossBounds.sector,
    invariants: [CrashInvariant],
    onDisk: ((CrashState, MaterializedDirectory) throws -> [String])? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> [Exploration] {
    #expect(recording.problems.isEmpty, "the recorder's log does not match the disk: \(recording.problems)",
            sourceLocation: sourceLocation)
    var explorations: [Exploration] = []
    for ordering in PowerLossBounds.orderings {
        let exploration = try explore(name, recording, ordering: ordering, blockSize: blockSize,
                                      invariants: invariants, onDisk: onDisk)
        let details = exploration.violations.prefix(20).joined(separator: "\n")
        #expect(exploration.violations.isEmpty, "\(exploration.summary):\n\(details)", sourceLocation: sourceLocation)
        explorations.append(exploration)
    }
    return explorations
}

// MARK: - Invariants and checks shared by several protocols

extension CrashInvariant {
    /// The rolling backups `path.bak.1…n` of an ``AtomicFile`` write keep every generation:
    /// `generations[0]` is the file being replaced, `generations[i]` what `path.bak.i` held
    /// (nil: absent). At every crash point at most one generation of `0..<n` is missing from
    /// `path` and its backups, and once `path` holds the new content, `path.bak.1` holds the
    /// content it replaced (the newest good backup is never lost).
    static func backupsKept(of path: String, generations: [[UInt8]?], new: [UInt8], count: Int) -> CrashInvariant {
        CrashInvariant("rolling backups of \(path)") { state in
            let names = [path] + (1...count).map { AtomicFile.backupPath(of: path, index: $0) }
            let present = Set(names.compactMap { state.contents(of: $0) })
            if state.contents(of: path) == new, let replaced = generations[0],
               state.contents(of: AtomicFile.backupPath(of: path, index: 1)) != replaced {
                return "\(path) holds the new content but \(path).bak.1 is not the content it replaced"
            }
            let kept = generations.prefix(count).compactMap { $0 }
            let missing = kept.filter { !present.contains($0) }
            if missing.count > 1 { return "\(missing.count) backup generations lost at once" }
            return nil
        }
    }
}

/// Sweeps Tally's temporary files out of a materialized crash state the way Tally does
/// (``TempFileSweeper``, as if they were old) and returns what is wrong: a temporary name left
/// behind, or anything else removed.
func sweepProblems(_ directory: MaterializedDirectory, _ state: CrashState) -> [String] {
    let sweeper = TempFileSweeper(minimumAge: 60, recursive: true)
    do {
        _ = try sweeper.sweep(directory.path, now: Clock.secondsSince1970() + 3600)
        let after = try DirectoryState(readingDirectoryAt: directory.path)
        let expected = state.disk.files.filter { !TempFileName.matches(FileOperations.split($0.key).name) }
        var problems: [String] = []
        let leftover = after.files.keys.filter { TempFileName.matches(FileOperations.split($0).name) }
        if !leftover.isEmpty { problems.append("the sweeper left \(leftover.sorted())") }
        if after.files != expected { problems.append("the sweep changed files that are not temporary") }
        return problems
    } catch {
        return ["the sweep failed: \(error)"]
    }
}

/// `count` bytes of readable text that differ between `label`s, for fixtures that span sectors.
func fixture(_ label: String, _ count: Int) -> [UInt8] {
    let line = Array("\(label): the quick brown fox jumps over the lazy dog 0123456789\n".utf8)
    return Array((0..<(count / line.count + 1)).flatMap { _ in line }.prefix(count))
}
