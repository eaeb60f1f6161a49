import Foundation
import Testing
@testable import Tally

@Suite("Store configuration: values no store can work with are refused by name before anything is opened")
struct StoreConfigurationTests {
    /// One configuration that must be refused, and the property its error names.
    struct Refused: Sendable, CustomTestStringConvertible {
        let property: String
        let change: @Sendable (inout Store.Configuration) -> Void
        let label: String

        var testDescription: String { label }

        static let all: [Refused] = [
            Refused(property: "busyTimeout", change: { $0.busyTimeout = .nan }, label: "busyTimeout NaN"),
            Refused(property: "busyTimeout", change: { $0.busyTimeout = -1 }, label: "busyTimeout -1"),
            Refused(property: "busyTimeout", change: { $0.busyTimeout = .infinity }, label: "busyTimeout infinity"),
            Refused(property: "maximumReaders", change: { $0.maximumReaders = 0 }, label: "maximumReaders 0"),
            Refused(property: "maximumReaders", change: { $0.maximumReaders = -3 }, label: "maximumReaders -3"),
            Refused(property: "maximumPayloadBytes", change: { $0.maximumPayloadBytes = 1 }, label: "maximumPayloadBytes 1"),
            Refused(property: "maximumDocumentBytes", change: { $0.maximumDocumentBytes = -8 }, label: "maximumDocumentBytes -8"),
        ]
    }

    @Test("a value no store can work with is refused with the property's name, and no database is created",
          arguments: Backend.available, Refused.all)
    func refused(backend: Backend, case refused: Refused) throws {
        let stores = TestStores(backend)
        var configuration = Store.Configuration()
        refused.change(&configuration)
        let error = try #require(throws: TallyError.self) { _ = try stores.store("refused", configuration: configuration) }
        guard case let .invalidInput(field, reason) = error else {
            Issue.record("expected invalidInput, got \(error)")
            return
        }
        #expect(field == "Store.Configuration.\(refused.property)")
        #expect(reason.contains("the default is"), "\(reason)")
        if backend == .sqlite {
            #expect(!FileManager.default.fileExists(atPath: stores.directory.file("refused.db")))
        } else {
            #expect(try stores.raw("refused").scalarInt("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()") == 0)
        }
    }

    @Test("the smallest values that work, and a busy timeout too large to count in milliseconds, open a store that writes",
          arguments: Backend.available)
    func edgesThatWork(backend: Backend) throws {
        let stores = TestStores(backend)
        var configuration = Store.Configuration()
        configuration.busyTimeout = 1e300
        configuration.maximumReaders = 1
        configuration.maximumPayloadBytes = 2
        configuration.maximumDocumentBytes = 2
        let store = try stores.store("edges", configuration: configuration)
        try store.ledger.append(stream: "s", kind: "k")
        try store.state.put("k", body: [:])
        #expect(throws: TallyError.self) { try store.state.put("k", body: ["a": 1]) }
        #expect(try store.ledger.head().seq == 1)
    }
}
