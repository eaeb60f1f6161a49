import Foundation
import Glibc

/// The actions of ``Store/repair(mirror:removeExtra:progress:)``, taken as the directory
/// reconciler finds each problem (inside its read transaction, so files are rewritten from
/// the same consistent view of the database the comparison used). Every action, and every
/// problem deliberately left alone, becomes one sentence of ``ReconcileReport/repairs``.
struct MirrorRepairer {
    /// Temporary files younger than this may belong to a write still in progress (another
    /// process's write-through), so they are left for a later repair. A mirror file's
    /// write takes milliseconds; a minute leaves room for slow disks.
    static let orphanTempMinimumAge: TimeInterval = 60

    let directory: String
    let removeExtra: Bool
    let now: Date
    private(set) var repairs: [String] = []

    init(directory: String, removeExtra: Bool, now: Date = Date()) {
        self.directory = directory
        self.removeExtra = removeExtra
        self.now = now
    }

    /// Rewrites the file of `document` (missing, stale, mismatched or corrupt) atomically.
    mutating func rewrite(_ document: StateDocument, path: String, because kind: Finding.Kind) throws {
        _ = try Store.mirrorFile(document, in: directory)
        repairs.append("rewrote \(path) from the database (version \(document.version); it was \(kind.rawValue))")
    }

    /// Records a problem repair cannot fix, and what the user should do instead.
    mutating func leave(_ subject: String, because reason: String) {
        repairs.append("left \(subject): \(reason)")
    }

    /// Removes a file whose key the database does not have, when asked to and only when it
    /// is a valid mirror file of that key: never anything Tally did not write.
    mutating func extra(path: String, isMirrorFile: Bool) throws {
        guard removeExtra else {
            leave(path, because: "its key is not in the database; remove it with --remove-extra, or import it")
            return
        }
        guard isMirrorFile else {
            leave(path, because: "not a mirror file Tally wrote (unreadable, or another key inside); remove it by hand if it is not needed")
            return
        }
        try unlinkFile(path)
        repairs.append("removed \(path) (its key is not in the database)")
    }

    /// Removes an orphaned temporary file old enough not to be a write in progress.
    mutating func orphanTemp(path: String, age: TimeInterval) throws {
        guard age >= Self.orphanTempMinimumAge else {
            leave(path, because: "modified \(Int(age)) s ago, it may be a write in progress; repair again after "
                + "\(Int(Self.orphanTempMinimumAge)) s")
            return
        }
        try unlinkFile(path)
        repairs.append("removed \(path) (a temporary file left by an interrupted write)")
    }

    private func unlinkFile(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw TallyError.io(step: "unlink", path: path, errno: errno) }
    }
}
