import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import Tally

/// `AtomicFile.Staged`, the publisher behind backup and restore: whole or not at all.
@Suite("Files: staged files are published whole or not at all")
struct FilesStagedFileTests {
    let directory = TemporaryDirectory()

    private func names() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }

    @Test("a copy is published over the target; stale sidecars go first")
    func publishCopy() throws {
        let source = directory.file("source"), target = directory.file("target")
        try Data("new contents".utf8).write(to: URL(fileURLWithPath: source))
        try Data("old".utf8).write(to: URL(fileURLWithPath: target))
        try Data("stale".utf8).write(to: URL(fileURLWithPath: target + "-wal"))
        let staged = try AtomicFile.Staged.copy(of: source, replacing: target)
        #expect(AtomicFile.isTemporaryName((staged.temporaryPath as NSString).lastPathComponent))
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "old")
        try staged.publish(removingFirst: [target + "-wal", target + "-shm"])
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "new contents")
        #expect(try names() == ["source", "target"])
        var info = stat()
        #expect(stat(target, &info) == 0 && info.st_mode & 0o777 == 0o600)
    }

    @Test("a failure at any publishing step leaves the target as it was and no temporary file")
    func failures() throws {
        let target = directory.file("target")
        try Data("old".utf8).write(to: URL(fileURLWithPath: target))
        for step in ["fsync", "chmod", "unlink", "rename"] {
            var syscalls = FileSyscalls.live
            switch step {
            case "fsync": syscalls.fsync = { _ in -EIO }
            case "chmod": syscalls.fchmod = { _, _ in -EPERM }
            case "unlink": syscalls.unlink = { path in path.hasSuffix("-wal") ? -EACCES : FileSyscalls.live.unlink(path) }
            default: syscalls.rename = { _, _ in -EXDEV }
            }
            try Data("sidecar".utf8).write(to: URL(fileURLWithPath: target + "-wal"))
            let staged = try AtomicFile.Staged(replacing: target, syscalls: syscalls)
            try Data("new".utf8).write(to: URL(fileURLWithPath: staged.temporaryPath))
            #expect(throws: TallyError.self, "\(step)") { try staged.publish(removingFirst: [target + "-wal"]) }
            #expect(try String(contentsOfFile: target, encoding: .utf8) == "old", "\(step)")
            #expect(!(try names()).contains { $0.contains(".tmp-") }, "\(step)")
            try? FileManager.default.removeItem(atPath: target + "-wal")
        }
    }

    @Test("discarding, or dropping the value unpublished, removes the temporary file")
    func discard() throws {
        let target = directory.file("target")
        do {
            let staged = try AtomicFile.Staged(replacing: target)
            #expect(FileManager.default.fileExists(atPath: staged.temporaryPath))
        }
        let staged = try AtomicFile.Staged(replacing: target)
        staged.discard()
        #expect(throws: TallyError.self) { try staged.publish() }
        #expect(try names().isEmpty)
        #expect(throws: TallyError.self) { try AtomicFile.Staged.copy(of: directory.file("missing"), replacing: target) }
        #expect(try names().isEmpty)
    }
}
