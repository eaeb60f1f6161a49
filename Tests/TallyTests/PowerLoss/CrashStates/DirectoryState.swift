/// A directory tree as plain values: regular files with their bytes, and
/// directories, by relative path ("a/b.txt"). The directory under test itself is
/// implicit. Used both for the initial state handed to the generator and for
/// every crash state it produces, so equal trees compare (and hash) equal.
///
/// Hard links are not represented: two names for one inode show up as two paths
/// with the same bytes. Modes are not represented either.
struct DirectoryState: Hashable, Sendable {
    /// Regular files by relative path.
    let files: [String: [UInt8]]
    /// Directories by relative path, always including every ancestor of every file.
    let directories: Set<String>

    /// A tree with the given files and directories; ancestors of every path are
    /// added as directories so callers need not list them.
    init(files: [String: [UInt8]] = [:], directories: Set<String> = []) {
        var all = directories
        for path in Array(files.keys) + Array(directories) {
            var components = path.split(separator: "/", omittingEmptySubsequences: false).dropLast()
            while !components.isEmpty {
                all.insert(components.joined(separator: "/"))
                components = components.dropLast()
            }
        }
        self.files = files
        self.directories = all
    }

    /// For the generator, whose tree walk already yields every ancestor.
    init(exactFiles files: [String: [UInt8]], directories: Set<String>) {
        self.files = files
        self.directories = directories
    }

    /// The bytes of the regular file at `path`, or nil if there is none.
    func contents(of path: String) -> [UInt8]? {
        files[path]
    }

    /// The contents of `path` decoded as UTF-8 (lossily), or nil if there is no such file.
    func text(of path: String) -> String? {
        files[path].map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether a regular file or a directory exists at `path`.
    func exists(_ path: String) -> Bool {
        files[path] != nil || directories.contains(path)
    }

    /// Whether `path` is a directory.
    func isDirectory(_ path: String) -> Bool {
        directories.contains(path)
    }

    /// The regular files whose path satisfies `predicate`, e.g. `{ $0.hasPrefix("db") }`.
    func files(matching predicate: (String) -> Bool) -> [String: [UInt8]] {
        files.filter { predicate($0.key) }
    }

    /// The regular files directly inside `directory` ("" for the top level), by name.
    func files(inDirectory directory: String) -> [String: [UInt8]] {
        let prefix = directory.isEmpty ? "" : directory + "/"
        var result: [String: [UInt8]] = [:]
        for (path, bytes) in files where path.hasPrefix(prefix) {
            let name = path.dropFirst(prefix.count)
            if !name.contains("/") { result[String(name)] = bytes }
        }
        return result
    }
}

extension DirectoryState: CustomStringConvertible {
    /// One line per entry, sorted, with a short preview of each file's bytes.
    var description: String {
        var lines = directories.sorted().map { "\($0)/" }
        lines += files.keys.sorted().map { "\($0) = \(Self.describe(files[$0]))" }
        return lines.isEmpty ? "{}" : "{" + lines.joined(separator: ", ") + "}"
    }
}

extension DirectoryState {
    /// Human-readable summary of file contents for diagnostics: absence,
    /// emptiness, or size plus a short (lossy UTF-8) preview.
    static func describe(_ bytes: [UInt8]?) -> String {
        guard let bytes else { return "<absent>" }
        if bytes.isEmpty { return "<empty>" }
        let preview = String(decoding: bytes.prefix(24), as: UTF8.self).replacingNonPrintable()
        let ellipsis = bytes.count > 24 ? "…" : ""
        return "\(bytes.count) bytes \"\(preview)\(ellipsis)\""
    }
}

extension String {
    fileprivate func replacingNonPrintable() -> String {
        String(unicodeScalars.map { $0.value >= 0x20 && $0.value != 0x7F ? Character($0) : "." })
    }
}

/// Splits and checks a relative path. Internal so the model and the
/// materializer agree on what a valid path is.
enum RelativePath {
    /// Components of `path`; "" and "." mean the directory under test itself.
    /// Absolute paths, empty components, "." and ".." inside a path are rejected
    /// because they could escape the directory or alias one entry under two names.
    static func components(_ path: String) -> [String]? {
        if path.isEmpty || path == "." { return [] }
        if path.hasPrefix("/") { return nil }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for part in parts where part.isEmpty || part == "." || part == ".." {
            return nil
        }
        return parts
    }
}
