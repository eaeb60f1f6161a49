/// A property every crash state must have, e.g. "the target is old or new".
/// The check returns nil when the state is fine, or an explanation.
struct CrashInvariant: Sendable {
    /// Short name used in violation reports.
    let name: String
    private let check: @Sendable (CrashState) -> String?

    /// An invariant from a check that returns nil or an explanation of the violation.
    init(_ name: String, check: @escaping @Sendable (CrashState) -> String?) {
        self.name = name
        self.check = check
    }

    /// The violation of this invariant in `state`, if any.
    func violation(in state: CrashState) -> InvariantViolation? {
        check(state).map { InvariantViolation(invariant: name, message: $0, state: state) }
    }

    /// The atomic-replace promise: `path` always holds exactly `old` or exactly
    /// `new` (nil `old` means it did not exist, so absence is fine too; never
    /// empty or a mix otherwise), and once `returnedLabel` (any label if nil)
    /// has returned, only `new`.
    static func atomicReplace(
        of path: String, old: [UInt8]?, new: [UInt8], returnedLabel: String? = nil
    ) -> CrashInvariant {
        CrashInvariant("atomic replace of \(path)") { state in
            let actual = state.contents(of: path)
            if state.hasReturned(returnedLabel) {
                guard actual == new else {
                    return "after success \(path) holds \(DirectoryState.describe(actual)), not the new content"
                }
                return nil
            }
            guard actual == old || actual == new else {
                return "\(path) holds \(DirectoryState.describe(actual)): neither the old nor the new content"
            }
            return nil
        }
    }

    /// Durability alone: once `returnedLabel` (any if nil) has returned, `path`
    /// holds `contents` (nil: does not exist). Says nothing before the return.
    static func durable(
        _ path: String, contents: [UInt8]?, afterReturnOf returnedLabel: String? = nil
    ) -> CrashInvariant {
        CrashInvariant("durability of \(path)") { state in
            guard state.hasReturned(returnedLabel) else { return nil }
            let actual = state.contents(of: path)
            guard actual == contents else {
                return "after success \(path) holds \(DirectoryState.describe(actual)), "
                    + "expected \(DirectoryState.describe(contents))"
            }
            return nil
        }
    }

    /// `path` only ever holds one of `allowed` (nil in the list allows absence).
    static func oneOf(_ path: String, _ allowed: [[UInt8]?]) -> CrashInvariant {
        CrashInvariant("allowed contents of \(path)") { state in
            let actual = state.contents(of: path)
            guard allowed.contains(where: { $0 == actual }) else {
                return "\(path) holds \(DirectoryState.describe(actual)), which is not allowed"
            }
            return nil
        }
    }

    /// Forbids every tree for which `isBad` is true, e.g. a new database paired
    /// with the old write-ahead log.
    static func never(
        _ name: String, _ isBad: @escaping @Sendable (DirectoryState) -> Bool
    ) -> CrashInvariant {
        CrashInvariant(name) { state in
            isBad(state.disk) ? "forbidden state: \(state.disk)" : nil
        }
    }
}

/// A crash state that breaks an invariant.
struct InvariantViolation: Sendable, CustomStringConvertible {
    /// The invariant's name.
    let invariant: String
    /// What is wrong.
    let message: String
    /// The offending state.
    let state: CrashState

    /// One line: where the crash happened, what broke, and the tree.
    var description: String {
        let after = state.precedingOperation.map { " after \($0)" } ?? " before the first op"
        let returned = state.protocolReturned ? " (success reported)" : ""
        return "crash point \(state.crashPoint)\(after)\(returned): \(invariant): \(message); disk: \(state.disk)"
    }
}

extension CrashStateReport {
    /// Every (state, invariant) pair that fails, in crash-point order.
    func violations(of invariants: [CrashInvariant]) -> [InvariantViolation] {
        states.flatMap { state in invariants.compactMap { $0.violation(in: state) } }
    }

    /// Variadic form of `violations(of:)`.
    func violations(of invariants: CrashInvariant...) -> [InvariantViolation] {
        violations(of: invariants)
    }
}
