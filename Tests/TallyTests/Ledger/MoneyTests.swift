import Testing
@testable import Tally

@Suite("Money: exact decimal amounts by ISO 4217 exponent, never rounded")
struct MoneyTests {
    private func minor(_ text: String, _ currency: String) throws -> Int64 {
        try Money(parsing: text, currency: currency).minorUnits
    }

    /// The reason of an invalidInput error, or nil when parsing succeeded or failed otherwise.
    private func reason(_ text: String, _ currency: String) -> String? {
        do {
            _ = try Money(parsing: text, currency: currency)
            return nil
        } catch {
            if case let .invalidInput(_, reason) = error { return reason }
            return nil
        }
    }

    @Test("exponents follow ISO 4217: JPY 0, EUR 2, the dinars 3, CLF 4")
    func exponents() throws {
        #expect(try Money.exponent(for: "JPY") == 0)
        #expect(try Money.exponent(for: "KRW") == 0)
        #expect(try Money.exponent(for: "EUR") == 2)
        #expect(try Money.exponent(for: "USD") == 2)
        for code in ["BHD", "KWD", "OMR", "TND", "JOD", "IQD", "LYD"] {
            #expect(try Money.exponent(for: code) == 3, "\(code)")
        }
        #expect(try Money.exponent(for: "CLF") == 4)
        #expect(throws: TallyError.self) { try Money.exponent(for: "eur") }
        #expect(throws: TallyError.self) { try Money.exponent(for: "EURO") }
        #expect(throws: TallyError.self) { try Money.exponent(for: "ABC") }
        #expect(throws: TallyError.self) { try Money.exponent(for: "XAU") }
    }

    @Test("decimal text becomes exact minor units")
    func parsing() throws {
        #expect(try minor("12.50", "EUR") == 1250)
        #expect(try minor("12.5", "EUR") == 1250)
        #expect(try minor("12", "EUR") == 1200)
        #expect(try minor("0.01", "EUR") == 1)
        #expect(try minor("0.10", "EUR") == 10)  // what Double gets wrong in sums
        #expect(try minor("007.05", "EUR") == 705)
        #expect(try minor("500", "JPY") == 500)
        #expect(try minor("1.250", "BHD") == 1250)
        #expect(try minor("1.5", "KWD") == 1500)
        #expect(try minor("0.0001", "CLF") == 1)
        #expect(try Money(parsing: "12.50 EUR") == Money(minorUnits: 1250, currency: "EUR"))
    }

    @Test("negative amounts, zero and -0")
    func negatives() throws {
        #expect(try minor("-12.50", "EUR") == -1250)
        #expect(try minor("-0.01", "EUR") == -1)
        #expect(try minor("-500", "JPY") == -500)
        #expect(try minor("0", "EUR") == 0)
        #expect(try minor("-0", "EUR") == 0)
    }

    @Test("malformed text is refused with a reason that says what to write")
    func malformed() throws {
        #expect(reason("12.", "EUR")?.contains("decimal point") == true)
        #expect(reason(".5", "EUR")?.contains("0.5") == true)
        #expect(reason("-.5", "EUR")?.contains("-0.5") == true)
        #expect(reason("1e3", "EUR")?.contains("exponents") == true)
        #expect(reason("+5", "EUR") != nil)
        #expect(reason("", "EUR")?.contains("empty") == true)
        #expect(reason("-", "EUR") != nil)
        #expect(reason("1,000.00", "EUR") != nil)
        #expect(reason(" 12", "EUR") != nil)
        #expect(reason("12 ", "EUR") != nil)
        #expect(reason("1.2.3", "EUR") != nil)
        #expect(reason("١٢", "EUR") != nil)  // other scripts' digits are not ASCII digits
        #expect(reason("12.50EUR", "EUR") != nil)
    }

    @Test("more decimals than the currency has is an error, never rounding")
    func tooManyDecimals() throws {
        let eur = try #require(reason("12.345", "EUR"))
        #expect(eur.contains("12.345"))
        #expect(eur.contains("EUR has 2 decimals"))
        #expect(reason("12.500", "EUR")?.contains("EUR has 2 decimals") == true)
        #expect(reason("1.5", "JPY")?.contains("JPY has no decimals") == true)
        #expect(reason("1.2345", "BHD")?.contains("BHD has 3 decimals") == true)
        #expect(reason("12.345 EUR", "EUR") != nil)
        #expect(throws: TallyError.self) { try Money(parsing: "12.345 EUR") }
        #expect(throws: TallyError.self) { try Money(parsing: "12.34") }
    }

    @Test("the Int64 range of minor units is the limit, both ways")
    func overflow() throws {
        #expect(try minor("92233720368547758.07", "EUR") == Int64.max)
        #expect(try minor("-92233720368547758.08", "EUR") == Int64.min)
        #expect(try minor("9223372036854775807", "JPY") == Int64.max)
        #expect(reason("92233720368547758.08", "EUR")?.contains("out of range") == true)
        #expect(reason("-92233720368547758.09", "EUR")?.contains("out of range") == true)
        #expect(reason("99999999999999999999999999", "JPY")?.contains("out of range") == true)
        #expect(reason("92233720368547758.1", "EUR")?.contains("out of range") == true)
    }

    @Test("formatting writes exactly the currency's number of places")
    func formatting() throws {
        #expect(Money.format(minorUnits: 1250, currency: "EUR") == "12.50")
        #expect(Money.format(minorUnits: -5, currency: "EUR") == "-0.05")
        #expect(Money.format(minorUnits: 0, currency: "EUR") == "0.00")
        #expect(Money.format(minorUnits: 500, currency: "JPY") == "500")
        #expect(Money.format(minorUnits: 1250, currency: "BHD") == "1.250")
        #expect(Money.format(minorUnits: .min, currency: "EUR") == "-92233720368547758.08")
        #expect(Money.format(minorUnits: 42, currency: "QQQ") == "42")
        #expect(try Money(parsing: "-12.5", currency: "EUR").description == "-12.50 EUR")
        for text in ["0.00", "12.34", "-0.01", "92233720368547758.07"] {
            #expect(try Money(parsing: text, currency: "EUR").decimalString == text)
        }
    }
}
