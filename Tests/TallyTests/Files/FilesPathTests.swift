import Foundation
import Testing
@testable import Tally

@Suite("FileOperations: paths split into directory and name as dirname and basename would")
struct FilesPathTests {
    @Test("split finds the last slash, trims the directory's trailing slashes and keeps the root",
          arguments: [
              ("a/b.json", "a", "b.json"), ("b.json", ".", "b.json"), ("/b", "/", "b"), ("//b", "/", "b"),
              ("a//b", "a", "b"), ("/x/y/z", "/x/y", "z"), ("dir/", "dir", ""),
              ("ünï/cödé/ß.json", "ünï/cödé", "ß.json"), ("é/", "é", ""),
          ])
    func split(path: String, directory: String, name: String) {
        let parts = FileOperations.split(path)
        #expect(parts.directory == directory)
        #expect(parts.name == name)
    }

    @Test("join puts exactly one slash between directory and name")
    func join() {
        #expect(FileOperations.join("a", "b") == "a/b")
        #expect(FileOperations.join("a/", "b") == "a/b")
        #expect(FileOperations.join("/", "b") == "/b")
    }
}

@Suite("FileOperations.readUntrusted(named:in:): a file found in an open directory gets the guarantees of a path")
struct FilesReadInDirectoryTests {
    let directory = TemporaryDirectory("tally-read-at")

    private func withDirectory(_ syscalls: FileSyscalls = .live, _ body: (Int32, FileOperations) throws -> Void) throws {
        let fd = syscalls.openDirectory(directory.path)
        #expect(fd >= 0)
        defer { _ = syscalls.close(fd) }
        try body(fd, FileOperations(syscalls: syscalls))
    }

    @Test("a regular file is read; a missing one is nil; a link, a FIFO and an oversized file are unsafe")
    func outcomes() throws {
        try Data("hello".utf8).write(to: URL(fileURLWithPath: directory.file("a.json")))
        try FileManager.default.createSymbolicLink(atPath: directory.file("link.json"), withDestinationPath: directory.file("a.json"))
        #expect(mkfifo(directory.file("fifo.json"), 0o600) == 0)
        try withDirectory { fd, operations in
            let found = try operations.readUntrusted(named: "a.json", in: fd, path: "shown/a.json", limit: 100)
            #expect(found == Array("hello".utf8))
            let missing = try operations.readUntrusted(named: "none.json", in: fd, path: "shown/none.json", limit: 100)
            #expect(missing == nil)
            for (name, limit) in [("link.json", 100), ("fifo.json", 100), ("a.json", 3)] {
                #expect {
                    _ = try operations.readUntrusted(named: name, in: fd, path: "shown/\(name)", limit: limit)
                } throws: { error in
                    guard case let .unsafeFile(path, _)? = error as? TallyError else { return false }
                    return path == "shown/\(name)"
                }
            }
        }
    }

    @Test("a failing fstatat or openat is an I/O error naming the step and the file")
    func failures() throws {
        try Data("hello".utf8).write(to: URL(fileURLWithPath: directory.file("a.json")))
        for (step, name) in [(SyscallStep.lstatAt, "stat"), (.openAt, "open")] {
            let plan = FaultPlan()
            plan.fail(step, errno: EIO)
            try withDirectory(plan.syscalls) { fd, operations in
                #expect {
                    _ = try operations.readUntrusted(named: "a.json", in: fd, path: "shown/a.json", limit: 100)
                } throws: { error in
                    guard case let .io(failedStep, path, code)? = error as? TallyError else { return false }
                    return failedStep == name && path == "shown/a.json" && code == EIO
                }
            }
        }
    }

    @Test("a read that returns less than the file's size is not taken as the end: the rest is read")
    func shortReads() throws {
        let content = Array("a file read three bytes at a time".utf8)
        try Data(content).write(to: URL(fileURLWithPath: directory.file("short.json")))
        var syscalls = FileSyscalls.live
        let live = FileSyscalls.live
        syscalls.read = { fd, buffer in live.read(fd, UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(3, buffer.count)])) }
        let operations = FileOperations(syscalls: syscalls)
        let byPath = try operations.readUntrusted(directory.file("short.json"), limit: 100)
        #expect(byPath == content)
        try withDirectory(syscalls) { fd, operations in
            let inDirectory = try operations.readUntrusted(named: "short.json", in: fd, path: "shown/short.json", limit: 100)
            #expect(inDirectory == content)
        }
    }
}
