import Foundation

/// SplitMix64: a tiny seeded generator, so randomized tests replay exactly from a seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension SeededGenerator {
    /// The generator of a randomized loop: seeded from `TALLY_SEED` when it is set, else from
    /// a fresh random seed, which is printed under `label` with `detail` and how to rerun it.
    static func announced(_ label: String, _ detail: String) -> (generator: SeededGenerator, seed: UInt64) {
        let seed = ProcessInfo.processInfo.environment["TALLY_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...1_000_000)
        print("\(label): seed \(seed) (rerun with TALLY_SEED=\(seed)), \(detail)")
        return (SeededGenerator(seed: seed), seed)
    }
}
