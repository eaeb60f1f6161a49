/// Event ids Tally generates when the caller gives none: UUID version 7 (RFC 9562 §5.7),
/// lowercase text.
///
/// A v7 UUID starts with the Unix time in milliseconds, so consecutive appends insert next
/// to each other at the end of the `event_id` UNIQUE index, instead of dirtying a random
/// page of it for every event as random (v4) UUIDs do. Within one millisecond the 12-bit
/// `rand_a` field counts up (RFC 9562 §6.2, method 1), so ids of one process are strictly
/// increasing; the 62-bit tail is random, so processes never collide in practice.
enum EventID {
    /// The last millisecond and counter handed out, and a buffer of CSPRNG bytes (RFC 9562
    /// §6.9 asks for a CSPRNG): refilled 512 bytes at a time, so an id costs no system call.
    struct State {
        var milliseconds: Int64 = 0
        var counter: UInt16 = 0
        var random = [UInt8](repeating: 0, count: 512)
        var used = 512

        mutating func next16() -> UInt16 {
            UInt16(take()) << 8 | UInt16(take())
        }

        mutating func next64() -> UInt64 {
            var value: UInt64 = 0
            for _ in 0..<8 { value = value << 8 | UInt64(take()) }
            return value
        }

        private mutating func take() -> UInt8 {
            if used == random.count {
                var generator = SystemRandomNumberGenerator()
                for index in stride(from: 0, to: random.count, by: 8) {
                    let word = generator.next() as UInt64
                    for offset in 0..<8 { random[index + offset] = UInt8(truncatingIfNeeded: word >> (8 * offset)) }
                }
                used = 0
            }
            used += 1
            return random[used - 1]
        }
    }

    /// The process's generator state.
    private static let shared = Locked(State())
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// A new, strictly increasing (within this process) UUIDv7 string.
    static func generate(now: Int64 = Int64((Clock.secondsSince1970() * 1000).rounded(.down)),
                         state: Locked<State> = shared) -> String {
        let (milliseconds, counter, tail) = state.withLock { value -> (Int64, UInt16, UInt64) in
            if now > value.milliseconds {
                // A fresh millisecond starts the counter at a random point in its lower half,
                // leaving room to count up before the millisecond ends.
                value.milliseconds = now
                value.counter = value.next16() & 0x7FF
            } else if value.counter < 0xFFF {
                value.counter += 1
            } else {
                // 4,096 ids in one millisecond: borrow the next millisecond, as RFC 9562 allows.
                value.milliseconds += 1
                value.counter = 0
            }
            return (value.milliseconds, value.counter, value.next64())
        }
        var bytes: (UInt64, UInt64) = (0, 0)
        bytes.0 = UInt64(truncatingIfNeeded: milliseconds) << 16 | 0x7000 | UInt64(counter & 0x0FFF)
        bytes.1 = 0x8000_0000_0000_0000 | (tail & 0x3FFF_FFFF_FFFF_FFFF)
        // 8-4-4-4-12 lowercase hex, written straight into the string's storage.
        return String(unsafeUninitializedCapacity: 36) { out in
            var position = 0
            func put(_ word: UInt64, nibbles: ClosedRange<Int>) {
                for nibble in nibbles.reversed() {
                    out[position] = hexDigits[Int(word >> UInt64(4 * nibble) & 0xF)]
                    position += 1
                }
            }
            put(bytes.0, nibbles: 8...15)
            out[position] = UInt8(ascii: "-"); position += 1
            put(bytes.0, nibbles: 4...7)
            out[position] = UInt8(ascii: "-"); position += 1
            put(bytes.0, nibbles: 0...3)
            out[position] = UInt8(ascii: "-"); position += 1
            put(bytes.1, nibbles: 12...15)
            out[position] = UInt8(ascii: "-"); position += 1
            put(bytes.1, nibbles: 0...11)
            return position
        }
    }
}
