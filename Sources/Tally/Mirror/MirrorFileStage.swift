/// The file side of the mirror's first pass, run on a second thread by a ``BatchHandOver``:
/// for each rendered document it reads the existing file (safely, see ``MirrorFileReader``),
/// leaves it when it holds the same bytes, and otherwise writes it through one
/// ``AtomicFile/Batch``, committed every ``MirrorWriter/batchSize`` files.
///
/// The mirror is a pipeline of two stages, as import and export are: the thread holding the
/// read transaction verifies and renders each document (``MirrorWriter``) while this stage
/// makes the system calls. Documents arrive in chunks, in key order, one chunk ahead at
/// most, so memory stays bounded however large the mirror.
///
/// The stage's state is touched only by ``process(_:)`` while the hand-over runs, and by
/// the writer (``commitLast()``, ``discard()``, the counts) once it has finished.
final class MirrorFileStage: @unchecked Sendable {
    /// A document rendered into its mirror file's bytes.
    struct Rendered {
        let key: String
        let version: Int64
        let checksum: String
        let bytes: [UInt8]
    }

    /// Documents handed over at a time.
    static let chunkSize = 512

    private var reader: MirrorFileReader
    private let batch: AtomicFile.Batch
    /// A batch commit that threw: nothing is done after it.
    private var failure: TallyError?

    /// Files written because they were missing or different (once the hand-over has finished).
    private(set) var written: Int64 = 0
    /// Files that already held the document's bytes (once the hand-over has finished).
    private(set) var unchanged: Int64 = 0
    /// What could not be written, in key order (once the hand-over has finished).
    private(set) var findings: [Finding] = []

    init(root: String, syscalls: FileSyscalls) {
        reader = MirrorFileReader(root: root, syscalls: syscalls, listsDirectories: true)
        batch = AtomicFile.Batch(syscalls: syscalls)
    }

    /// Reads, compares and stages the files of `chunk`, committing every
    /// ``MirrorWriter/batchSize`` files; does nothing once a commit has failed.
    func process(_ chunk: [Rendered]) {
        for document in chunk where failure == nil {
            mirror(document)
            if batch.count >= MirrorWriter.batchSize { commit() }
        }
    }

    /// Commits the last batch, once every chunk is processed.
    ///
    /// - Throws: The first batch commit's error (``AtomicFile/Batch/commit()``).
    func commitLast() throws(TallyError) {
        if failure == nil { commit() }
        if let failure { throw failure }
    }

    /// Removes the temporary files not yet committed: the mirror stopped with an error.
    func discard() {
        batch.discard()
    }

    private func mirror(_ document: Rendered) {
        switch reader.read(document.key, limit: MirrorFileReader.limit(expected: document.bytes.count)) {
        case let .bytes(_, existing) where existing.sameBytes(as: document.bytes):
            unchanged += 1
        case let .bytes(path, _), let .absent(path), let .unreadable(path, _):
            do throws(TallyError) {
                try batch.add(document.bytes, to: path, permissions: 0o600)
                written += 1
            } catch {
                findings.append(Finding(kind: .missing, key: document.key, path: path, databaseVersion: document.version,
                                        databaseChecksum: document.checksum,
                                        detail: "the file could not be written: \(error.problem)"))
            }
        case let .unsafe(path, reason):
            findings.append(MirrorFindings.unsafe(path: path, key: document.key, reason: reason))
        case let .impossible(reason):
            findings.append(Finding(kind: .missing, key: document.key, databaseVersion: document.version,
                                    databaseChecksum: document.checksum,
                                    detail: "the document cannot have a mirror file: \(reason)"))
        }
    }

    private func commit() {
        do throws(TallyError) {
            for failed in try batch.commit() {
                written -= 1
                findings.append(Finding(kind: .missing, path: failed.path, detail: "the file could not be written: \(failed.error.problem)"))
            }
        } catch {
            failure = error
        }
    }
}
