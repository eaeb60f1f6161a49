import Foundation
import Glibc

/// The state-key grammar, and the only way a key becomes a file path.
///
/// A key is one or more segments of `[A-Za-z0-9._-]` joined by `/`, 1…255 bytes, with no
/// empty, `.` or `..` segment — so it has no leading or trailing slash, cannot be absolute,
/// cannot climb out of its directory, and never needs escaping in a shell, a URL or SQL.
/// Everything in Tally that accepts a key checks it with ``validateKey(_:)``; everything
/// that turns a key into a path uses ``path(forKey:under:suffix:)``.
public enum SafePath {
    /// The longest key, in UTF-8 bytes (all of them ASCII, given the grammar).
    public static let maxKeyBytes = 255

    /// Checks `key` against the key grammar.
    ///
    /// - Throws: ``TallyError/invalidKey(key:reason:)`` whose reason names the rule broken.
    public static func validateKey(_ key: String) throws(TallyError) {
        func reject(_ reason: String) -> TallyError { .invalidKey(key: key, reason: reason) }
        let bytes = Array(key.utf8)
        if bytes.isEmpty { throw reject("it is empty") }
        if bytes.contains(0) { throw reject("it contains a NUL byte") }
        if bytes.count > maxKeyBytes {
            throw reject("it is \(bytes.count) bytes long, more than the \(maxKeyBytes) allowed")
        }
        if bytes.first == UInt8(ascii: "/") {
            throw reject("it starts with '/'; keys are relative, never absolute paths")
        }
        if bytes.last == UInt8(ascii: "/") { throw reject("it ends with '/'") }
        let segments = key.split(separator: "/", omittingEmptySubsequences: false)
        for (number, segment) in zip(1..., segments) {
            switch segment {
            case "": throw reject("segment \(number) is empty ('//')")
            case ".": throw reject("segment \(number) is '.'")
            case "..": throw reject("segment \(number) is '..', which would leave the state directory")
            default: break
            }
            if let bad = segment.unicodeScalars.first(where: { !isAllowed($0) }) {
                throw reject(
                    "segment \(number) contains \(describe(bad)); only A-Z a-z 0-9 . _ - are allowed, "
                        + "with '/' between segments")
            }
        }
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
    public static func path(forKey key: String, under root: String, suffix: String = ".json") throws -> String {
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

    /// ``path(forKey:under:suffix:)`` as a file URL.
    ///
    /// - Throws: What ``path(forKey:under:suffix:)`` throws.
    public static func fileURL(forKey key: String, under root: String, suffix: String = ".json") throws -> URL {
        URL(fileURLWithPath: try path(forKey: key, under: root, suffix: suffix))
    }

    // MARK: - Private

    private static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "A"..."Z", "a"..."z", "0"..."9", ".", "_", "-": return true
        default: return false
        }
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
    private static func refuseEscapingLinks(key: String, root: String, segments: [String]) throws {
        guard let realRoot = realPath(root) else { return }  // no root yet: nothing under it either
        var current = root
        var relative: [String] = []
        for segment in segments {
            current = FileOperations.join(current, segment)
            relative.append(segment)
            var info = stat()
            if Glibc.lstat(current, &info) != 0 {
                let error = errno
                if error == ENOENT || error == ENOTDIR { return }  // the rest does not exist yet
                throw TallyError.io(step: "stat", path: current, errno: error)
            }
            guard info.st_mode & S_IFMT == S_IFLNK else { continue }
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
        guard let resolved = Glibc.realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

extension String {
    fileprivate func paddingLeft(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
