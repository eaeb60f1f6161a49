import Crypto

/// Finished snapshot lines on their way to the sink, hashed on another thread.
///
/// Export is a pipeline of two stages (``BatchHandOver``): the thread holding the read
/// transaction formats a batch of lines and hands it to ``SnapshotExportVerifier`` on a serial
/// queue, then sends the batch verified before it to the sink. The verifier checks every
/// document's stored body against its checksum and adds the batch to the file's SHA-256; the
/// reading thread never waits for a hash unless the verifier is behind. A batch is sent only once verified, and
/// only by the reading thread (the sink is the caller's closure).
///
/// A batch's lines are fixed when it is made; only ``mismatches`` is written afterwards, by the
/// verifier, before the batch is handed back.
final class SnapshotExportBatch: @unchecked Sendable {
    /// A document line whose stored body must hash to its checksum before the line is sent.
    struct BodyCheck {
        /// The document's key in ``bytes``, as a JSON string (quotes included).
        var key: Range<Int>
        /// The body's bytes in ``bytes``.
        var body: Range<Int>
        /// The checksum's hex digits in ``bytes``.
        var checksum: Range<Int>
    }

    /// Whole lines, each ending in a newline.
    let bytes: [UInt8]
    let bodyChecks: [BodyCheck]
    /// Indices into ``bodyChecks`` whose bodies do not hash to their checksums (filled by the
    /// verifier). When there are any, the verifier added nothing of this batch to the digest.
    var mismatches: [Int] = []

    /// Lines are submitted in batches of about this many bytes.
    static let targetBytes = 256 << 10

    init(bytes: [UInt8], bodyChecks: [BodyCheck]) {
        self.bytes = bytes
        self.bodyChecks = bodyChecks
    }

    /// Whether check `index`'s body hashes to its checksum.
    func bodyIsIntact(_ index: Int) -> Bool {
        let check = bodyChecks[index]
        return bytes.withUnsafeBufferPointer { bytes in
            Digest.sha256(of: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[check.body])),
                          isHex: UnsafeBufferPointer(rebasing: bytes[check.checksum]))
        }
    }

    /// The canonical form of check `index`'s body when its stored text is not that (see
    /// ``StateTable/canonicalBody(ofStored:key:checksum:)``, which throws for a changed body).
    func canonicalBody(_ index: Int) throws(TallyError) -> [UInt8] {
        let check = bodyChecks[index]
        return try bytes.withUnsafeBufferPointer { (bytes) throws(TallyError) -> [UInt8] in
            func text(_ range: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self) }
            // The key as written is a JSON string, escaped where it had to be.
            let key: String
            if case let .string(unescaped)? = try? JSONValue.parseStrict(utf8: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[check.key]))) {
                key = unescaped
            } else {
                key = text(check.key)
            }
            return try StateTable.canonicalBody(ofStored: UnsafeBufferPointer(rebasing: bytes[check.body]), key: key,
                                                checksum: text(check.checksum))
        }
    }
}

/// Checks batches of a snapshot's lines in order and keeps the file's running SHA-256 (see
/// ``SnapshotExportBatch``). At the first batch with a body that is not its checksum's canonical
/// text it stops, leaving that batch and every later one to the reading thread, which
/// re-verifies such a body through its canonical form.
final class SnapshotExportVerifier: @unchecked Sendable {
    /// The SHA-256 of every batch verified so far; read by the reading thread only once no
    /// batch that could add to it is in flight.
    private(set) var digest = SHA256()
    private var stopped = false

    /// - Parameter header: The header line, newline included: the first bytes of the digest.
    init(header: [UInt8]) {
        digest.update(data: header)
    }

    func verify(_ batch: SnapshotExportBatch) {
        guard !stopped else { return }
        for index in batch.bodyChecks.indices where !batch.bodyIsIntact(index) {
            batch.mismatches.append(index)
        }
        if batch.mismatches.isEmpty {
            digest.update(data: batch.bytes)
        } else {
            stopped = true
        }
    }
}
