/// The actions of ``Store/repair(mirror:removeExtra:progress:)-269ox``, taken as the directory
/// reconciler finds each problem (inside its read transaction, so files are rewritten from
/// the same consistent view of the database the comparison used). Every action, and every
/// problem deliberately left alone, becomes one sentence of ``ReconcileReport/repairs``.
struct MirrorRepairer {
    let directory: String
    let removeExtra: Bool
    /// The time temporary files' ages are measured against (a parameter for tests).
    let now: Double
    /// The system calls its writes and removals go through (tests fail them).
    let syscalls: FileSyscalls
    private(set) var repairs: [String] = []

    init(directory: String, removeExtra: Bool, now: Double = Clock.secondsSince1970(), syscalls: FileSyscalls = .live) {
        self.directory = Store.trimmed(directory)
        self.removeExtra = removeExtra
        self.now = now
        self.syscalls = syscalls
    }

    /// Rewrites the file of `document` (missing, stale, mismatched or corrupt) atomically.
    mutating func rewrite(_ document: StateDocument, path: String, because kind: Finding.Kind) throws(TallyError) {
        _ = try MirrorFileWriter.write(document, under: directory, syscalls: syscalls)
        repairs.append("rewrote \(path) from the database (version \(document.version); it was \(kind.rawValue))")
    }

    /// Records a problem repair cannot fix, and what the user should do instead.
    mutating func leave(_ subject: String, because reason: String) {
        repairs.append("left \(subject): \(reason)")
    }

    /// Records something done outside the per-file actions.
    mutating func note(_ action: String) {
        repairs.append(action)
    }

    /// Removes a file whose key the database does not have, when asked to and only when it
    /// is a valid mirror file of that key: never anything Tally did not write.
    mutating func extra(path: String, isMirrorFile: Bool) throws(TallyError) {
        guard removeExtra else {
            leave(path, because: "its key is not in the database; remove extra files with the repair's removeExtra option, or import it")
            return
        }
        guard isMirrorFile else {
            leave(path, because: "not a mirror file Tally wrote (unreadable, or another key inside); remove it by hand if it is not needed")
            return
        }
        try AtomicFile.removeDurably(path, syscalls: syscalls)
        repairs.append("removed \(path) (its key is not in the database)")
    }

    /// Removes an orphaned temporary file old enough not to be a write in progress.
    mutating func orphanTemp(path: String, age: Double) throws(TallyError) {
        guard age >= MirrorWriter.orphanAge else {
            leave(path, because: "modified \(Int(age)) s ago, it may be a write in progress; repair again after "
                + "\(Int(MirrorWriter.orphanAge)) s")
            return
        }
        try AtomicFile.remove(path, syscalls: syscalls)  // an orphan's return after power loss is harmless
        repairs.append("removed \(path) (a temporary file left by an interrupted write)")
    }

    /// Rewrites the manifest from the database.
    func writeManifest(_ manifest: MirrorManifest, to path: String) throws(TallyError) {
        try AtomicFile.write(manifest.rendered(), to: path, permissions: 0o644, syscalls: syscalls)
    }
}
