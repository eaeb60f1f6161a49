import Foundation
import Testing
@testable import Tally

/// Generated event ids are RFC 9562 version 7 UUIDs: time first, so appends land at the end
/// of the unique index, and strictly increasing within a process.
@Suite("Event ids: UUIDv7 text, time-ordered, strictly increasing, unique")
struct EventIDTests {
    @Test("the text is a lowercase UUID with version 7, the RFC variant and the millisecond time in front")
    func layout() throws {
        let now: Int64 = 1_764_000_000_123
        let id = EventID.generate(now: now, state: Locked(EventID.State()))
        #expect(id.range(of: #"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"#, options: .regularExpression) != nil, "\(id)")
        let timeHex = String(id.replacingOccurrences(of: "-", with: "").prefix(12))
        #expect(Int64(timeHex, radix: 16) == now)
    }

    @Test("ids of one process increase strictly, within a millisecond and across 4,096 of them in one")
    func increasing() {
        let now: Int64 = 1_800_000_000_000
        let state = Locked(EventID.State())
        var previous = EventID.generate(now: now, state: state)
        for _ in 0..<5_000 {  // more than the 12-bit counter: borrows the next millisecond
            let next = EventID.generate(now: now, state: state)
            #expect(next > previous, "\(next) ≤ \(previous)")
            previous = next
        }
        var seen = Set<String>()
        for _ in 0..<20_000 { seen.insert(EventID.generate()) }
        #expect(seen.count == 20_000)
    }

    @Test("appends without an id get one, and they sort in append order")
    func generatedByAppend() throws {
        let directory = TemporaryDirectory("tally-ids")
        let store = try Store(path: directory.file("ids.db"))
        let events = try store.ledger.append(contentsOf: (0..<300).map { _ in NewEvent(stream: "s", kind: "k") })
        #expect(events.map(\.eventID) == events.map(\.eventID).sorted())
    }
}
