import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

@testable import Tally

/// An error of the test's own, thrown through the lock's closure.
private struct ChecksumMismatch: Error {}

@Suite struct FilesLockTests {
    @Test func sharedLocksCoexist() throws {
        try withTemporaryDirectory { dir throws in
            let first = try FileLock(path: dir + "/db")
            let second = try FileLock(path: dir + "/db")
            try first.lock(.shared, timeout: 0)
            try second.lock(.shared, timeout: 0)
            #expect(first.mode == .shared && second.mode == .shared)
            #expect(first.lockPath == dir + "/db.lock")
            #expect(listing(dir) == ["db.lock"])
        }
    }

    @Test func exclusiveExcludesAndTimeoutNamesThePath() throws {
        try withTemporaryDirectory { dir throws in
            let holder = try FileLock(path: dir + "/db")
            let other = try FileLock(path: dir + "/db")
            try holder.lock(.exclusive)
            #expect(throws: TallyError.lockTimeout(path: dir + "/db.lock", seconds: 0.05)) {
                try other.lock(.exclusive, timeout: 0.05)
            }
            let error = #expect(throws: TallyError.self) { try other.lock(.shared, timeout: 0) }
            #expect(error?.description.contains(dir + "/db.lock") == true)
            #expect(other.mode == nil)
            try holder.unlock()
            try other.lock(.exclusive, timeout: 0)
            #expect(other.mode == .exclusive)
        }
    }

    @Test func sharedExcludesExclusive() throws {
        try withTemporaryDirectory { dir throws in
            let reader = try FileLock(path: dir + "/db")
            let writer = try FileLock(path: dir + "/db")
            try reader.lock(.shared)
            #expect(throws: TallyError.lockTimeout(path: dir + "/db.lock", seconds: 0)) {
                try writer.lock(.exclusive, timeout: 0)
            }
        }
    }

    @Test func withLockReleasesEvenWhenBodyThrows() throws {
        try withTemporaryDirectory { dir throws in
            let lock = try FileLock(path: dir + "/db")
            #expect(throws: ChecksumMismatch.self) {
                try lock.withLock(.exclusive) { throw ChecksumMismatch() }
            }
            #expect(lock.mode == nil)
            let value = try FileLock.withLock(path: dir + "/db", .exclusive, timeout: 0) { 42 }
            #expect(value == 42)
        }
    }

    @Test func hugeTimeoutsMeanWait() throws {
        try withTemporaryDirectory { dir throws in
            let lock = try FileLock(path: dir + "/db")
            for timeout in [Double.infinity, .nan, 1e300] {
                try lock.lock(.exclusive, timeout: timeout)
                try lock.unlock()
            }
        }
    }

    @Test func closingReleases() throws {
        try withTemporaryDirectory { dir throws in
            do {
                let lock = try FileLock(path: dir + "/db")
                try lock.lock(.exclusive)
            }
            let again = try FileLock(path: dir + "/db")
            try again.lock(.exclusive, timeout: 0)
        }
    }

    #if os(Linux)
    /// A lock freed while a copy of its descriptor lives on elsewhere (in a child process
    /// forked by another thread, until its exec closes the copy) is released at once: `flock`
    /// locks belong to the open file description, so closing one descriptor is not enough.
    @Test func freeingReleasesWhileACopyOfTheDescriptorLivesOn() throws {
        try withTemporaryDirectory { dir throws in
            var copy: Int32 = -1
            do {
                let lock = try FileLock(path: dir + "/db")
                try lock.lock(.exclusive)
                let descriptor = try #require(openDescriptor(of: lock.lockPath), "the lock file is open in this process")
                copy = dup(descriptor)
                #expect(copy >= 0)
            }
            defer { close(copy) }
            let again = try FileLock(path: dir + "/db")
            try again.lock(.exclusive, timeout: 0)
        }
    }

    /// This process's descriptor open on `path` (from /proc/self/fd).
    private func openDescriptor(of path: String) -> Int32? {
        let wanted = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for entry in entries {
            guard let fd = Int32(entry),
                  let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + entry) else { continue }
            if target == wanted { return fd }
        }
        return nil
    }
    #endif

    @Test func createsParentDirectoriesForTheLockFile() throws {
        try withTemporaryDirectory { dir throws in
            let lock = try FileLock(path: dir + "/a/b/db")
            try lock.lock(.exclusive, timeout: 0)
            #expect(fileInfo(dir + "/a/b/db.lock") != nil)
        }
    }

    @Test func lockFailureIsAnIOError() throws {
        try withTemporaryDirectory { dir throws in
            let plan = FaultPlan()
            plan.fail(.flock, errno: ENOLCK)
            let lock = try FileLock(path: dir + "/db", syscalls: plan.syscalls)
            #expect(throws: TallyError.io(step: "lock", path: dir + "/db.lock", errno: ENOLCK)) {
                try lock.lock(.exclusive, timeout: 1)
            }
            let openPlan = FaultPlan()
            openPlan.fail(.open, errno: EACCES)
            #expect(throws: TallyError.io(step: "open", path: dir + "/x.lock", errno: EACCES)) {
                try FileLock(path: dir + "/x", syscalls: openPlan.syscalls)
            }
        }
    }

    @Test func eightThreadsExcludeEachOther() throws {
        // Each thread has its own FileLock (its own open file description), and a plain,
        // non-atomic read-modify-write of a counter: any overlap would lose increments.
        try withTemporaryDirectory { dir throws in
            let counter = dir + "/counter"
            try plainWrite(counter, "0")
            let problems = ProblemLog()
            let group = DispatchGroup()
            for _ in 0..<8 {
                group.enter()
                Thread {
                    do {
                        let lock = try FileLock(path: counter)
                        for _ in 0..<50 {
                            try lock.withLock(.exclusive) {
                                let text = String(decoding: contents(counter) ?? [], as: UTF8.self)
                                guard let value = Int(text) else { throw ChecksumMismatch() }
                                sched_yield()
                                try Data("\(value + 1)".utf8).write(to: URL(fileURLWithPath: counter))
                            }
                        }
                    } catch {
                        problems.add("\(error)")
                    }
                    group.leave()
                }.start()
            }
            group.wait()
            #expect(problems.all.isEmpty, "\(problems.all.prefix(3))")
            #expect(contents(counter) == Array("400".utf8))
        }
    }

    @Test(arguments: ["exclusive", "shared"])
    func excludesOtherProcesses(mode: String) throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/db"
            let input = Pipe()
            let output = Pipe()
            let child = try Harness.start(["files-lock-hold", path, mode], stdin: input, stdout: output)
            defer {
                try? input.fileHandleForWriting.close()
                child.waitUntilExit()
            }
            // Wait (without a clock) until the child says it holds the lock.
            let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
            #expect(line.hasPrefix("locked"))

            let lock = try FileLock(path: path)
            #expect(throws: TallyError.lockTimeout(path: path + ".lock", seconds: 0.1)) {
                try lock.lock(.exclusive, timeout: 0.1)
            }
            if mode == "shared" {
                try lock.lock(.shared, timeout: 0)
                try lock.unlock()
            } else {
                #expect(throws: TallyError.self) { try lock.lock(.shared, timeout: 0) }
            }
            // Let the child go; a blocking lock then succeeds once it has released.
            try input.fileHandleForWriting.close()
            try lock.lock(.exclusive)
            #expect(lock.mode == .exclusive)
            child.waitUntilExit()
            #expect(child.terminationStatus == 0)
        }
    }
}
