import Tally

/// Renders findings as an aligned text table, grouped by kind, for the reports.
enum FindingTable {
    /// The findings in ``Finding/Kind`` order (stable within a kind), as table lines with a
    /// header; empty when there are none.
    static func lines(_ findings: [Finding]) -> [String] {
        guard !findings.isEmpty else { return [] }
        let grouped = Finding.Kind.allCases.flatMap { kind in findings.filter { $0.kind == kind } }
        let rows = grouped.map { finding in
            [finding.kind.rawValue, finding.key ?? "-", finding.path ?? "-",
             finding.databaseVersion.map(String.init) ?? "-", finding.fileVersion.map(String.init) ?? "-",
             finding.detail]
        }
        return align(["KIND", "KEY", "PATH", "DB VER", "FILE VER", "DETAIL"], rows)
    }

    /// "2 missing, 1 corrupt" in kind order.
    static func countsByKind(_ findings: [Finding]) -> String {
        Finding.Kind.allCases.compactMap { kind -> String? in
            let count = findings.count(where: { $0.kind == kind })
            return count == 0 ? nil : "\(count) \(kind.rawValue)"
        }.joined(separator: ", ")
    }

    /// Pads every column but the last to its widest cell.
    static func align(_ headers: [String], _ rows: [[String]]) -> [String] {
        let widths = headers.indices.map { column in
            ([headers[column]] + rows.map { $0[column] }).map(\.count).max() ?? 0
        }
        return ([headers] + rows).map { cells in
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
        }
    }

    /// `count` and the noun, pluralized with an "s".
    static func plural(_ count: some BinaryInteger, _ noun: String) -> String {
        count == 1 ? "1 \(noun)" : "\(count) \(noun)s"
    }
}
