import Foundation
import Testing

@testable import Tally

@Suite("Directory listings: readdir's records are read in place, however large the directory")
struct FilesDirectoryWalkerTests {
    /// 3,000 names of up to 240 bytes fill `readdir`'s 32 KiB buffer many times over, so
    /// records end right at its edge. Reading a record by copying `struct dirent` (280
    /// bytes) read past the last one: a segfault when the buffer ended before an unmapped
    /// page, and an error under AddressSanitizer (`swift test --sanitize=address`, run by CI)
    /// every time.
    @Test("a directory of 3,000 long names is walked and listed in full, every name exact")
    func largeDirectory() throws {
        try withTemporaryDirectory { root in
            var expected: Set<String> = []
            for index in 0..<3_000 {
                // Lengths from 1 to 240 bytes, non-ASCII among them, so records of every size occur.
                let stem = String(repeating: index % 7 == 0 ? "é" : "n", count: index % 120)
                let name = "\(index)-\(stem).json"
                #expect(FileManager.default.createFile(atPath: root + "/" + name, contents: Data("{}".utf8)))
                expected.insert(name)
            }
            try FileManager.default.createDirectory(atPath: root + "/sub", withIntermediateDirectories: false)
            #expect(FileManager.default.createFile(atPath: root + "/sub/inner.json", contents: Data("{}".utf8)))

            let walker = DirectoryWalker(root: root)
            let walked = Set(walker)
            #expect(walker.problems.isEmpty)
            #expect(walked == expected.union(["sub/inner.json"]))

            let listed = try FileOperations(syscalls: .live).listDirectory(root)
            #expect(Set(listed.map(\.name)) == expected.union(["sub"]))
            #expect(listed.filter { $0.kind == .regular }.count == 3_000)
            #expect(listed.first { $0.name == "sub" }?.kind == .directory)
        }
    }
}
