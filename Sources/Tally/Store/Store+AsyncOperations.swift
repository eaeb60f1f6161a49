// The `async` twins of the whole-database operations: export, import, mirror, reconcile,
// repair and verify. Like the other async calls they run the blocking work on the store's
// own threads (reads on a reader thread, import on the writer's), so a long export never
// holds a thread of the cooperative pool. Once started, an operation runs to its end:
// cancelling the task does not stop it half-way (each is atomic on its own terms anyway).

extension Store {
    /// ``exportSnapshot(to:options:progress:)-2nwgz`` for `async` callers.
    @discardableResult
    public func exportSnapshot(to path: String, options: Store.ExportOptions = Store.ExportOptions(),
                               progress: (@Sendable (OperationProgress) -> Void)? = nil) async throws(TallyError) -> Store.ExportSummary {
        try await queues.read { () throws(TallyError) -> Store.ExportSummary in
            try self.exportSnapshot(to: path, options: options, progress: progress)
        }
    }

    /// ``importSnapshot(from:mode:dryRun:progress:)-7amc0`` for `async` callers: the import runs
    /// on the writer's thread, in turn with every other write.
    @discardableResult
    public func importSnapshot(from path: String, mode: Store.ImportMode = .replace, dryRun: Bool = false,
                               progress: (@Sendable (OperationProgress) -> Void)? = nil) async throws(TallyError) -> Store.ImportReport {
        try await queues.write { () throws(TallyError) -> Store.ImportReport in
            try self.importSnapshot(from: path, mode: mode, dryRun: dryRun, progress: progress)
        }
    }

    /// ``mirror(to:progress:)-3oejo`` for `async` callers.
    @discardableResult
    public func mirror(to directory: String,
                       progress: (@Sendable (OperationProgress) -> Void)? = nil) async throws(TallyError) -> MirrorReport {
        try await queues.read { () throws(TallyError) -> MirrorReport in
            try self.mirror(to: directory, progress: progress)
        }
    }

    /// ``reconcile(against:rules:progress:)-443di`` for `async` callers.
    public func reconcile(against target: ReconcileTarget, rules: [any DomainRule] = [],
                          progress: (@Sendable (OperationProgress) -> Void)? = nil) async throws(TallyError) -> ReconcileReport {
        try await queues.read { () throws(TallyError) -> ReconcileReport in
            try self.reconcile(against: target, rules: rules, progress: progress)
        }
    }

    /// ``repair(mirror:removeExtra:progress:)-269ox`` for `async` callers.
    public func repair(mirror directory: String, removeExtra: Bool = false,
                       progress: (@Sendable (OperationProgress) -> Void)? = nil) async throws(TallyError) -> ReconcileReport {
        try await queues.read { () throws(TallyError) -> ReconcileReport in
            try self.repair(mirror: directory, removeExtra: removeExtra, progress: progress)
        }
    }

    /// ``verify(rules:checkpoints:progress:)-9yr21`` for `async` callers.
    public func verify(rules: [any DomainRule] = [], checkpoints: [Checkpoint] = [],
                       progress: (@Sendable (OperationProgress) -> Void)? = nil) async throws(TallyError) -> VerifyReport {
        try await queues.read { () throws(TallyError) -> VerifyReport in
            try self.verify(rules: rules, checkpoints: checkpoints, progress: progress)
        }
    }
}
