import Foundation
import Tally

/// Printing helpers shared by the subcommands: aligned tables for people, JSON for programs.
enum Output {
    /// Prints `rows` under `headers` with columns padded to their widest cell.
    static func table(_ headers: [String], _ rows: [[String]]) {
        let widths = headers.indices.map { column in
            ([headers[column]] + rows.map { column < $0.count ? $0[column] : "" }).map(\.count).max() ?? 0
        }
        for line in lines(headers, rows, widths: widths) { print(line) }
    }

    /// Prints `name  value` lines with the names padded to the widest.
    static func pairs(_ rows: [[String]]) {
        let width = rows.map { $0.first?.count ?? 0 }.max() ?? 0
        for row in rows {
            print((row.first ?? "").padding(toLength: width, withPad: " ", startingAt: 0) + "  " + row.dropFirst().joined(separator: "  "))
        }
    }

    /// The lines of a table, for callers that indent or collect them.
    static func tableLines(_ headers: [String], _ rows: [[String]], indent: String = "") -> [String] {
        let widths = headers.indices.map { column in
            ([headers[column]] + rows.map { column < $0.count ? $0[column] : "" }).map(\.count).max() ?? 0
        }
        return lines(headers, rows, widths: widths).map { indent + $0 }
    }

    private static func lines(_ headers: [String], _ rows: [[String]], widths: [Int]) -> [String] {
        ([headers] + rows).map { line($0, widths: widths) }
    }

    fileprivate static func line(_ cells: [String], widths: [Int]) -> String {
        var text = cells.enumerated().map { index, cell in
            index == cells.count - 1 || index >= widths.count ? cell : cell.padding(toLength: max(widths[index], cell.count), withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
        // Empty trailing cells would leave padding at the end of the line.
        while text.last == " " { text.removeLast() }
        return text
    }

    /// Prints a value as one line of JSON with sorted keys (a JSON document, or one line of
    /// JSON Lines).
    static func json(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// Writes one line to stderr.
    static func error(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// A table printed while its rows are still being read (a cursor over a large table):
    /// column widths come from the first `sample` rows, which are held back until then;
    /// later, wider cells simply push their line out instead of re-aligning everything.
    struct StreamingTable {
        private let headers: [String]
        private let sample: Int
        private var pending: [[String]] = []
        private var widths: [Int]?

        init(_ headers: [String], sample: Int = 500) {
            self.headers = headers
            self.sample = sample
        }

        mutating func append(_ row: [String]) {
            if let widths {
                print(Output.line(row, widths: widths))
                return
            }
            pending.append(row)
            if pending.count >= sample { flush() }
        }

        /// Prints what is held back (call once at the end).
        mutating func finish() {
            if widths == nil { flush() }
        }

        private mutating func flush() {
            let widths = headers.indices.map { column in
                ([headers[column]] + pending.map { column < $0.count ? $0[column] : "" }).map(\.count).max() ?? 0
            }
            self.widths = widths
            print(Output.line(headers, widths: widths))
            for row in pending { print(Output.line(row, widths: widths)) }
            pending = []
        }
    }

    /// `1250` minor units of EUR → `12.50`.
    static func money(_ minorUnits: Int64?, _ currency: String?) -> String {
        guard let minorUnits else { return "" }
        guard let currency else { return String(minorUnits) }
        return MoneyAmount.format(minorUnits: minorUnits, currency: currency) + " " + currency
    }

    /// The first `count` characters of a hash, for tables.
    static func short(_ hash: String, _ count: Int = 12) -> String {
        String(hash.prefix(count))
    }

    /// Compact JSON cut to `limit` characters, for a table cell.
    static func clipped(_ value: JSONValue, limit: Int = 48) -> String {
        let text = value.description
        return text.count > limit ? String(text.prefix(limit - 1)) + "…" : text
    }

    /// `1 document`, `2 documents`.
    static func count(_ value: some BinaryInteger, _ noun: String) -> String {
        "\(value) \(noun)\(value == 1 ? "" : "s")"
    }

    /// `1536` → `1.5 KiB`.
    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }
}
