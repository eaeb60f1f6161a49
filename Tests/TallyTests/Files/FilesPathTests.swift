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
