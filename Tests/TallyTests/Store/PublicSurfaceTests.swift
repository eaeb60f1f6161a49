import Foundation
import Testing

/// The library promises a small public surface, listed on the documentation's landing page.
/// This keeps the list and the code in step: a new public type must be named there (and
/// counted), and the count stays at or under 30.
@Suite("Public surface: every public top-level type is listed on the landing page, and there are at most 30")
struct PublicSurfaceTests {
    @Test("the landing page lists exactly the public top-level types of Sources/Tally")
    func landingPageMatchesCode() throws {
        let sources = packageRoot.appendingPathComponent("Sources/Tally")
        var declared = Set<String>()
        let pattern = try NSRegularExpression(pattern: #"^public (?:final class|class|struct|enum|protocol|actor|typealias) ([A-Za-z0-9_]+)"#,
                                              options: .anchorsMatchLines)
        let files = FileManager.default.enumerator(atPath: sources.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                if let range = Range(match.range(at: 1), in: text) { declared.insert(String(text[range])) }
            }
        }
        let landing = try String(contentsOf: sources.appendingPathComponent("Tally.docc/Tally.md"), encoding: .utf8)
        let sentence = try #require(landing.range(of: "Tally's public surface is these "))
        let rest = landing[sentence.upperBound...]
        let count = Int(rest.prefix { $0.isNumber }) ?? -1
        let end = try #require(rest.range(of: "(plus the"))
        let listed = Set(rest[..<end.lowerBound].components(separatedBy: "``").enumerated().filter { $0.offset % 2 == 1 }.map(\.element))
        #expect(listed == declared, "listed but not public: \(listed.subtracting(declared)); public but not listed: \(declared.subtracting(listed))")
        #expect(count == declared.count)
        #expect(declared.count <= 30)
    }
}
