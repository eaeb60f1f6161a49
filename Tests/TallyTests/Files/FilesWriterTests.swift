import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

@testable import Tally

@Suite struct FilesWriterTests {
    @Test func nothingVisibleUntilCommit() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/export.jsonl"
            try plainWrite(path, "old")
            let writer = try AtomicFile.Writer(path: path, permissions: 0o644)
            for line in 0..<1_000 { try writer.write(Array("line \(line)\n".utf8)) }
            #expect(contents(path) == Array("old".utf8))
            #expect(listing(dir).filter { TempFileName.matches($0) }.count == 1)
            try writer.commit()
            let expected = (0..<1_000).map { "line \($0)\n" }.joined()
            #expect(contents(path) == Array(expected.utf8))
            #expect(writer.byteCount == Int64(expected.utf8.count))
            #expect(permissions(path) == 0o644)
            #expect(listing(dir) == ["export.jsonl"])
        }
    }

    @Test func discardRemovesTemporaryAndKeepsOriginal() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/f"
            try plainWrite(path, "old")
            let writer = try AtomicFile.Writer(path: path)
            try writer.write(Array("partial".utf8))
            writer.discard()
            writer.discard()  // harmless twice
            #expect(contents(path) == Array("old".utf8))
            #expect(listing(dir) == ["f"])
            #expect(throws: TallyError.self) { try writer.write([1]) }
            #expect(throws: TallyError.self) { try writer.commit() }
        }
    }

    @Test func droppingWithoutCommitDiscards() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/f"
            do {
                let writer = try AtomicFile.Writer(path: path)
                try writer.write([UInt8](repeating: 7, count: 100_000))
                #expect(listing(dir).count == 1)
            }
            #expect(listing(dir) == [])
        }
    }

    @Test func writeErrorDiscards() throws {
        try withTemporaryDirectory { dir throws in
            let path = dir + "/f"
            try plainWrite(path, "old")
            let plan = FaultPlan()
            plan.fail(.write, errno: EIO)
            let writer = try AtomicFile.Writer(path: path, syscalls: plan.syscalls)
            try writer.write([UInt8](repeating: 1, count: 10))  // buffered: no system call yet
            #expect(throws: TallyError.io(step: "write", path: path, errno: EIO)) {
                try writer.write([UInt8](repeating: 2, count: AtomicFile.Writer.bufferSize))
            }
            #expect(listing(dir) == ["f"])
            #expect(throws: TallyError.self) { try writer.commit() }
            #expect(contents(path) == Array("old".utf8))
        }
    }

    @Test func commitAfterCommitIsRefused() throws {
        try withTemporaryDirectory { dir throws in
            let writer = try AtomicFile.Writer(path: dir + "/f")
            try writer.commit()
            #expect(contents(dir + "/f") == [])
            #expect(throws: TallyError.self) { try writer.commit() }
            #expect(listing(dir) == ["f"])
        }
    }

    @Test func acceptsNonContiguousCollections() throws {
        try withTemporaryDirectory { dir throws in
            let writer = try AtomicFile.Writer(path: dir + "/f")
            let bytes = (0..<200_000).lazy.map { UInt8(truncatingIfNeeded: $0) }
            try writer.write(bytes)
            try writer.commit()
            #expect(contents(dir + "/f") == Array(bytes))
        }
    }

    @Test func streamingKeepsMemoryBounded() throws {
        // A child process, so its peak RSS is the writer's alone and not the parallel tests'.
        // 64 MiB through the writer must not grow the process by anything near that.
        try withTemporaryDirectory { dir throws in
            let path = dir + "/big"
            let result = try Harness.run(["files-stream", path, "64"])
            #expect(result.status == 0)
            var values: [String: Int] = [:]
            for line in result.output.split(separator: "\n") {
                let parts = line.split(separator: " ")
                if parts.count == 2, let value = Int(parts[1]) { values[String(parts[0])] = value }
            }
            let start = try #require(values["rss-start"])
            let peak = try #require(values["hwm-end"])
            #expect(start > 0 && peak > 0)
            #expect(peak - start < 16 * 1024, "peak RSS grew by \(peak - start) kB while streaming 64 MiB")
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue
            #expect(size == 64 << 20)
        }
    }
}
