import Foundation

/// RFC 3339 UTC timestamps with milliseconds (`2026-11-23T08:30:20.249Z`), the one time
/// format in the schema. Lexicographic order equals time order.
enum Timestamp {
    /// Now, formatted.
    static func now() -> String { format(Date()) }

    /// `date` formatted; built by hand because ISO8601DateFormatter is slow on hot paths.
    static func format(_ date: Date) -> String {
        var seconds = time_t(floor(date.timeIntervalSince1970))
        var millis = Int((date.timeIntervalSince1970 - Double(seconds)) * 1000)
        if millis >= 1000 { seconds += 1; millis -= 1000 }
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return pad(parts.tm_year + 1900, 4) + "-" + pad(parts.tm_mon + 1, 2) + "-" + pad(parts.tm_mday, 2)
            + "T" + pad(parts.tm_hour, 2) + ":" + pad(parts.tm_min, 2) + ":" + pad(parts.tm_sec, 2)
            + "." + pad(Int32(millis), 3) + "Z"
    }

    /// True when `text` has exactly the shape `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 24 else { return false }
        for (index, byte) in bytes.enumerated() {
            switch index {
            case 4, 7: if byte != UInt8(ascii: "-") { return false }
            case 10: if byte != UInt8(ascii: "T") { return false }
            case 13, 16: if byte != UInt8(ascii: ":") { return false }
            case 19: if byte != UInt8(ascii: ".") { return false }
            case 23: if byte != UInt8(ascii: "Z") { return false }
            default: if !(0x30...0x39).contains(byte) { return false }
            }
        }
        return true
    }
}
