/// A change to a regular file's data or size that has not been fsynced yet.
enum DataOp: Hashable, Sendable {
    case write(offset: Int, bytes: [UInt8])
    case truncate(length: Int)
    /// Whole-content replacement from `externalContent`: we only know the result,
    /// not the writes that produced it.
    case replace(bytes: [UInt8])

    func apply(to content: inout [UInt8]) {
        switch self {
        case let .write(offset, bytes):
            Self.overwrite(&content, at: offset, with: bytes[...])
        case let .truncate(length):
            if length < content.count {
                content.removeSubrange(length...)
            } else {
                content.append(contentsOf: repeatElement(0, count: length - content.count))
            }
        case let .replace(bytes):
            content = bytes
        }
    }

    /// `pwrite` semantics: a gap past the end reads back as zeros (a hole).
    static func overwrite(_ content: inout [UInt8], at offset: Int, with bytes: ArraySlice<UInt8>) {
        if offset > content.count {
            content.append(contentsOf: repeatElement(0, count: offset - content.count))
        }
        let overlap = min(bytes.count, content.count - offset)
        content.replaceSubrange(offset..<(offset + overlap), with: bytes.prefix(overlap))
        content.append(contentsOf: bytes.dropFirst(overlap))
    }

    /// Results of this op interrupted part-way, applied to `base`: strictly
    /// between "not at all" and "completely", at block granularity.
    ///
    /// A write tears at file-block boundaries (blocks are aligned to the file,
    /// as the page cache writes them back): after k of the m blocks it touches.
    /// A replacement tears over the blocks whose bytes actually differ, in file
    /// order, because SQLite rewrites changed pages in place; its truncation
    /// (if it shrinks the file) only happens with the complete op.
    func tornResults(from base: [UInt8], blockSize: Int) -> [[UInt8]] {
        switch self {
        case .truncate:
            return []
        case let .write(offset, bytes):
            guard !bytes.isEmpty else { return [] }
            let first = offset / blockSize
            let last = (offset + bytes.count - 1) / blockSize
            return (0..<(last - first)).map { k in
                var torn = base
                let length = (first + k + 1) * blockSize - offset
                Self.overwrite(&torn, at: offset, with: bytes.prefix(length))
                return torn
            }
        case let .replace(new):
            let blockCount = (new.count + blockSize - 1) / blockSize
            let changed = (0..<blockCount).filter { block in
                let low = block * blockSize
                let high = min(low + blockSize, new.count)
                let old = low < base.count ? base[low..<min(high, base.count)] : []
                return old != new[low..<high]
            }
            var results: [[UInt8]] = []
            var torn = base
            for block in changed {
                let low = block * blockSize
                Self.overwrite(&torn, at: low, with: new[low..<min(low + blockSize, new.count)])
                if torn != new { results.append(torn) }
            }
            return results
        }
    }
}

/// A regular file's inode: what survives a crash for sure (`persisted`), the
/// changes since the last fsync in issue order (`pending`), and what the
/// running process sees (`current`).
struct FileInode: Sendable {
    var persisted: [UInt8]
    var pending: [DataOp] = []
    var current: [UInt8]

    init(content: [UInt8]) {
        persisted = content
        current = content
    }

    mutating func record(_ op: DataOp) {
        pending.append(op)
        op.apply(to: &current)
    }

    mutating func persist() {
        persisted = current
        pending = []
    }

    /// Every content this inode may hold after a crash, deduplicated, in a
    /// stable order: persisted, each prefix of the pending ops, and the last
    /// pending op torn. See the rules at the top of CrashStateGenerator.swift.
    func crashContents(blockSize: Int) -> [[UInt8]] {
        var results = [persisted]
        var content = persisted
        for (index, op) in pending.enumerated() {
            if index == pending.count - 1 {
                results += op.tornResults(from: content, blockSize: blockSize)
            }
            op.apply(to: &content)
            results.append(content)
        }
        var seen = Set<[UInt8]>()
        return results.filter { seen.insert($0).inserted }
    }
}
