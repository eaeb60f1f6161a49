/// How many decimal places each ISO 4217 currency has: the exponent that turns an amount
/// into minor units (EUR 2: 12.50 EUR = 1250 cents; JPY 0; BHD 3; CLF 4).
///
/// The table holds the active ISO 4217 codes (list 1, 2024/2025 amendments included).
/// Codes that ISO lists without a minor unit (gold, SDR, testing codes) are refused rather
/// than guessed, and so are codes the table does not know: a wrong exponent would silently
/// scale an amount by a power of ten, which is worse than asking.
enum CurrencyExponent {
    /// Codes whose exponent is not 2.
    static let nonDefault: [String: Int] = [
        // No minor unit in use.
        "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
        "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
        // Thousandths (fils, baisa, millime, dirham).
        "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
        // Units of account with four decimals.
        "CLF": 4, "UYW": 4,
    ]

    /// Active codes with the usual two decimals.
    static let twoDecimals: Set<String> = [
        "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
        "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHE", "CHF",
        "CHW", "CNY", "COP", "COU", "CRC", "CUC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP", "ERN",
        "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HTG",
        "HUF", "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR", "KPW", "KYD", "KZT", "LAK", "LBP",
        "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK",
        "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK", "PHP",
        "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE",
        "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD",
        "TWD", "TZS", "UAH", "USD", "USN", "UYU", "UZS", "VED", "VES", "WST", "XCD", "XCG", "YER", "ZAR",
        "ZMW", "ZWG", "ZWL",
    ]

    /// Codes ISO 4217 lists with no minor unit at all ("N.A."): precious metals, SDR,
    /// bond-market units, testing and "no currency".
    static let withoutMinorUnit: Set<String> = [
        "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX",
    ]

    /// The number of decimal places of `currency`.
    ///
    /// - Throws: ``TallyError/invalidInput(field:reason:)`` when `currency` is not three
    ///   uppercase letters, is not an active ISO 4217 code, or has no minor unit.
    static func exponent(for currency: String) throws(TallyError) -> Int {
        guard currency.utf8.count == 3, currency.utf8.allSatisfy({ (0x41...0x5A).contains($0) }) else {
            throw TallyError.invalidInput(field: "currency", reason: "'\(TallyError.printable(currency))' is not an ISO 4217 code; write three uppercase letters such as EUR, USD or JPY")
        }
        if let exponent = nonDefault[currency] { return exponent }
        if twoDecimals.contains(currency) { return 2 }
        if withoutMinorUnit.contains(currency) {
            throw TallyError.invalidInput(field: "currency", reason: "\(currency) has no minor unit in ISO 4217, so a decimal amount cannot be converted; record it as a quantity instead of an amount, or pass minor units directly")
        }
        throw TallyError.invalidInput(field: "currency", reason: "\(currency) is not an active ISO 4217 currency this build knows; check the spelling, or pass the amount in minor units directly")
    }
}

/// An exact amount of money: integer minor units of an ISO 4217 currency.
///
/// Parsing is exact decimal arithmetic on the digits (never `Double`, which cannot hold
/// 0.10): `Money(parsing: "12.50", currency: "EUR")` is 1250 minor units, and
/// `"12.345"` in EUR is refused because EUR has two decimals — Tally never rounds money.
///
/// Accepted text: an optional `-`, one or more digits, and optionally `.` followed by one
/// to `exponent` digits. Refused: `12.` and `.5` (write `12` and `0.5`), exponents (`1e3`),
/// signs other than `-`, grouping separators, spaces, and values beyond `Int64` minor units.
public struct Money: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The amount in minor units (cents for EUR), signed.
    public let minorUnits: Int64
    /// The ISO 4217 code.
    public let currency: String

    /// An amount already in minor units.
    ///
    /// - Throws: ``TallyError/invalidInput(field:reason:)`` for a currency
    ///   ``Money/exponent(for:)`` does not accept.
    public init(minorUnits: Int64, currency: String) throws(TallyError) {
        _ = try CurrencyExponent.exponent(for: currency)
        self.minorUnits = minorUnits
        self.currency = currency
    }

    /// Parses a decimal amount such as `12.50` in `currency`.
    ///
    /// - Throws: ``TallyError/invalidInput(field:reason:)`` naming the text and, for too
    ///   many decimals, how many the currency has.
    public init(parsing text: String, currency: String) throws(TallyError) {
        let exponent = try CurrencyExponent.exponent(for: currency)
        self.minorUnits = try Self.minorUnits(of: text, exponent: exponent, currency: currency)
        self.currency = currency
    }

    /// Parses an amount and its currency separated by one space, such as `12.50 EUR`.
    ///
    /// - Throws: ``TallyError/invalidInput(field:reason:)``.
    public init(parsing text: String) throws(TallyError) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw TallyError.invalidInput(field: "amount", reason: "'\(TallyError.printable(text))' is not an amount and a currency; write it like '12.50 EUR'")
        }
        try self.init(parsing: String(parts[0]), currency: String(parts[1]))
    }

    /// The amount as a decimal with exactly the currency's number of places, e.g. `-12.50`.
    public var decimalString: String {
        Self.decimalString(minorUnits: minorUnits, exponent: (try? CurrencyExponent.exponent(for: currency)) ?? 0)
    }

    /// The number of decimal places of `currency`: the exponent that turns an amount into
    /// minor units (EUR 2: 12.50 EUR = 1250 cents; JPY 0; BHD 3; CLF 4).
    ///
    /// The table holds the active ISO 4217 codes (list 1, 2024/2025 amendments included).
    /// Codes ISO lists without a minor unit (gold, SDR, testing codes) are refused rather
    /// than guessed, and so are codes the table does not know: a wrong exponent would
    /// silently scale an amount by a power of ten, which is worse than asking.
    ///
    /// - Throws: ``TallyError/invalidInput(field:reason:)`` when `currency` is not three
    ///   uppercase letters, is not an active ISO 4217 code, or has no minor unit.
    public static func exponent(for currency: String) throws(TallyError) -> Int {
        try CurrencyExponent.exponent(for: currency)
    }

    /// `12.50 EUR`.
    public var description: String { "\(decimalString) \(currency)" }

    /// Formats minor units of `currency` as a decimal (`1250`, `EUR` → `12.50`). Falls back
    /// to the bare integer for a currency without a known exponent, so a ledger written by
    /// other tools still prints.
    public static func format(minorUnits: Int64, currency: String) -> String {
        guard let exponent = try? CurrencyExponent.exponent(for: currency) else { return String(minorUnits) }
        return decimalString(minorUnits: minorUnits, exponent: exponent)
    }

    static func decimalString(minorUnits: Int64, exponent: Int) -> String {
        let negative = minorUnits < 0
        // magnitude, not negation: -Int64.min does not exist.
        var digits = String(minorUnits.magnitude)
        guard exponent > 0 else { return (negative ? "-" : "") + digits }
        if digits.count <= exponent { digits = String(repeating: "0", count: exponent - digits.count + 1) + digits }
        let split = digits.index(digits.endIndex, offsetBy: -exponent)
        return (negative ? "-" : "") + digits[..<split] + "." + digits[split...]
    }

    static func minorUnits(of text: String, exponent: Int, currency: String) throws(TallyError) -> Int64 {
        func refuse(_ why: String) -> TallyError {
            .invalidInput(field: "amount", reason: "'\(TallyError.printable(text))' \(why)")
        }
        var bytes = Array(text.utf8)[...]
        let negative = bytes.first == UInt8(ascii: "-")
        if negative { bytes = bytes.dropFirst() }
        let isDigit = { (byte: UInt8) in (0x30...0x39).contains(byte) }
        let whole = bytes.prefix(while: isDigit)
        var rest = bytes.dropFirst(whole.count)
        var fraction: ArraySlice<UInt8> = []
        if rest.first == UInt8(ascii: ".") {
            rest = rest.dropFirst()
            fraction = rest.prefix(while: isDigit)
            rest = rest.dropFirst(fraction.count)
            guard !fraction.isEmpty || !rest.isEmpty else {
                throw refuse("ends with a decimal point; write it without the point or with digits after it (e.g. 12 or 12.00)")
            }
        }
        guard !whole.isEmpty else {
            if text.isEmpty { throw refuse("is empty; write a decimal amount such as 12.50") }
            if bytes.first == UInt8(ascii: "."), rest.isEmpty, !fraction.isEmpty {
                throw refuse("has no digit before the decimal point; write \(negative ? "-" : "")0\(String(decoding: bytes, as: UTF8.self)) instead")
            }
            throw refuse("is not a decimal amount; write digits with an optional '-' and '.', such as 12.50 or -3")
        }
        guard rest.isEmpty else {
            throw refuse("is not a plain decimal amount (only digits, an optional leading '-' and one '.' are allowed; no exponents, '+', spaces or separators); write it like 1000.00")
        }
        guard fraction.count <= exponent else {
            let places = exponent == 0 ? "no decimals" : exponent == 1 ? "1 decimal" : "\(exponent) decimals"
            throw refuse("has \(fraction.count) decimal places but \(currency) has \(places); Tally does not round money, so give at most \(exponent) place\(exponent == 1 ? "" : "s")")
        }
        // Accumulate the magnitude as UInt64 so Int64.min (whose magnitude exceeds
        // Int64.max) is representable for negative amounts.
        var magnitude: UInt64 = 0
        let padding = exponent - fraction.count
        for byte in whole + fraction {
            let (times, overflowA) = magnitude.multipliedReportingOverflow(by: 10)
            let (plus, overflowB) = times.addingReportingOverflow(UInt64(byte - 0x30))
            guard !overflowA, !overflowB else { throw refuse(Self.rangeMessage(currency: currency, exponent: exponent)) }
            magnitude = plus
        }
        for _ in 0..<padding {
            let (times, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            guard !overflow else { throw refuse(Self.rangeMessage(currency: currency, exponent: exponent)) }
            magnitude = times
        }
        let limit = negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
        guard magnitude <= limit else { throw refuse(Self.rangeMessage(currency: currency, exponent: exponent)) }
        if negative {
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        return Int64(magnitude)
    }

    private static func rangeMessage(currency: String, exponent: Int) -> String {
        "is out of range: amounts are stored as 64-bit minor units, at most \(decimalString(minorUnits: .max, exponent: exponent)) \(currency) in magnitude"
    }
}
