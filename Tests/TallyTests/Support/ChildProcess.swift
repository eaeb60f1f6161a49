import Foundation

/// Starts the test-only `TallyHarness` executable (built beside the test bundle) as a real
/// child process, for tests that need several processes or a SIGKILL.
enum ChildProcess {
    /// The harness binary next to the running test bundle (see ``Harness/executable``).
    static var harnessPath: String { Harness.executable ?? "TallyHarness-not-built" }

    /// Starts the harness with `arguments`; stdout is piped back to the caller.
    static func start(_ arguments: [String]) throws -> (process: Process, output: Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: harnessPath)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        return (process, output)
    }

    /// Runs the harness to completion and returns its exit status and stdout.
    @discardableResult
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let (process, output) = try start(arguments)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
