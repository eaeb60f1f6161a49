import Tally

/// Reading what the user hands a command: JSON given inline, as `@FILE` or as `-` (standard
/// input), strict decimal numbers, and input files that must exist.
enum Input {
    /// The most JSON text read from `@FILE` or standard input: far above any document Tally
    /// accepts (8 MiB canonical by default), low enough that `@/dev/zero` cannot exhaust memory.
    static let maximumInputBytes = 64 << 20

    /// Parses `argument` as JSON: the text itself, the contents of FILE for `@FILE` (a file,
    /// a pipe, `<(cmd)`, `/dev/stdin`), or standard input for `-`. `field` names the
    /// argument in errors.
    static func json(_ argument: String, field: String) throws -> JSONValue {
        let bytes: [UInt8]
        let origin: String
        if argument == "-" {
            bytes = try FileOperations(syscalls: .live).readToEnd(System.standardInput, path: "standard input", limit: maximumInputBytes)
            origin = "standard input"
        } else if argument.hasPrefix("@") {
            let path = String(argument.dropFirst())
            bytes = try readNamedFile(path, field: field)
            origin = path
        } else {
            bytes = Array(argument.utf8)
            origin = "the \(field) argument"
        }
        if let offset = firstInvalidUTF8(bytes) {
            throw TallyError.invalidInput(field: field, reason: "\(origin) is not valid UTF-8 at byte \(offset); Tally stores text as UTF-8")
        }
        do {
            return try JSONValue.parse(utf8: bytes)
        } catch {
            if case let .invalidJSON(_, reason, line, column) = error {
                throw TallyError.invalidInput(
                    field: field,
                    reason: "\(origin) is not valid JSON (\(reason) at line \(line), column \(column)); pass JSON text, @FILE to read a file, or - to read standard input")
            }
            throw error
        }
    }

    /// Reads a file the user named for input: links are followed and pipes read (that is
    /// what `@<(cmd)` gives), but not more than ``maximumInputBytes``; a directory, socket or
    /// device is refused, and a missing file is bad input (exit 2), not an I/O failure.
    static func readNamedFile(_ path: String, field: String) throws -> [UInt8] {
        try requireReadable(path, field: field)
        let syscalls = FileSyscalls.live
        let fd = FileSyscalls.retryingEINTR { syscalls.open(path, .readOnly, 0) }
        guard fd >= 0 else { throw TallyError.io(step: "open", path: path, errno: -fd) }
        defer { _ = syscalls.close(fd) }
        return try FileOperations(syscalls: syscalls).readToEnd(fd, path: path, limit: maximumInputBytes)
    }

    /// Fails with a bad-input error (exit 2) unless `path` names something a command can read
    /// as a file: a regular file, a pipe or a character device such as /dev/stdin.
    static func requireReadable(_ path: String, field: String) throws {
        switch System.statInfo(path) {
        case let .success(info):
            switch info.kind {
            case .regular, .fifo, .characterDevice: return
            case .directory: throw TallyError.invalidInput(field: field, reason: "\(path) is a directory; name a file")
            default: throw TallyError.invalidInput(field: field, reason: "\(path) is \(info.kind.description); name a file")
            }
        case .failure(.noSuchFile), .failure(.notDirectory):
            throw TallyError.invalidInput(field: field, reason: "\(path) does not exist; check the path")
        case let .failure(error):
            throw TallyError.io(step: "open", path: path, errno: error.rawValue)
        }
    }

    /// The offset of the first byte that is not part of valid UTF-8, or nil.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case let .scalarValue(scalar):
                offset += UTF8.width(scalar)
            case .emptyInput:
                return nil
            case .error:
                return offset
            }
        }
    }

    /// A quantity in the strict JSON number grammar (no hex floats, no `inf`, no `nan`, no
    /// `+`) that a double holds digit for digit: `0.1` and `2.5e3` pass, `1.00000000000000000001`
    /// (which would become 1) does not.
    static func quantity(_ text: String) throws -> Double {
        func refuse(_ why: String) -> TallyError {
            TallyError.invalidInput(field: "--quantity", reason: "'\(text)' \(why)")
        }
        guard !text.isEmpty, (try? JSONValue.parse(text)).map({ if case .number = $0 { return true } else { return false } }) == true,
              !text.contains(where: { $0 == " " || $0 == "\t" || $0 == "\n" }) else {
            throw refuse("is not a decimal number such as 3.5 or -2 (no hex, no inf or nan)")
        }
        guard case let .number(value) = try JSONValue.parse(text) else {
            throw refuse("is not a number")
        }
        guard DecimalText.sameNumber(text, JSONNumberFormatter.string(value)) else {
            throw refuse("has more digits than a quantity holds (it would be stored as \(JSONNumberFormatter.string(value))); round it yourself")
        }
        return value
    }
}
