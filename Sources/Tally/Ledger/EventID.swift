/// Event ids Tally generates when the caller gives none: UUID version 7 (RFC 9562 §5.7),
/// lowercase text.
///
/// A v7 UUID starts with the Unix time in milliseconds, so consecutive appends insert next
/// to each other at the end of the `event_id` UNIQUE index, instead of dirtying a random
/// page of it for every event as random (v4) UUIDs do. Within one millisecond the 12-bit
/// `rand_a` field counts up (RFC 9562 §6.2, method 1), so ids of one process are strictly
/// increasing; the 62-bit tail is random, so processes never collide in practice.
enum EventID {
    private static let state = Locked((milliseconds: Int64(0), counter: UInt16(0)))

    /// A new, strictly increasing (within this process) UUIDv7 string.
    static func generate(now: Int64 = Int64((Clock.secondsSince1970() * 1000).rounded(.down))) -> String {
        var random = SystemRandomNumberGenerator()
        let (milliseconds, counter) = state.withLock { value -> (Int64, UInt16) in
            if now > value.milliseconds {
                // A fresh millisecond starts the counter at a random point in its lower half,
                // leaving room to count up before the millisecond ends.
                value = (now, UInt16(truncatingIfNeeded: random.next(upperBound: UInt32(0x800))))
            } else if value.counter < 0xFFF {
                value.counter += 1
            } else {
                // 4,096 ids in one millisecond: borrow the next millisecond, as RFC 9562 allows.
                value = (value.milliseconds + 1, 0)
            }
            return value
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> (40 - 8 * index)) }
        bytes[6] = 0x70 | UInt8(counter >> 8)
        bytes[7] = UInt8(truncatingIfNeeded: counter)
        let tail = random.next() as UInt64
        for index in 8..<16 { bytes[index] = UInt8(truncatingIfNeeded: tail >> (8 * (15 - index))) }
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        let hex = Digest.hexString(bytes)
        let characters = Array(hex)
        return String(characters[0..<8]) + "-" + String(characters[8..<12]) + "-" + String(characters[12..<16]) + "-"
            + String(characters[16..<20]) + "-" + String(characters[20..<32])
    }
}
