/// What to reconcile the database against.
public enum ReconcileTarget: Sendable, Equatable {
    /// A state-file mirror directory, as written by ``Store/mirror(to:progress:)-3oejo``.
    case directory(String)
    /// A snapshot file, as written by ``Store/exportSnapshot(to:options:progress:)-2nwgz``.
    case snapshot(String)

    /// The directory or file path.
    public var path: String {
        switch self {
        case let .directory(path), let .snapshot(path): return path
        }
    }
}
