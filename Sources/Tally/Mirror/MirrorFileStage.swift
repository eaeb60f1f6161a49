import Dispatch

/// The file side of the mirror's first pass, on its own serial queue: for each rendered
/// document it reads the existing file (safely, see ``MirrorFileReader``), leaves it when it
/// holds the same bytes, and otherwise writes it through one ``AtomicFile/Batch``, committed
/// every ``MirrorWriter/batchSize`` files.
///
/// The mirror is a pipeline of two stages, as import and export are: the thread holding the
/// read transaction verifies and renders each document (``MirrorWriter``) while this stage
/// makes the system calls on a second thread. Documents arrive in chunks, in key order; at
/// most ``maximumChunksInFlight`` wait, so memory stays bounded however large the mirror.
///
/// Ownership passes by hand-over: the stage's state is touched only by work on its queue,
/// and read by the writer after ``finish()`` or ``abandon()`` has waited for that work.
final class MirrorFileStage: @unchecked Sendable {
    /// A document rendered into its mirror file's bytes.
    struct Rendered {
        let key: String
        let version: Int64
        let checksum: String
        let bytes: [UInt8]
    }

    /// Documents handed over at a time.
    static let chunkSize = 256
    static let maximumChunksInFlight = 4

    private var reader: MirrorFileReader
    private let batch: AtomicFile.Batch
    private let queue = DispatchQueue(label: "tally.mirror.files", qos: .userInitiated)
    private let slots = DispatchSemaphore(value: MirrorFileStage.maximumChunksInFlight)
    /// A batch commit that threw: nothing is done after it.
    private var failure: TallyError?

    /// Files written because they were missing or different (after ``finish()``).
    private(set) var written: Int64 = 0
    /// Files that already held the document's bytes (after ``finish()``).
    private(set) var unchanged: Int64 = 0
    /// What could not be written, in key order (after ``finish()``).
    private(set) var findings: [Finding] = []

    init(root: String, syscalls: FileSyscalls) {
        reader = MirrorFileReader(root: root, syscalls: syscalls, listsDirectories: true)
        batch = AtomicFile.Batch(syscalls: syscalls)
    }

    /// Queues `chunk`, first waiting while ``maximumChunksInFlight`` chunks are queued.
    func submit(_ chunk: [Rendered]) {
        guard !chunk.isEmpty else { return }
        slots.wait()
        queue.async { [self] in
            defer { slots.signal() }
            for document in chunk where failure == nil {
                mirror(document)
                if batch.count >= MirrorWriter.batchSize { commit() }
            }
        }
    }

    /// Waits for every queued chunk and commits the last batch.
    ///
    /// - Throws: The first batch commit's error (``AtomicFile/Batch/commit()``).
    func finish() throws(TallyError) {
        queue.sync { if failure == nil { commit() } }
        if let failure { throw failure }
    }

    /// Waits for every queued chunk and removes the temporary files not yet committed: the
    /// mirror stopped with an error.
    func abandon() {
        queue.sync { batch.discard() }
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
