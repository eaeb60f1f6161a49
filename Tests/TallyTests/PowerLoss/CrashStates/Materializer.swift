import Foundation

/// A real directory holding a materialized crash state. The caller owns it and must call
/// `remove()` when done (nothing removes it implicitly, so a failing check can leave it
/// behind for inspection).
struct MaterializedDirectory: Hashable, Sendable {
    /// Absolute path of the directory.
    let path: String

    /// Absolute path of `relativePath` inside the directory.
    func path(of relativePath: String) -> String {
        relativePath.isEmpty ? path : path + "/" + relativePath
    }

    /// Removes the directory and everything in it, including files that checks (e.g. SQLite
    /// recovery) created there.
    func remove() throws {
        try FileManager.default.removeItem(atPath: path)
    }
}

/// Why a state could not be written to or read from disk.
enum MaterializationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A file or directory could not be created.
    case cannotCreate(path: String)
    /// A path in the state is not a safe relative path.
    case invalidPath(String)
    /// A file could not be read back.
    case unreadable(path: String)

    var description: String {
        switch self {
        case let .cannotCreate(path): "cannot create \(path)"
        case let .invalidPath(path): "\"\(path)\" is not a relative path inside the state"
        case let .unreadable(path): "cannot read \(path)"
        }
    }
}

extension DirectoryState {
    /// Writes this tree into a new directory (mode 0700) under `parent` (the system temporary
    /// directory if nil). Directories get 0700 and files 0600: crash states may hold copies
    /// of user data.
    func materialize(under parent: String? = nil) throws -> MaterializedDirectory {
        let manager = FileManager.default
        var base = parent ?? manager.temporaryDirectory.path
        while base.count > 1, base.hasSuffix("/") { base.removeLast() }
        let root = base + "/tally-crash-" + UUID().uuidString.prefix(12)
        try manager.createDirectory(atPath: root, withIntermediateDirectories: false,
                                    attributes: [.posixPermissions: 0o700])
        let directory = MaterializedDirectory(path: root)
        do {
            // Shallow first, so every parent exists before its children.
            let ordered = directories.sorted {
                ($0.split(separator: "/").count, $0) < ($1.split(separator: "/").count, $1)
            }
            for relative in ordered {
                try Self.requireValid(relative)
                try manager.createDirectory(atPath: directory.path(of: relative), withIntermediateDirectories: false,
                                            attributes: [.posixPermissions: 0o700])
            }
            for relative in files.keys.sorted() {
                try Self.requireValid(relative)
                let path = directory.path(of: relative)
                guard !manager.fileExists(atPath: path),
                      manager.createFile(atPath: path, contents: Data(files[relative] ?? []),
                                         attributes: [.posixPermissions: 0o600]) else {
                    throw MaterializationError.cannotCreate(path: path)
                }
            }
        } catch {
            try? directory.remove()
            throw error
        }
        return directory
    }

    /// Reads a real directory tree back into a value, e.g. to compare what a recovery run left
    /// in a materialized state with what was expected. Symbolic links and special files are
    /// not followed or read; `excluding` drops top-level names (and everything under them).
    init(readingDirectoryAt root: String, excluding: Set<String> = []) throws {
        let manager = FileManager.default
        var files: [String: [UInt8]] = [:]
        var directories: Set<String> = []
        for relative in try manager.subpathsOfDirectory(atPath: root) {
            let top = String(relative.split(separator: "/", maxSplits: 1).first ?? "")
            if excluding.contains(top) { continue }
            let full = root + "/" + relative
            let attributes = try manager.attributesOfItem(atPath: full)
            switch attributes[.type] as? FileAttributeType {
            case .typeDirectory?:
                directories.insert(relative)
            case .typeRegular?:
                guard let data = manager.contents(atPath: full) else {
                    throw MaterializationError.unreadable(path: full)
                }
                files[relative] = [UInt8](data)
            default:
                continue
            }
        }
        self.init(files: files, directories: directories)
    }

    private static func requireValid(_ path: String) throws(MaterializationError) {
        guard let components = RelativePath.components(path), !components.isEmpty else {
            throw .invalidPath(path)
        }
    }
}
