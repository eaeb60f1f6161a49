import Foundation
import Tally

/// Reading what the user hands a command: JSON given inline, as `@FILE`, or as `-` (stdin),
/// and input files that must exist.
enum Input {
    /// Parses `argument` as JSON: the text itself, the contents of FILE for `@FILE`, or
    /// standard input for `-`. `field` names the argument in errors.
    static func json(_ argument: String, field: String) throws -> JSONValue {
        let text: String
        let origin: String
        if argument == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            origin = "standard input"
        } else if argument.hasPrefix("@") {
            let path = String(argument.dropFirst())
            try requireFile(path, field: field)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw TallyError.io(step: "read", path: path, errno: EACCES)
            }
            text = String(decoding: data, as: UTF8.self)
            origin = path
        } else {
            text = argument
            origin = "the argument"
        }
        do {
            return try JSONValue.parse(text)
        } catch {
            throw TallyError.invalidInput(field: field, reason: "\(origin) is not valid JSON (\(error)); pass JSON text, @FILE to read a file, or - to read standard input")
        }
    }

    /// Fails with a bad-input error (exit 2) unless `path` names an existing regular file:
    /// a mistyped input path is the user's to fix, not an I/O failure.
    static func requireFile(_ path: String, field: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TallyError.invalidInput(field: field, reason: "\(path) does not exist; check the path")
        }
        guard !isDirectory.boolValue else {
            throw TallyError.invalidInput(field: field, reason: "\(path) is a directory; name a file")
        }
    }
}
