import Foundation
import Testing

/// Runs the built `tally` binary as a user would, each call in its own process.
enum CLI {
    /// The `tally` executable beside the test bundle (`swift test` builds every product of
    /// the package, this one included), else under the package's `.build/debug`.
    static let binary: String? = {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("tally").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        let fallback = packageRoot.appendingPathComponent(".build/debug/tally").path
        return FileManager.default.isExecutableFile(atPath: fallback) ? fallback : nil
    }()

    /// What a run printed and returned.
    struct Result: CustomStringConvertible {
        let status: Int32
        let stdout: String
        let stderr: String

        /// Lines of stderr that are not empty.
        var errorLines: [String] { stderr.split(separator: "\n").map(String.init) }

        var description: String { "exit \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
    }

    /// Runs `tally ARGUMENTS` in `directory` with TALLY_DB set to `database` (when given),
    /// feeding `stdin` (when given). Output goes to files, never to a terminal.
    static func run(_ arguments: [String], database: String? = nil, in directory: String? = nil,
                    stdin: String? = nil) throws -> Result {
        guard let binary else { throw MissingBinary() }
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "TALLY_DB")
        if let database { environment["TALLY_DB"] = database }
        return try runProcess(binary, arguments, in: directory, environment: environment, stdin: stdin)
    }

    /// Runs a shell command line (for pipes and pseudo-terminals), with `$TALLY` set to the
    /// binary.
    static func shell(_ script: String, in directory: String) throws -> Result {
        guard let binary else { throw MissingBinary() }
        var environment = ProcessInfo.processInfo.environment
        environment["TALLY"] = binary
        environment.removeValue(forKey: "TALLY_DB")
        return try runProcess("/bin/sh", ["-c", script], in: directory, environment: environment, stdin: nil)
    }

    private static func runProcess(_ executable: String, _ arguments: [String], in directory: String?,
                                   environment: [String: String], stdin: String?) throws -> Result {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tally-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("out"), errURL = scratch.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        if let stdin {
            let inURL = scratch.appendingPathComponent("in")
            try Data(stdin.utf8).write(to: inURL)
            process.standardInput = try FileHandle(forReadingFrom: inURL)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                      stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    /// Thrown when there is no binary to test, so CLI tests fail loudly instead of passing
    /// without having run anything.
    struct MissingBinary: Error, CustomStringConvertible {
        var description: String {
            "the `tally` executable was not found beside the test bundle (\(CommandLine.arguments[0])) nor in "
                + "\(packageRoot.path)/.build/debug. `swift test` normally builds it; run `swift build` first, or make "
                + "the TallyCLITests target depend on the tally product in Package.swift."
        }
    }
}

/// A fresh directory under the system temp folder, removed when the value is released.
final class Scratch: @unchecked Sendable {
    let path: String

    init(_ label: String = "tally-cli") {
        let template = (NSTemporaryDirectory() as NSString).appendingPathComponent("\(label)-XXXXXX")
        var bytes = Array(template.utf8CString)
        let created = bytes.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }
        path = created.map { String(cString: $0) } ?? template
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// A path inside the directory.
    func file(_ name: String) -> String {
        (path as NSString).appendingPathComponent(name)
    }

    /// The database path tests use.
    var database: String { file("tally.db") }
}

/// The package root, found from this source file's location.
let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Parses one JSON document (an object) from `text`.
func jsonObject(_ text: String) throws -> [String: Any] {
    let value = try JSONSerialization.jsonObject(with: Data(text.utf8))
    guard let object = value as? [String: Any] else { throw NotJSON(text: text) }
    return object
}

/// Parses JSON Lines: one object per non-empty line.
func jsonLines(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n").map { try jsonObject(String($0)) }
}

/// A JSON document that was not the expected object.
struct NotJSON: Error, CustomStringConvertible {
    let text: String
    var description: String { "not a JSON object: \(text)" }
}

/// Checks the error contract: the exit code, and exactly one line on stderr starting with
/// "error: " that mentions each of `mentions`.
func expectError(_ result: CLI.Result, exit status: Int32, mentions: [String] = [],
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status == status, "\(result)", sourceLocation: sourceLocation)
    #expect(result.errorLines.count == 1, "stderr must be one line: \(result)", sourceLocation: sourceLocation)
    #expect(result.stderr.hasPrefix("error: "), "\(result)", sourceLocation: sourceLocation)
    for text in mentions {
        #expect(result.stderr.contains(text), "stderr should mention '\(text)': \(result)", sourceLocation: sourceLocation)
    }
}

/// Expects success and returns stdout.
@discardableResult
func expectSuccess(_ result: CLI.Result, sourceLocation: SourceLocation = #_sourceLocation) -> String {
    #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
    return result.stdout
}

/// Creates a database with `tally init`.
func initDatabase(_ scratch: Scratch, sourceLocation: SourceLocation = #_sourceLocation) throws {
    expectSuccess(try CLI.run(["init"], database: scratch.database), sourceLocation: sourceLocation)
}
