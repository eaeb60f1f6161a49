import Foundation
import Testing
@testable import Tally

@Suite("Timestamps: RFC 3339 UTC with milliseconds")
struct TimestampTests {
    @Test("known instants format exactly, and the shape check agrees")
    func known() {
        #expect(Timestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1_767_323_045.678)) == "2026-01-02T03:04:05.678Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 951_782_400.999)) == "2000-02-29T00:00:00.999Z")
        #expect(Timestamp.isValid(Timestamp.now()))
        for bad in ["", "2026-01-02T03:04:05Z", "2026-01-02 03:04:05.678Z", "2026-01-02T03:04:05.678+00:00", "yesterday"] {
            #expect(!Timestamp.isValid(bad), "\(bad)")
        }
    }
}
