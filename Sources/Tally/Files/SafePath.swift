/// The state-key grammar, and the only way a key becomes a file path.
///
/// A key is one or more segments of `[A-Za-z0-9._-]` joined by `/`, 1…255 bytes, with no
/// empty, `.` or `..` segment — so it has no leading or trailing slash, cannot be absolute,
/// cannot climb out of its directory, and never needs escaping in a shell, a URL or SQL.
/// Everything in Tally that accepts a key checks it with ``validateKey(_:)``; everything
/// that turns a key into a path uses ``path(forKey:under:suffix:)``.
package enum SafePath {
    /// The longest key, in UTF-8 bytes (all of them ASCII, given the grammar).
    package static let maxKeyBytes = 255

    /// The longest segment, so that the last one plus `.json` still fits in a file name.
    package static let maxSegmentBytes = 250

    /// Checks `key` against the key grammar, in one pass over its bytes (it runs on every
    /// state write). Besides the grammar, a key must be mirrorable: no segment longer than
    /// ``maxSegmentBytes`` (its file `SEGMENT.json` must fit in the 255 bytes of a file name),
    /// and not the top-level key `MANIFEST` (the mirror's `MANIFEST.json`).
    ///
    /// - Throws: ``TallyError/invalidKey(key:reason:)`` whose reason names the rule broken.
    package static func validateKey(_ key: String) throws(TallyError) {
        func reject(_ reason: String) -> TallyError { .invalidKey(key: key, reason: reason) }
        var key = key
        let problem: String? = key.withUTF8 { bytes -> String? in
            if bytes.isEmpty { return "it is empty" }
            if bytes.count > maxKeyBytes { return "it is \(bytes.count) bytes long, more than the \(maxKeyBytes) allowed" }
            if bytes[0] == UInt8(ascii: "/") { return "it starts with '/'; keys are relative, never absolute paths" }
            if bytes[bytes.count - 1] == UInt8(ascii: "/") { return "it ends with '/'" }
            var segment = 1
            var segmentStart = 0
            for index in 0...bytes.count {
                let byte = index < bytes.count ? bytes[index] : UInt8(ascii: "/")
                if byte == UInt8(ascii: "/") {
                    let length = index - segmentStart
                    if length == 0 { return "segment \(segment) is empty ('//')" }
                    if length == 1 && bytes[segmentStart] == UInt8(ascii: ".") { return "segment \(segment) is '.'" }
                    if length == 2 && bytes[segmentStart] == UInt8(ascii: ".") && bytes[segmentStart + 1] == UInt8(ascii: ".") {
                        return "segment \(segment) is '..', which would leave the state directory"
                    }
                    if length > maxSegmentBytes {
                        return "segment \(segment) is \(length) bytes, more than the \(maxSegmentBytes) a mirror file name can hold"
                    }
                    segment += 1
                    segmentStart = index + 1
                } else if byte == 0 {
                    return "it contains a NUL byte"
                } else if !isAllowed(byte) {
                    return "segment \(segment) contains \(describe(byte: byte, in: bytes, at: index)); only A-Z a-z 0-9 . _ - are allowed, "
                        + "with '/' between segments"
                }
            }
            if segment == 2 && bytes.count == 8 && bytes.elementsEqual("MANIFEST".utf8) {
                return "the top-level key MANIFEST would be the mirror's MANIFEST.json; use another name"
            }
            return nil
        }
        if let problem { throw reject(problem) }
    }

    /// The file that holds `key` under `root`: `root/key` + `suffix`.
    ///
    /// Besides the key grammar, this refuses a key whose file name (last segment plus suffix)
    /// is longer than the 255 bytes a file name may have, a file name Tally reserves for its
    /// temporary files, and — looking at what already exists on disk — a key whose path
    /// passes through a symbolic link that resolves outside `root` (links that stay inside
    /// are allowed).
    ///
    /// - Parameters:
    ///   - key: The state key.
    ///   - root: The directory the keys live in.
    ///   - suffix: Appended to the last segment, e.g. `.json`.
    /// - Throws: ``TallyError/invalidKey(key:reason:)``; ``TallyError/invalidInput(field:reason:)``
    ///   for an empty root or a suffix containing `/` or NUL; ``TallyError/io(step:path:errno:)``
    ///   (step `stat`) when an existing component cannot be examined.
    package static func path(forKey key: String, under root: String, suffix: String = ".json") throws(TallyError) -> String {
        try validateKey(key)
        guard !root.isEmpty, !root.utf8.contains(0) else {
            throw TallyError.invalidInput(field: "root", reason: "'\(TallyError.printable(root))' is not a directory path")
        }
        guard !suffix.contains("/"), !suffix.utf8.contains(0) else {
            throw TallyError.invalidInput(field: "suffix", reason: "'\(TallyError.printable(suffix))' must not contain '/' or NUL")
        }
        var segments = key.split(separator: "/").map(String.init)
        segments[segments.count - 1] += suffix
        let fileName = segments[segments.count - 1]
        if fileName.utf8.count > TempFileName.nameMax {
            throw TallyError.invalidKey(
                key: key,
                reason: "its file name '\(fileName)' is \(fileName.utf8.count) bytes, "
                    + "more than the \(TempFileName.nameMax) a file name can hold")
        }
        if TempFileName.matches(fileName) {
            throw TallyError.invalidKey(
                key: key, reason: "its file name '\(fileName)' has the form Tally reserves for temporary files")
        }
        var base = root
        while base.count > 1, base.hasSuffix("/") { base.removeLast() }
        try refuseEscapingLinks(key: key, root: base, segments: segments)
        return FileOperations.join(base, segments.joined(separator: "/"))
    }

    // MARK: - Private

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    /// The character starting at `index` (decoded from the UTF-8 around it) for a message.
    private static func describe(byte: UInt8, in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> String {
        var decoder = UTF8()
        var iterator = bytes[index...].makeIterator()
        if case let .scalarValue(scalar) = decoder.decode(&iterator) { return describe(scalar) }
        return "the byte 0x" + String(byte, radix: 16, uppercase: true)
    }

    private static func describe(_ scalar: Unicode.Scalar) -> String {
        let code = "U+" + String(String(scalar.value, radix: 16, uppercase: true).paddingLeft(to: 4))
        // Only printable ASCII is shown as itself: anything else may be invisible, or look
        // like an allowed character, or reorder the message around it.
        guard scalar.value >= 0x20, scalar.value < 0x7F else { return code }
        return "'\(scalar)' (\(code))"
    }

    /// Walks the existing prefix of the path and resolves every symbolic link on it; the
    /// kernel would follow them silently, so a link to `/etc` inside the state directory
    /// would otherwise turn a harmless key into a write anywhere.
    private static func refuseEscapingLinks(key: String, root: String, segments: [String]) throws(TallyError) {
        guard let realRoot = realPath(root) else { return }  // no root yet: nothing under it either
        var current = root
        var relative: [String] = []
        for segment in segments {
            current = FileOperations.join(current, segment)
            relative.append(segment)
            let info: FileInfo
            switch System.lstatInfo(current) {
            case let .success(found):
                info = found
            case .failure(.noSuchFile), .failure(.notDirectory):
                return  // the rest does not exist yet
            case let .failure(error):
                throw TallyError.io(step: "stat", path: current, errno: error.rawValue)
            }
            guard info.kind == .symbolicLink else { continue }
            let shown = relative.joined(separator: "/")
            guard let resolved = realPath(current) else {
                throw TallyError.invalidKey(
                    key: key, reason: "'\(shown)' under \(root) is a symbolic link that cannot be resolved")
            }
            if resolved != realRoot && !resolved.hasPrefix(realRoot == "/" ? "/" : realRoot + "/") {
                throw TallyError.invalidKey(
                    key: key, reason: "'\(shown)' under \(root) is a symbolic link to \(resolved), outside \(realRoot)")
            }
        }
    }

    private static func realPath(_ path: String) -> String? {
        System.realPath(path)
    }
}

extension String {
    fileprivate func paddingLeft(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
