import Tally

/// Text helpers shared by the subcommands: aligned tables for people, amounts, sizes.
/// They return lines; the commands write them through ``Console``.
enum Output {
    /// The lines of `rows` under `headers`, every column but the last padded to its widest
    /// cell, each line prefixed with `indent`.
    static func table(_ headers: [String], _ rows: [[String]], indent: String = "") -> [String] {
        let widths = headers.indices.map { column in
            ([headers[column]] + rows.map { column < $0.count ? $0[column] : "" }).map(\.count).max() ?? 0
        }
        return ([headers] + rows).map { indent + line($0, widths: widths) }
    }

    /// `name  value` lines with the names padded to the widest.
    static func pairs(_ rows: [[String]]) -> [String] {
        let width = rows.map { $0.first?.count ?? 0 }.max() ?? 0
        return rows.map { row in padded(row.first ?? "", to: width) + "  " + row.dropFirst().joined(separator: "  ") }
    }

    static func line(_ cells: [String], widths: [Int]) -> String {
        var text = cells.enumerated().map { index, cell in
            index == cells.count - 1 || index >= widths.count ? cell : padded(cell, to: widths[index])
        }.joined(separator: "  ")
        // Empty trailing cells would leave padding at the end of the line.
        while text.last == " " { text.removeLast() }
        return text
    }

    /// `text` followed by spaces up to `width` characters.
    static func padded(_ text: String, to width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
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

        mutating func append(_ row: [String]) throws(OutputFailure) {
            if let widths {
                try Console.out.line(Output.line(row, widths: widths))
                return
            }
            pending.append(row)
            if pending.count >= sample { try flush() }
        }

        /// Prints what is held back (call once at the end).
        mutating func finish() throws(OutputFailure) {
            if widths == nil { try flush() }
        }

        private mutating func flush() throws(OutputFailure) {
            let widths = headers.indices.map { column in
                ([headers[column]] + pending.map { column < $0.count ? $0[column] : "" }).map(\.count).max() ?? 0
            }
            self.widths = widths
            try Console.out.line(Output.line(headers, widths: widths))
            for row in pending { try Console.out.line(Output.line(row, widths: widths)) }
            pending = []
        }
    }

    /// `1250` minor units of EUR → `12.50 EUR`.
    static func money(_ minorUnits: Int64?, _ currency: String?) -> String {
        guard let minorUnits else { return "" }
        guard let currency else { return String(minorUnits) }
        return Money.format(minorUnits: minorUnits, currency: currency) + " " + currency
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
        guard unit > 0 else { return "\(count) B" }
        let tenths = Int64((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) \(units[unit])"
    }

    /// Printable text of user-given names and keys (control characters escaped).
    static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F { out += "\\u{\(String(scalar.value, radix: 16))}" } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }
}

extension String {
    /// The string right-aligned in `width` columns, for amounts in tables.
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
