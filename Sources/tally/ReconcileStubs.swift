// TEMPORARY: delete when Sources/Tally/Reconcile lands.
//
// A crude stand-in for the reconciliation API another branch is writing, with the names
// DemoReconcileSteps.swift calls (`reconcile(against:)`, `repair(mirror:)`, `verify()`), so
// this branch compiles and the demo can be tested. It compares each mirror file's bytes with
// MirrorFile.render of the database's document; it is not the real checker.

import Foundation
import Tally

/// TEMPORARY stand-in: what to reconcile against.
enum ReconcileSource {
    /// A state-file mirror directory.
    case directory(String)
}

/// TEMPORARY stand-in: one disagreement between the database and a mirror.
struct Finding: Sendable {
    /// TEMPORARY stand-in: the kinds of finding.
    enum Kind: String, Sendable {
        case missing, extra, stale, mismatch, corrupt
        case orphanTemp = "orphan-temp"
    }

    let kind: Kind
    let key: String?
    let path: String
    let detail: String
}

/// TEMPORARY stand-in: the outcome of a reconciliation (or of a repair: what was fixed).
struct ReconcileReport: Sendable {
    let findings: [Finding]

    var isClean: Bool { findings.isEmpty }

    func renderTable() -> String {
        if findings.isEmpty { return "clean: the mirror matches the database" }
        return Output.tableLines(["KIND", "KEY", "PATH", "DETAIL"],
                                 findings.map { ["\($0.kind.rawValue)", $0.key ?? "-", $0.path, $0.detail] }).joined(separator: "\n")
    }
}

/// TEMPORARY stand-in: the outcome of checking the database alone.
struct VerifyReport: Sendable {
    let checks: [(name: String, problem: String?)]

    var isClean: Bool { checks.allSatisfy { $0.problem == nil } }

    func renderTable() -> String {
        Output.tableLines(["CHECK", "RESULT"], checks.map { [$0.name, $0.problem ?? "ok"] }).joined(separator: "\n")
    }
}

extension Store {
    /// TEMPORARY stand-in for the real reconciler.
    func reconcile(against source: ReconcileSource) throws -> ReconcileReport {
        guard case let .directory(root) = source else { return ReconcileReport(findings: []) }
        var findings: [Finding] = []
        var keys = Set<String>()
        var cursor = state.list()
        while let document = try cursor.next() {
            keys.insert(document.key)
            let path = try SafePath.path(forKey: document.key, under: root, suffix: MirrorFile.suffix)
            guard let bytes = FileManager.default.contents(atPath: path) else {
                findings.append(Finding(kind: .missing, key: document.key, path: path, detail: "no file for version \(document.version)"))
                continue
            }
            if Array(bytes) == MirrorFile.render(document) { continue }
            switch MirrorFile.parse(bytes, expectedKey: document.key) {
            case let .failure(problem):
                findings.append(Finding(kind: .corrupt, key: document.key, path: path, detail: problem.description))
            case let .success(file) where file.version < document.version:
                findings.append(Finding(kind: .stale, key: document.key, path: path, detail: "file has version \(file.version), database \(document.version)"))
            case let .success(file):
                findings.append(Finding(kind: .mismatch, key: document.key, path: path, detail: "file version \(file.version) differs from the database's version \(document.version)"))
            }
        }
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let relative = enumerator?.nextObject() as? String {
            let path = (root as NSString).appendingPathComponent(relative)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            if AtomicFile.isTemporaryName((relative as NSString).lastPathComponent) {
                findings.append(Finding(kind: .orphanTemp, key: nil, path: path, detail: "temporary file left by an interrupted write"))
            } else if let key = MirrorFile.key(forRelativePath: relative), !keys.contains(key) {
                findings.append(Finding(kind: .extra, key: key, path: path, detail: "no such document in the database"))
            }
        }
        return ReconcileReport(findings: findings)
    }

    /// TEMPORARY stand-in: rewrites the files reconcile complains about from the database.
    func repair(mirror root: String) throws -> ReconcileReport {
        let report = try reconcile(against: .directory(root))
        for finding in report.findings {
            switch finding.kind {
            case .missing, .stale, .mismatch, .corrupt:
                guard let key = finding.key, let document = try state.get(key) else { continue }
                try AtomicFile.write(MirrorFile.render(document), to: finding.path, permissions: 0o600)
            case .extra, .orphanTemp:
                try AtomicFile.remove(finding.path)
            }
        }
        return report
    }

    /// TEMPORARY stand-in for the real database verifier.
    func verify() throws -> VerifyReport {
        let integrity = try read { db in try db.scalarText("PRAGMA integrity_check") ?? "no answer" }
        let chain = try ledger.verifyChain()
        var checksumProblem: String?
        var documents = 0
        var cursor = state.list()
        do {
            while try cursor.next() != nil { documents += 1 }
        } catch {
            checksumProblem = "\(error)"
        }
        return VerifyReport(checks: [
            (name: "integrity_check", problem: integrity == "ok" ? nil : integrity),
            (name: "ledger chain (\(chain.eventsChecked) events)", problem: chain.firstBreak?.description),
            (name: "state checksums (\(documents) documents)", problem: checksumProblem),
        ])
    }
}
