// A test-only executable: the tests start it as a separate process to prove behaviour that
// needs real processes (concurrent writers, SIGKILL in the middle of a write).
//
// Usage: TallyHarness MODE [ARGUMENTS...]. Each *Modes.swift file owns a family of modes.
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
guard let mode = arguments.first else {
    try? FileHandle.standardError.write(contentsOf: Data("usage: TallyHarness MODE [ARGUMENTS...]\n".utf8))
    exit(2)
}
let rest = Array(arguments.dropFirst())
for family in [FilesModes.run, DatabaseModes.run] {
    if let status = family(mode, rest) { exit(status) }
}
try? FileHandle.standardError.write(contentsOf: Data("TallyHarness: unknown mode '\(mode)'\n".utf8))
exit(2)
