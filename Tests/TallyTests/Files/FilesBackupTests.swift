import Foundation
import Glibc
import Logging
import Testing

@testable import Tally

/// What a validator throws for a damaged file.
struct ChecksumMismatch: Error, CustomStringConvertible {
    var description: String { "checksum mismatch" }
}

/// Accepts only contents that start with "ok:" — stands in for a checksum check.
func requireOK(_ data: Data) throws {
    guard data.starts(with: Data("ok:".utf8)) else { throw ChecksumMismatch() }
}

@Suite struct FilesBackupTests {
    @Test func rotatesWithRetention() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/doc"
            for version in 1...5 {
                try AtomicFile.write(Array("v\(version)".utf8), to: path, backups: 2)
            }
            #expect(contents(path) == Array("v5".utf8))
            #expect(contents(path + ".bak.1") == Array("v4".utf8))
            #expect(contents(path + ".bak.2") == Array("v3".utf8))
            #expect(listing(dir) == ["doc", "doc.bak.1", "doc.bak.2"])
            // The backup is the old inode itself (a link), the current file a new one.
            #expect(fileInfo(path)?.st_ino != fileInfo(path + ".bak.1")?.st_ino)
            #expect(fileInfo(path)?.st_nlink == 1)
            #expect(fileInfo(path + ".bak.1")?.st_nlink == 1)
        }
    }

    @Test func firstWritesFillBackupsGradually() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/doc"
            try AtomicFile.write(Array("v1".utf8), to: path, backups: 3)
            #expect(listing(dir) == ["doc"])
            try AtomicFile.write(Array("v2".utf8), to: path, backups: 3)
            #expect(listing(dir) == ["doc", "doc.bak.1"])
            try AtomicFile.write(Array("v3".utf8), to: path, backups: 3)
            #expect(contents(path + ".bak.2") == Array("v1".utf8))
        }
    }

    @Test func singleBackupIsReplacedEachTime() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/doc"
            for version in 1...3 { try AtomicFile.write(Array("v\(version)".utf8), to: path, backups: 1) }
            #expect(contents(path + ".bak.1") == Array("v2".utf8))
            #expect(listing(dir) == ["doc", "doc.bak.1"])
        }
    }

    @Test func gapInBackupsIsSkipped() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/doc"
            for version in 1...4 { try AtomicFile.write(Array("v\(version)".utf8), to: path, backups: 3) }
            try FileManager.default.removeItem(atPath: path + ".bak.2")  // v2 lost, e.g. by a crash mid-rotation
            try AtomicFile.write(Array("v5".utf8), to: path, backups: 3)
            #expect(contents(path + ".bak.1") == Array("v4".utf8))
            #expect(contents(path + ".bak.2") == Array("v3".utf8))
            // The gap moved down instead of being closed: the oldest copy stays where it was.
            #expect(contents(path + ".bak.3") == Array("v1".utf8))
        }
    }

    @Test func retryAfterFailedWriteLeavesNoStagingLink() throws {
        // The failed write already made doc.bak.1 a link to doc; the retry links doc again,
        // and renaming one link of an inode onto another is a no-op that leaves the source.
        try withTemporaryDirectory { dir throws in
            let path = dir + "/doc"
            for version in 1...2 { try AtomicFile.write(Array("v\(version)".utf8), to: path, backups: 1) }
            let plan = FaultPlan()
            plan.fail(.fsync, errno: EIO, onCall: 3)  // the final directory fsync
            #expect(throws: TallyError.self) {
                try AtomicFile.write(Array("v3".utf8), to: path, backups: 1, syscalls: plan.syscalls)
            }
            #expect(contents(path) == Array("v2".utf8))
            #expect(listing(dir) == ["doc", "doc.bak.1"])
            try AtomicFile.write(Array("v3".utf8), to: path, backups: 1)
            #expect(contents(path) == Array("v3".utf8))
            #expect(contents(path + ".bak.1") == Array("v2".utf8))
            #expect(listing(dir) == ["doc", "doc.bak.1"])
        }
    }

    @Test func stagingLinkSweptMidWriteIsRecreated() throws {
        // Simulates a TempFileSweeper removing the staging link between link and rename.
        try withTemporaryDirectory { dir throws in
            let path = dir + "/doc"
            try AtomicFile.write(Array("v1".utf8), to: path, backups: 2)
            let sweptOnce = ProblemLog()
            var syscalls = FileSyscalls.live
            syscalls.rename = { from, to in
                if to.hasSuffix(".bak.1"), sweptOnce.all.isEmpty {
                    sweptOnce.add(from)
                    _ = FileSyscalls.live.unlink(from)
                }
                return FileSyscalls.live.rename(from, to)
            }
            try AtomicFile.write(Array("v2".utf8), to: path, backups: 2, syscalls: syscalls)
            #expect(sweptOnce.all.count == 1)
            #expect(contents(path) == Array("v2".utf8))
            #expect(contents(path + ".bak.1") == Array("v1".utf8))
            #expect(listing(dir) == ["doc", "doc.bak.1"])
        }
    }

    @Test func rotationFailureLeavesCurrentFile() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/doc"
            for version in 1...3 { try AtomicFile.write(Array("v\(version)".utf8), to: path, backups: 2) }
            let plan = FaultPlan()
            plan.fail(.rename, errno: EIO)  // the first rotation step
            #expect(throws: TallyError.io(step: "rename", path: path + ".bak.1", errno: EIO)) {
                try AtomicFile.write(Array("v4".utf8), to: path, backups: 2, syscalls: plan.syscalls)
            }
            #expect(contents(path) == Array("v3".utf8))
            #expect(listing(dir).filter { TempFileName.matches($0) } == [])
        }
    }

    @Test func copiesWhenHardLinksAreUnsupported() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/doc"
            try AtomicFile.write(Array("v1".utf8), to: path, permissions: 0o640)
            let plan = FaultPlan()
            plan.fail(.link, errno: EPERM, onCall: 1, times: 10)  // like vfat: no hard links at all
            try AtomicFile.write(Array("v2".utf8), to: path, backups: 1, syscalls: plan.syscalls)
            #expect(contents(path) == Array("v2".utf8))
            #expect(contents(path + ".bak.1") == Array("v1".utf8))
            #expect(permissions(path + ".bak.1") == 0o640)
            #expect(listing(dir) == ["doc", "doc.bak.1"])
        }
    }

    @Test func aNameReplacedDuringTheBackupLinkIsLinkedAgain() throws {
        // Linux refuses link() with ENOENT when another writer's rename just took the
        // source's last name; the rotation must retry on the new file, not fail the write.
        try withTemporaryDirectory { dir throws in
            let path = dir + "/doc"
            try AtomicFile.write(Array("one".utf8), to: path, backups: 2)
            let plan = FaultPlan()
            plan.fail(.link, errno: ENOENT, onCall: 1, times: 1)
            try AtomicFile.write(Array("two".utf8), to: path, backups: 2, syscalls: plan.syscalls)
            #expect(contents(path) == Array("two".utf8))
            #expect(contents(path + ".bak.1") == Array("one".utf8))
            #expect(plan.calls(.link) >= 2)
        }
    }

    @Test func concurrentWritersWithBackupsNeverLoseTheFile() throws {
        // Rotation is not serialized between writers (the caller can use FileLock for that),
        // but the current file must always be some writer's complete content.
        try withTemporaryDirectory { dir throws in
            let path = dir + "/doc"
            let payloads = (0..<4).map { writerContent(seed: $0, size: 10_000 + $0) }
            let problems = ProblemLog()
            let group = DispatchGroup()
            for index in 0..<4 {
                group.enter()
                let payload = payloads[index]
                Thread {
                    for _ in 0..<25 {
                        do { try AtomicFile.write(payload, to: path, backups: 3) } catch { problems.add("\(error)") }
                    }
                    group.leave()
                }.start()
            }
            group.wait()
            #expect(problems.all.isEmpty, "\(problems.all.prefix(3))")
            #expect(contents(path).map { payloads.contains($0) } == true)
            for index in 1...3 {
                #expect(contents(path + ".bak.\(index)").map { payloads.contains($0) } == true)
            }
            #expect(listing(dir).filter { TempFileName.matches($0) } == [])
        }
    }

    // MARK: - Verified read

    @Test func readsPrimaryWhenIntact() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/doc"
            try AtomicFile.write(Array("ok:1".utf8), to: path, backups: 2)
            try AtomicFile.write(Array("ok:2".utf8), to: path, backups: 2)
            let log = LogRecorder()
            let read = try AtomicFile.readVerified(path: path, backups: 2, logger: log.logger, validate: requireOK)
            #expect(read == VerifiedRead(data: Data("ok:2".utf8), path: path, backupIndex: nil))
            #expect(log.messages(at: .warning).isEmpty)
        }
    }

    @Test func fallsBackToNewestIntactBackupAndSaysSo() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/doc"
            for text in ["ok:1", "ok:2", "ok:3"] { try AtomicFile.write(Array(text.utf8), to: path, backups: 2) }
            try plainWrite(path, "garbage")  // damaged primary
            let log = LogRecorder()
            let read = try AtomicFile.readVerified(path: path, backups: 2, logger: log.logger, validate: requireOK)
            #expect(read.data == Data("ok:2".utf8))
            #expect(read.path == path + ".bak.1")
            #expect(read.backupIndex == 1)
            let warnings = log.messages(at: .warning)
            #expect(warnings.contains { $0.contains(path) && $0.contains("checksum mismatch") })
            #expect(warnings.contains { $0.contains("using backup \(path).bak.1") })
        }
    }

    @Test func skipsMissingAndDamagedCandidates() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/doc"
            try plainWrite(path + ".bak.1", "bad")
            try plainWrite(path + ".bak.2", "ok:oldest")
            let log = LogRecorder()
            let read = try AtomicFile.readVerified(path: path, backups: 3, logger: log.logger, validate: requireOK)
            #expect(read.backupIndex == 2)
            #expect(read.data == Data("ok:oldest".utf8))
            let warnings = log.messages(at: .warning)
            #expect(warnings.contains { $0.contains("\(path) is not intact (missing)") })
            #expect(warnings.contains { $0.contains("\(path).bak.1 is not intact (failed validation: checksum mismatch)") })
        }
    }

    @Test func failsClearlyWhenNothingIsIntact() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/doc"
            try plainWrite(path, "bad")
            try plainWrite(path + ".bak.2", "also bad")
            let log = LogRecorder()
            let error = #expect(throws: TallyError.self) {
                try AtomicFile.readVerified(path: path, backups: 2, logger: log.logger, validate: requireOK)
            }
            let message = error?.description ?? ""
            #expect(message.contains("\(path): failed validation: checksum mismatch"))
            #expect(message.contains("\(path).bak.1: missing"))
            #expect(message.contains("\(path).bak.2: failed validation"))
            #expect(log.messages(at: .warning).count == 3)
            #expect(error?.exitCode == 3)
            guard case .corruptFile(path, _)? = error else {
                Issue.record("expected corruptFile, got \(String(describing: error))")
                return
            }
        }
    }

    @Test func missingEverywhereIsNotFound() throws {
        try withTemporaryDirectory { dir throws in
            let log = LogRecorder()
            #expect(throws: TallyError.io(step: "open", path: dir + "/none", errno: ENOENT)) {
                try AtomicFile.readVerified(path: dir + "/none", backups: 2, logger: log.logger) { _ in }
            }
        }
    }

    @Test func unreadablePrimaryFallsBack() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/doc"
            try AtomicFile.write(Array("ok:1".utf8), to: path, backups: 1)
            try AtomicFile.write(Array("ok:2".utf8), to: path, backups: 1)
            let plan = FaultPlan()
            plan.fail(.read, errno: EIO)
            let log = LogRecorder()
            let read = try AtomicFile.readVerified(
                path: path, backups: 1, logger: log.logger, syscalls: plan.syscalls, validate: requireOK)
            #expect(read.backupIndex == 1)
            #expect(log.messages(at: .warning).contains { $0.contains("unreadable") && $0.contains("Input/output error") })
        }
    }
}
