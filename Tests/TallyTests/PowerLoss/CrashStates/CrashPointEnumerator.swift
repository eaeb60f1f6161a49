/// One way a directory's table may look after the crash, plus which
/// cross-directory renames that way includes (they must agree across the two
/// directories they touch).
struct DirectoryOption {
    let table: [String: InodeID]
    let sharedDecisions: [Int: Bool]
}

/// Enumerates the candidate trees at one crash point: a product of directory
/// options (consistent on cross-directory renames), then, for the files
/// reachable in that tree, a product of per-inode content options.
struct CrashPointEnumerator {
    let model: FileSystemModel
    let ordering: CrashStateGenerator.DirectoryOrdering
    let blockSize: Int
    let maxCandidates: Int
    /// Above this many combinations of file contents, files vary one at a time.
    let maxContentCombinations: Int
    let crashPoint: Int

    func enumerate(_ emit: (DirectoryState) throws(CrashStateError) -> Void) throws(CrashStateError) {
        // Only inodes with unsynced changes have a choice; sorted ids keep the
        // order of states deterministic (dictionary order is not).
        let contents = model.files.compactMapValues { inode in
            inode.pending.isEmpty ? nil : inode.crashContents(blockSize: blockSize)
        }
        let changing = model.directories.filter { !$0.value.pending.isEmpty }.keys.sorted()
        var options: [[DirectoryOption]] = []
        for directory in changing {
            options.append(try directoryOptions(directory))
        }
        var tables = model.directories.mapValues(\.persisted)
        var candidates = 0

        func chooseDirectory(_ index: Int, _ decisions: [Int: Bool]) throws(CrashStateError) {
            guard index < changing.count else {
                try chooseContents(tree: walk(tables))
                return
            }
            for option in options[index] {
                guard let merged = merge(decisions, option.sharedDecisions) else { continue }
                tables[changing[index]] = option.table
                try chooseDirectory(index + 1, merged)
            }
        }

        func chooseContents(tree: Tree) throws(CrashStateError) {
            var seenInodes = Set<InodeID>()
            let inodes = tree.files.map(\.inode).filter { seenInodes.insert($0).inserted }
            let options = inodes.map { contents[$0] ?? [model.files[$0]?.persisted ?? []] }

            func emitTree(_ chosen: [InodeID: [UInt8]]) throws(CrashStateError) {
                candidates += 1
                guard candidates <= maxCandidates else {
                    throw .tooManyCandidates(limit: maxCandidates, crashPoint: crashPoint)
                }
                var files: [String: [UInt8]] = [:]
                for (path, inode) in tree.files { files[path] = chosen[inode] ?? [] }
                try emit(DirectoryState(exactFiles: files, directories: tree.directories))
            }

            // The full product of the files' contents while it stays within the budget.
            var product = 1
            for choices in options where product <= maxContentCombinations { product *= choices.count }
            guard product > maxContentCombinations else {
                var chosen: [InodeID: [UInt8]] = [:]
                func choose(_ index: Int) throws(CrashStateError) {
                    guard index < inodes.count else { return try emitTree(chosen) }
                    for content in options[index] {
                        chosen[inodes[index]] = content
                        try choose(index + 1)
                    }
                }
                return try choose(0)
            }
            // Beyond it, one file varies at a time while every other file holds its first or
            // its last option (nothing of its unsynced data survived, or all of it).
            for baseline in [0, 1] {
                var chosen: [InodeID: [UInt8]] = [:]
                for (index, inode) in inodes.enumerated() {
                    chosen[inode] = baseline == 0 ? options[index].first : options[index].last
                }
                try emitTree(chosen)
                for (index, inode) in inodes.enumerated() {
                    let kept = chosen[inode]
                    for content in options[index] {
                        chosen[inode] = content
                        try emitTree(chosen)
                    }
                    chosen[inode] = kept
                }
            }
        }

        try chooseDirectory(0, [:])
    }

    /// The tables one directory may show: persisted plus each prefix of its
    /// changes, or plus each subset of them in `.anySubset` mode.
    private func directoryOptions(_ directory: InodeID) throws(CrashStateError) -> [DirectoryOption] {
        guard let inode = model.directories[directory] else { return [] }
        let pending = inode.pending
        let shared = pending.map { model.crossDirectoryOps[$0.id] != nil }

        func option(including included: (Int) -> Bool) -> DirectoryOption {
            var table = inode.persisted
            var decisions: [Int: Bool] = [:]
            for (index, op) in pending.enumerated() {
                let isIncluded = included(index)
                if isIncluded { op.change.apply(to: &table) }
                if shared[index] { decisions[op.id] = isIncluded }
            }
            return DirectoryOption(table: table, sharedDecisions: decisions)
        }

        switch ordering {
        case .prefix:
            return (0...pending.count).map { count in option { $0 < count } }
        case let .anySubset(limit):
            guard pending.count <= limit else {
                throw .tooManyPendingDirectoryOperations(
                    directory: model.currentPath(of: directory) ?? "<unreachable directory>",
                    count: pending.count, limit: limit, crashPoint: crashPoint)
            }
            return (0..<(1 << pending.count)).map { mask in option { mask & (1 << $0) != 0 } }
        }
    }

    /// Combines two directories' decisions on shared renames, or nil if they
    /// disagree (a rename visible in one directory but not the other).
    private func merge(_ decisions: [Int: Bool], _ more: [Int: Bool]) -> [Int: Bool]? {
        var merged = decisions
        for (id, included) in more {
            if let earlier = merged[id], earlier != included { return nil }
            merged[id] = included
        }
        return merged
    }

    /// The reachable shape of one combination of tables.
    struct Tree {
        var directories: Set<String> = []
        var files: [(path: String, inode: InodeID)] = []
    }

    /// Walks from the root through the chosen tables; whatever is not reached
    /// has no surviving name and is gone.
    private func walk(_ tables: [InodeID: [String: InodeID]]) -> Tree {
        var tree = Tree()
        var visited: Set<InodeID> = [FileSystemModel.root]
        var stack: [(inode: InodeID, path: String)] = [(FileSystemModel.root, "")]
        while let entry = stack.popLast() {
            let (directory, prefix) = (entry.inode, entry.path)
            let table = tables[directory] ?? [:]
            for name in table.keys.sorted() {
                guard let inode = table[name] else { continue }
                let path = prefix.isEmpty ? name : prefix + "/" + name
                if model.directories[inode] != nil {
                    // A directory can only have one name; the visited set just
                    // guarantees termination should a subset ever alias one.
                    guard visited.insert(inode).inserted else { continue }
                    tree.directories.insert(path)
                    stack.append((inode, path))
                } else {
                    tree.files.append((path, inode))
                }
            }
        }
        return tree
    }
}
