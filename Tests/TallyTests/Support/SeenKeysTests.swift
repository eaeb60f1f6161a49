import Testing
@testable import Tally

@Suite("SeenKeys answers as a Set would, whether keys come in order or not")
struct SeenKeysTests {
    @Test("ascending keys, then any order: every insert and lookup agrees with a Set, over 200 random sequences")
    func agreesWithASet() {
        var random = SeededGenerator(seed: 0x5EE4_0001)
        for sequence in 0..<200 {
            var keys = SeenKeys()
            var reference = Set<String>()
            // Half the sequences stay ascending for a while (the common case), then go random.
            let ascendingFor = Int(random.next() % 60)
            var next = 0
            for step in 0..<120 {
                let key: String
                if step < ascendingFor {
                    next += Int(random.next() % 3) + 1
                    key = "k/" + String(repeating: "0", count: 6 - String(next).count) + String(next)
                } else {
                    key = "k/" + String(repeating: "0", count: 6 - String(random.next() % 200).count) + String(random.next() % 200)
                }
                let inserted = keys.insert(key)
                #expect(inserted == reference.insert(key).inserted, "sequence \(sequence), step \(step): \(key)")
                let probe = "k/" + String(repeating: "0", count: 6 - String(random.next() % 200).count) + String(random.next() % 200)
                #expect(keys.contains(probe) == reference.contains(probe), "sequence \(sequence), step \(step): contains \(probe)")
            }
        }
    }

    @Test("a key equal to the last one is not new, and neither is an earlier one after the order breaks")
    func duplicates() {
        var keys = SeenKeys()
        let added = [keys.insert("a"), keys.insert("b"), keys.insert("c"), keys.insert("c"), keys.insert("a"), keys.insert("aa")]
        #expect(added == [true, true, true, false, false, true])
        #expect(keys.contains("a") && keys.contains("aa") && !keys.contains("d"))
        #expect(!SeenKeys().contains(""))
    }
}
