import Foundation
import Glibc
import Logging

/// The outcome of ``AtomicFile/readVerified(path:backups:logger:syscalls:validate:)``:
/// the contents that passed validation and where they came from.
public struct VerifiedRead: Sendable, Equatable {
    /// The file's contents.
    public let data: Data
    /// The file that was actually read: the primary path or one of its backups.
    public let path: String
    /// Which backup was used (1 = newest), or nil when the primary file was intact.
    public let backupIndex: Int?

    /// Creates a result; ``AtomicFile/readVerified(path:backups:logger:syscalls:validate:)`` makes these.
    public init(data: Data, path: String, backupIndex: Int?) {
        self.data = data
        self.path = path
        self.backupIndex = backupIndex
    }
}

extension AtomicFile {
    /// Reads the file at `path`, falling back to its newest intact backup.
    ///
    /// Candidates are tried in order — `path`, `path.bak.1`, …, `path.bak.n` — and the first
    /// one that can be read and that `validate` accepts is returned. Every candidate skipped
    /// is logged as a warning that names the file and why (missing, unreadable, or the error
    /// `validate` threw), and using a backup is itself logged, so a fallback never goes unnoticed.
    ///
    /// - Parameters:
    ///   - path: The primary file.
    ///   - backups: How many backups to consider (as written with `backups:`).
    ///   - logger: Receives the warnings.
    ///   - syscalls: The system calls to use.
    ///   - validate: Throws when the contents are not intact (bad checksum, unparsable JSON…).
    /// - Throws: ``TallyError/io(step:path:errno:)`` with `ENOENT` when neither the file nor any
    ///   backup exists; ``TallyError/corruptFile(path:detail:)`` listing every candidate and
    ///   what was wrong with it when none is intact.
    public static func readVerified(
        path: String,
        backups: Int,
        logger: Logger,
        syscalls: FileSyscalls = .live,
        validate: (Data) throws -> Void
    ) throws -> VerifiedRead {
        let operations = FileOperations(syscalls: syscalls)
        var problems: [String] = []
        var allMissing = true
        for index in 0...max(0, backups) {
            let candidate = index == 0 ? path : backupPath(of: path, index: index)
            let problem: String
            do {
                if let data = try operations.readAll(candidate) {
                    do {
                        try validate(data)
                        if index > 0 {
                            logger.warning(
                                "using backup \(candidate): no newer copy of \(path) is intact",
                                metadata: ["path": "\(path)", "backup": "\(candidate)"])
                        }
                        return VerifiedRead(data: data, path: candidate, backupIndex: index == 0 ? nil : index)
                    } catch {
                        allMissing = false
                        problem = "failed validation: \(error)"
                    }
                } else {
                    problem = "missing"
                }
            } catch {
                allMissing = false
                problem = "unreadable: \(error)"
            }
            problems.append("\(candidate): \(problem)")
            if index < backups {
                logger.warning(
                    "\(candidate) is not intact (\(problem)); trying \(backupPath(of: path, index: index + 1))",
                    metadata: ["path": "\(candidate)", "reason": "\(problem)"])
            } else {
                logger.warning(
                    "\(candidate) is not intact (\(problem)); no backup left to try",
                    metadata: ["path": "\(candidate)", "reason": "\(problem)"])
            }
        }
        if allMissing { throw TallyError.io(step: "open", path: path, errno: ENOENT) }
        throw TallyError.corruptFile(
            path: path,
            detail: "neither it nor any of its \(backups) backup(s) is intact (\(problems.joined(separator: "; ")))")
    }
}
