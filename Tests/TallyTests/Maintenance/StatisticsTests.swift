import Foundation
import Testing
@testable import Tally

@Suite("Statistics: the counts of what a store holds read alike on either engine")
struct StatisticsTests {
    @Test("signed checkpoints, the latest one's size and durable consumers are counted; none yet reads as 0 and nil",
          arguments: Backend.available)
    func checkpointsAndConsumers(backend: Backend) throws {
        let stores = TestStores(backend)
        let store = try stores.store()
        let empty = try store.statistics()
        #expect(empty.checkpoints == 0)
        #expect(empty.latestCheckpointSize == nil)
        #expect(empty.consumers == 0)

        try store.ledger.append(contentsOf: (1...3).map { NewEvent(stream: "s", kind: "tick", payload: ["n": .number(Double($0))]) })
        let key = try Checkpoint.SigningKey.generate(forLedger: store.ledgerID())
        _ = try store.signCheckpoint(with: key)
        try store.ledger.append(contentsOf: (4...5).map { NewEvent(stream: "s", kind: "tick", payload: ["n": .number(Double($0))]) })
        _ = try store.signCheckpoint(with: key)
        let billing = try store.consumer("billing")
        billing.close()
        let audit = try store.consumer("audit", stream: "s")
        audit.close()

        let counted = try store.statistics()
        #expect(counted.checkpoints == 2)
        #expect(counted.latestCheckpointSize == 5)
        #expect(counted.consumers == 2)
        #expect(counted.events == 5)
        try store.removeConsumer("audit")
        #expect(try store.statistics().consumers == 1)
    }

    @Test("statistics round-trip through JSON, and JSON from before the checkpoint and consumer counts still decodes")
    func codable() throws {
        let stores = TestStores(.sqlite)
        let store = try stores.store()
        try store.ledger.append(stream: "s", kind: "tick", payload: ["n": 1])
        let statistics = try store.statistics()
        let encoded = try JSONEncoder().encode(statistics)
        #expect(try JSONDecoder().decode(Store.Statistics.self, from: encoded) == statistics)

        var older = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        for key in ["checkpoints", "latest_checkpoint_size", "consumers"] { older[key] = nil }
        let decoded = try JSONDecoder().decode(Store.Statistics.self, from: try JSONSerialization.data(withJSONObject: older))
        #expect(decoded.events == 1)
        #expect(decoded.checkpoints == 0 && decoded.latestCheckpointSize == nil && decoded.consumers == 0)
        // Anything else missing is still an error, naming the key.
        older["events"] = nil
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(Store.Statistics.self, from: try JSONSerialization.data(withJSONObject: older))
        }
    }
}
