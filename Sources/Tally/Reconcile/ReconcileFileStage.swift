/// The file side of reconcile's first pass, run on a second thread by a ``BatchHandOver``:
/// reads each document's file (safely, see ``MirrorFileReader``) and compares it with the
/// bytes the mirror would write, keeping what it found only when the file differs.
///
/// As in the mirror (``MirrorFileStage``), the thread holding the read transaction verifies
/// and renders each document while this stage makes the system calls, a chunk ahead at most.
/// Everything that decides a finding, and every repair, stays on the reconciling thread,
/// which handles each chunk's documents in key order once the chunk comes back, so the
/// report reads as a one-thread reconcile's would.
final class ReconcileFileStage: @unchecked Sendable {
    // @unchecked: `reader` is touched only by `read(_:)`, which the hand-over runs on one
    // thread at a time.

    /// Documents handed over at a time.
    static let chunkSize = 512

    /// One document of a chunk.
    struct Entry {
        var document: DirectoryReconciler.Document
        /// The file the mirror would write for it; nil when the database's copy is corrupt
        /// (there is nothing to compare the file with, and no file is read).
        let expected: [UInt8]?
        /// What the domain rules found in it, reported before anything about its file.
        let ruleFindings: [Finding]
        /// What the file holds, once read; nil when it holds exactly `expected` (the common case).
        var outcome: MirrorFileReader.Outcome?
    }

    /// Entries in key order. Owned by one thread at a time: the reconciler until it hands the
    /// chunk over, this stage until the hand-over returns it.
    final class Chunk: @unchecked Sendable {
        var entries: [Entry] = []

        init() {
            entries.reserveCapacity(ReconcileFileStage.chunkSize)
        }
    }

    private var reader: MirrorFileReader

    init(root: String) {
        reader = MirrorFileReader(root: root, listsDirectories: true)
    }

    /// Reads the file of every entry with an expected file.
    func read(_ chunk: Chunk) {
        for index in chunk.entries.indices {
            guard let expected = chunk.entries[index].expected else { continue }
            let outcome = reader.read(chunk.entries[index].document.key, limit: MirrorFileReader.limit(expected: expected.count))
            if case let .bytes(_, contents) = outcome, contents.sameBytes(as: expected) { continue }
            chunk.entries[index].outcome = outcome
        }
    }
}
