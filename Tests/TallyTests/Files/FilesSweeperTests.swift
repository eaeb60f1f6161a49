import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

@testable import Tally

@Suite struct FilesSweeperTests {
    static let hourAgo = Int(Date().timeIntervalSince1970) - 2 * 3_600

    @Test func removesOnlyOldTallyTemporaryFiles() throws {
        try withTemporaryDirectory { dir throws in
            let ours = [".doc.json.tmp-ABC123", ".x.tmp-zzzzzz", "..json.tmp-A1b2C3"]
            let foreign = [
                ".x.tmp-12345",  // five characters
                "x.tmp-ABCDEF",  // no leading dot
                ".x.tmp-ABCDEFG",  // seven characters
                ".x.tmp-ABC_EF",  // '_' is not in the alphabet
                ".x.tmp-ABCDE!",
                "..tmp-ABCDEF",  // empty NAME
                ".x.TMP-ABCDEF",
                ".x.tmp.ABCDEF",
                ".x.tmp-ABCDEF.json",
                "doc.json",
                ".doc.json.tmp-ABC123.bak.1",
            ]
            for name in ours + foreign {
                try plainWrite(dir + "/" + name, "x")
                setModificationTime(dir + "/" + name, secondsSince1970: Self.hourAgo)
            }
            let fresh = ".fresh.tmp-QWERTY"
            try plainWrite(dir + "/" + fresh, "in progress")

            // Not regular files: a directory and a symbolic link with our pattern, and a link
            // whose target is an old temporary file in another directory.
            try FileManager.default.createDirectory(atPath: dir + "/.d.tmp-ABCDEF", withIntermediateDirectories: false)
            setModificationTime(dir + "/.d.tmp-ABCDEF", secondsSince1970: Self.hourAgo)
            try FileManager.default.createDirectory(atPath: dir + "/elsewhere", withIntermediateDirectories: false)
            try plainWrite(dir + "/elsewhere/.t.tmp-AAAAAA", "target")
            setModificationTime(dir + "/elsewhere/.t.tmp-AAAAAA", secondsSince1970: Self.hourAgo)
            try FileManager.default.createSymbolicLink(
                atPath: dir + "/.l.tmp-ABCDEF", withDestinationPath: dir + "/elsewhere/.t.tmp-AAAAAA")
            setModificationTime(dir + "/.l.tmp-ABCDEF", secondsSince1970: Self.hourAgo)

            let removed = try TempFileSweeper(minimumAge: 3_600).sweep(dir)
            #expect(Set(removed) == Set(ours.map { dir + "/" + $0 }))
            let left = Set(listing(dir))
            #expect(left == Set(foreign + [fresh, ".d.tmp-ABCDEF", "elsewhere", ".l.tmp-ABCDEF"]))
            #expect(listing(dir + "/elsewhere") == [".t.tmp-AAAAAA"])  // not recursive, not followed
        }
    }

    @Test func ageBoundaryUsesModificationTime() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/.doc.tmp-Abc123"
            try plainWrite(path, "x")
            let modified = 1_700_000_000
            setModificationTime(path, secondsSince1970: modified)
            let sweeper = TempFileSweeper(minimumAge: 600)
            let early = Double(modified + 599)
            #expect(try sweeper.sweep(dir, now: early) == [])
            #expect(listing(dir) == [".doc.tmp-Abc123"])
            let late = Double(modified + 601)
            #expect(try sweeper.sweep(dir, now: late) == [path])
            #expect(listing(dir) == [])
        }
    }

    @Test func recursesOnlyWhenAskedAndNeverThroughLinks() throws {
        try withTemporaryDirectory { dir throws in
            try FileManager.default.createDirectory(atPath: dir + "/a/b", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: dir + "/outside", withIntermediateDirectories: false)
            let deep = dir + "/a/b/.s.tmp-DEEP01"
            let outside = dir + "/outside/.o.tmp-OUT001"
            for path in [deep, outside] {
                try plainWrite(path, "x")
                setModificationTime(path, secondsSince1970: Self.hourAgo)
            }
            try FileManager.default.createSymbolicLink(atPath: dir + "/a/link", withDestinationPath: dir + "/outside")

            #expect(try TempFileSweeper(minimumAge: 60).sweep(dir + "/a") == [])
            let removed = try TempFileSweeper(minimumAge: 60, recursive: true).sweep(dir + "/a")
            #expect(removed == [deep])
            #expect(fileInfo(outside) != nil)
        }
    }

    @Test func orphanOfAFailedWriteIsSwept() throws {
        // End to end: a write that dies after creating its temporary file (here: fsync fails,
        // and the unlink in the cleanup fails too) leaves an orphan the sweeper recognises.
        try withTemporaryDirectory { dir throws in
            let plan = FaultPlan()
            plan.fail(.fsync, errno: EIO)
            plan.fail(.unlink, errno: EIO, onCall: 1, times: 10)
            #expect(throws: TallyError.self) {
                try AtomicFile.write(Array("x".utf8), to: dir + "/doc.json", syscalls: plan.syscalls)
            }
            let orphans = listing(dir)
            #expect(orphans.count == 1 && orphans.allSatisfy { TempFileName.matches($0) })
            let later = Date().timeIntervalSince1970 + 7_200
            #expect(try TempFileSweeper(minimumAge: 3_600).sweep(dir, now: later).count == 1)
            #expect(listing(dir) == [])
        }
    }

    @Test func unreadableDirectoryIsAnIOError() throws {
        try withTemporaryDirectory { dir throws in
            #expect(throws: TallyError.io(step: "read", path: dir + "/missing", errno: ENOENT)) {
                try TempFileSweeper(minimumAge: 0).sweep(dir + "/missing")
            }
        }
    }
}
