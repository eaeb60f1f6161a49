import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

@testable import Tally

@Suite struct FilesAtomicWriteTests {
    @Test func writesNewFileAndReplacesExisting() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/doc.json"
            try AtomicFile.write(Array("first".utf8), to: path)
            #expect(contents(path) == Array("first".utf8))
            try AtomicFile.write(Data("second, longer".utf8), to: path)
            #expect(contents(path) == Array("second, longer".utf8))
            try AtomicFile.write("".utf8, to: path)
            #expect(contents(path) == [])
            #expect(listing(dir) == ["doc.json"])
        }
    }

    @Test func writesRelativePath() throws {
        // A name without a directory lives in ".". The working directory is per process, so
        // a child process writes it rather than this one changing it under the other tests.
        try withTemporaryDirectory { dir throws in
            let result = try Harness.run(["files-write", "plain", "x"], in: dir)
            #expect(result.status == 0)
            #expect(contents(dir + "/plain") == Array("x".utf8))
            #expect(listing(dir) == ["plain"])
        }
    }

    @Test func createsParentDirectories() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/a/b/c/doc.json"
            try AtomicFile.write(Array("deep".utf8), to: path)
            #expect(contents(path) == Array("deep".utf8))
            let mode = try #require(permissions(dir + "/a/b"))
            // 0755 less the umask: the owner always gets rwx, nobody gets more than r-x.
            #expect(mode & 0o700 == 0o700)
            #expect(mode & 0o022 == 0)
        }
    }

    @Test func permissionsDefaultAndExplicit() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/p"
            try AtomicFile.write(Array("a".utf8), to: path)
            #expect(permissions(path) == 0o600)
            try AtomicFile.write(Array("b".utf8), to: path, permissions: 0o644)
            #expect(permissions(path) == 0o644)
            // Nothing of the old file is preserved: a rewrite with the default is 0600 again.
            try AtomicFile.write(Array("c".utf8), to: path)
            #expect(permissions(path) == 0o600)
        }
    }

    @Test(arguments: [(perms: "644", umask: "077"), (perms: "666", umask: "022"), (perms: "600", umask: "000")])
    func permissionsIgnoreUmask(perms: String, umask: String) throws {
        // The umask is per process and the tests share one, so a child process sets it.
        try withTemporaryDirectory { dir throws in
            let path = dir + "/u"
            let result = try Harness.run(["files-write", path, "content", perms, umask])
            #expect(result.status == 0)
            #expect(permissions(path) == mode_t(perms, radix: 8))
            #expect(contents(path) == Array("content".utf8))
        }
    }

    @Test func rejectsBadArguments() throws {
        try withTemporaryDirectory { dir throws in
            #expect(throws: TallyError.self) { try AtomicFile.write([1], to: dir + "/x", permissions: 0o10000) }
            #expect(throws: TallyError.self) { try AtomicFile.write([1], to: dir + "/x", backups: -1) }
            #expect(throws: TallyError.self) { try AtomicFile.write([1], to: dir + "/") }
            #expect(throws: TallyError.self) { try AtomicFile.write([1], to: "") }
            #expect(listing(dir) == [])
        }
    }

    @Test func refusesDirectoryTarget() throws {
        try withTemporaryDirectory { dir throws in
            try FileManager.default.createDirectory(atPath: dir + "/d", withIntermediateDirectories: false)
            #expect(throws: TallyError.io(step: "open", path: dir + "/d", errno: EISDIR)) {
                try AtomicFile.write([1], to: dir + "/d")
            }
            #expect(listing(dir) == ["d"])
        }
    }

    // MARK: - Symbolic links

    @Test func refusesSymlinkTarget() throws {
        try withTemporaryDirectory { dir throws in
            try plainWrite(dir + "/real", "original")
            try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: "real")
            let error = #expect(throws: TallyError.self) { try AtomicFile.write(Array("new".utf8), to: dir + "/link") }
            #expect(error == .io(step: "open", path: dir + "/link", errno: ELOOP))
            #expect(error?.description.contains("symbolic link") == true)
            #expect(contents(dir + "/real") == Array("original".utf8))
            #expect(fileInfo(dir + "/link").map { $0.st_mode & S_IFMT } == S_IFLNK)
            #expect(listing(dir) == ["link", "real"])
        }
    }

    @Test func followsSymlinkChainWhenAsked() throws {
        try withTemporaryDirectory { dir throws in
            try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: false)
            try plainWrite(dir + "/sub/real", "original")
            // link1 -> sub/link2 (relative) -> real (relative to sub/)
            try FileManager.default.createSymbolicLink(atPath: dir + "/sub/link2", withDestinationPath: "real")
            try FileManager.default.createSymbolicLink(atPath: dir + "/link1", withDestinationPath: "sub/link2")
            try AtomicFile.write(Array("new".utf8), to: dir + "/link1", followSymlinks: true)
            #expect(contents(dir + "/sub/real") == Array("new".utf8))
            #expect(fileInfo(dir + "/link1").map { $0.st_mode & S_IFMT } == S_IFLNK)
            #expect(fileInfo(dir + "/sub/link2").map { $0.st_mode & S_IFMT } == S_IFLNK)
            #expect(listing(dir + "/sub") == ["link2", "real"])
        }
    }

    @Test func followsDanglingSymlinkToCreateTarget() throws {
        try withTemporaryDirectory { dir throws in
            try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: dir + "/made")
            let writer = try AtomicFile.Writer(path: dir + "/link", followSymlinks: true)
            #expect(writer.path == dir + "/made")
            try writer.write(Array("hello".utf8))
            try writer.commit()
            #expect(contents(dir + "/made") == Array("hello".utf8))
        }
    }

    @Test func symlinkLoopIsRefusedEvenWhenFollowing() throws {
        try withTemporaryDirectory { dir throws in
            try FileManager.default.createSymbolicLink(atPath: dir + "/a", withDestinationPath: "b")
            try FileManager.default.createSymbolicLink(atPath: dir + "/b", withDestinationPath: "a")
            #expect(throws: TallyError.io(step: "open", path: dir + "/a", errno: ELOOP)) {
                try AtomicFile.write([1], to: dir + "/a", followSymlinks: true)
            }
        }
    }

    @Test func temporaryNameShape() {
        let name = TempFileName.make(for: "doc.json")
        #expect(name.hasPrefix(".doc.json.tmp-"))
        #expect(name.utf8.count == ".doc.json.tmp-".utf8.count + 6)
        #expect(TempFileName.matches(name))
        // A name near NAME_MAX is shortened so the temporary name still fits in 255 bytes.
        let long = String(repeating: "é", count: 127)  // 254 bytes
        let shortened = TempFileName.make(for: long)
        #expect(shortened.utf8.count <= 255)
        #expect(TempFileName.matches(shortened))
    }

    @Test func longFileNameStillWritesAtomically() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/" + String(repeating: "n", count: 255)
            try AtomicFile.write(Array("long".utf8), to: path)
            #expect(contents(path) == Array("long".utf8))
            #expect(listing(dir).count == 1)
        }
    }
}
