import Foundation
import RawSQLitePeer

public struct PeerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The text of a NUL-terminated C buffer.
func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Swift handle on the raw-C peer (Sources/RawSQLitePeer).
public final class RawPeer {
    let handle: OpaquePointer

    public init(_ path: String, synchronous: String) throws {
        var error = [CChar](repeating: 0, count: 512)
        guard let handle = raw_open(path, synchronous, &error, Int32(error.count)) else {
            throw PeerError("raw_open \(path): \(cText(error))")
        }
        self.handle = handle
        try Synchronous.check(raw_query_int(handle, "PRAGMA synchronous"), expected: synchronous, peer: "raw C")
    }

    deinit { raw_close(handle) }

    var lastError: String { String(cString: raw_error(handle)) }

    /// A fresh database with Tally's schema (``BenchPaths/schemaSQL``, triggers included).
    public static func fresh(_ path: String, synchronous: String) throws -> RawPeer {
        BenchPaths.removeDatabase(path)
        let peer = try RawPeer(path, synchronous: synchronous)
        try peer.exec("BEGIN; " + BenchPaths.schemaSQL + "; COMMIT;")
        return peer
    }

    public func exec(_ sql: String) throws {
        guard raw_exec(handle, sql) == 0 else { throw PeerError("raw_exec: \(lastError)") }
    }

    /// W1 (per_transaction 1,000) and W2 (per_transaction 1).
    public func appendEvents(count: Int, perTransaction: Int, streams: Int, idPrefix: String) throws {
        guard raw_append_events(handle, Int32(count), Int32(perTransaction), Int32(streams), idPrefix) == 0 else {
            throw PeerError("raw_append_events: \(lastError)")
        }
    }

    /// W5's ceiling: every writer's event `i` in transaction `i` (see the C function).
    public func appendWritersInterleaved(writers: Int, perWriter: Int, idPrefix: String) throws {
        guard raw_append_writers_interleaved(handle, Int32(writers), Int32(perWriter), idPrefix) == 0 else {
            throw PeerError("raw_append_writers_interleaved: \(lastError)")
        }
    }

    /// W1g: event ids made in C, per event: UUID version 7 (time-ordered) or 4 (random).
    public func appendEvents(count: Int, perTransaction: Int, streams: Int, uuidVersion: Int) throws {
        guard raw_append_events_uuid(handle, Int32(count), Int32(perTransaction), Int32(streams), Int32(uuidVersion)) == 0 else {
            throw PeerError("raw_append_events_uuid: \(lastError)")
        }
    }

    /// W6: inserts rows loaded by ``ImportRows`` in one transaction.
    public func insert(_ rows: ImportRows) throws {
        guard raw_import_insert(handle, rows.handle) == 0 else { throw PeerError("raw_import_insert: \(lastError)") }
    }

    /// W3: the C strings are made by ``CStrings`` outside the timed region.
    public func putStates(_ strings: CStrings, perTransaction: Int, status: String) throws {
        guard raw_put_states(handle, Int32(strings.count), Int32(perTransaction), strings.keys, strings.bodies,
                             strings.checksums, status) == 0 else {
            throw PeerError("raw_put_states: \(lastError)")
        }
    }

    /// W4.
    @discardableResult
    public func exportStates(to path: String) throws -> Int64 {
        let rows = raw_export_states(handle, path)
        guard rows >= 0 else { throw PeerError("raw_export_states: \(lastError)") }
        return rows
    }

    /// W5: one connection per writer thread.
    public static func concurrentAppend(_ peers: [RawPeer], perWriter: Int, idPrefix: String) throws {
        var handles: [OpaquePointer?] = peers.map { $0.handle }
        var error = [CChar](repeating: 0, count: 512)
        let code = handles.withUnsafeMutableBufferPointer {
            raw_concurrent_append($0.baseAddress, Int32(peers.count), Int32(perWriter), idPrefix, &error, Int32(error.count))
        }
        guard code == 0 else { throw PeerError("raw_concurrent_append: \(cText(error))") }
    }

    /// The disk's limit: 4 KiB append + fdatasync, `count` times.
    public static func fdatasyncLoop(path: String, count: Int) throws {
        var error = [CChar](repeating: 0, count: 512)
        guard raw_fdatasync_loop(path, Int32(count), &error, Int32(error.count)) == 0 else {
            throw PeerError("fdatasync loop: \(cText(error))")
        }
    }
}

/// NUL-terminated copies of the documents' keys, bodies and checksums for the C peer.
public final class CStrings {
    public let count: Int
    let keys: UnsafeMutablePointer<UnsafePointer<CChar>?>
    let bodies: UnsafeMutablePointer<UnsafePointer<CChar>?>
    let checksums: UnsafeMutablePointer<UnsafePointer<CChar>?>

    public init(_ documents: [Document]) {
        count = documents.count
        func array(_ strings: [String]) -> UnsafeMutablePointer<UnsafePointer<CChar>?> {
            let pointer = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: strings.count)
            for (index, string) in strings.enumerated() { pointer[index] = UnsafePointer(strdup(string)) }
            return pointer
        }
        keys = array(documents.map(\.key))
        bodies = array(documents.map(\.canonicalText))
        checksums = array(documents.map(\.checksum))
    }

    deinit {
        for pointer in [keys, bodies, checksums] {
            for index in 0..<count { free(UnsafeMutableRawPointer(mutating: pointer[index])) }
            pointer.deallocate()
        }
    }
}

/// W6: every row of a Tally database's ledger, merkle_nodes, checkpoints, consumers and state
/// tables plus its ledger identity, held in C memory (loaded outside the timed region).
public final class ImportRows {
    let handle: OpaquePointer

    public init(from path: String) throws {
        var error = [CChar](repeating: 0, count: 512)
        guard let handle = raw_import_load(path, &error, Int32(error.count)) else {
            throw PeerError("raw_import_load \(path): \(cText(error))")
        }
        self.handle = handle
    }

    deinit { raw_import_free(handle) }

    public func count(_ table: String) -> Int { Int(raw_import_row_count(handle, table)) }
}

/// W7/W7b: the files of a mirror (relative path → exact bytes), held in C memory.
public final class MirrorFiles {
    let handle: OpaquePointer

    public init(loading directory: String) throws {
        var error = [CChar](repeating: 0, count: 512)
        guard let handle = raw_mirror_set_load(directory, &error, Int32(error.count)) else {
            throw PeerError("raw_mirror_set_load \(directory): \(cText(error))")
        }
        self.handle = handle
    }

    deinit { raw_mirror_set_free(handle) }

    public var count: Int { Int(raw_mirror_set_count(handle)) }
    public var bytes: Int { Int(raw_mirror_set_bytes(handle)) }

    /// W7: temp files, one syncfs, renames, one fsync per directory.
    public func write(to root: String) throws {
        var error = [CChar](repeating: 0, count: 512)
        guard raw_mirror_write(handle, root, &error, Int32(error.count)) == 0 else {
            throw PeerError("raw_mirror_write: \(cText(error))")
        }
    }

    /// W7b: readdir + fstat + read + memcmp of every file; throws on any difference.
    @discardableResult
    public func compare(with root: String) throws -> Int {
        var error = [CChar](repeating: 0, count: 512)
        let matched = raw_mirror_compare(handle, root, &error, Int32(error.count))
        guard matched >= 0 else { throw PeerError("raw_mirror_compare: \(cText(error))") }
        return Int(matched)
    }
}
