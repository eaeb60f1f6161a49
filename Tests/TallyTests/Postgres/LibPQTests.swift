import Foundation
import Testing
@testable import Tally

/// libpq is a run-time dependency of the PostgreSQL backend only: loaded on the first
/// connection, refused with a message that says what to install when it is missing.
@Suite("libpq is loaded when PostgreSQL is first used, and its absence is a clear error")
struct LibPQTests {
    @Test("a libpq the dynamic loader cannot find is an error naming the library and what to install")
    func missingLibrary() {
        let result = LibPQ.load(firstOf: ["libtally-test-no-such-libpq.so.5"])
        guard case let .failure(error) = result else {
            Issue.record("loading a library that does not exist succeeded")
            return
        }
        #expect(error.code == .sqlclientUnableToEstablishSQLConnection)
        #expect(error.message.contains("libtally-test-no-such-libpq.so.5"))
        #expect(error.message.contains("PostgreSQL needs libpq"))
        #expect(error.message.contains("Install it"))
    }

    @Test("a library that is not libpq is refused by the first function it lacks")
    func wrongLibrary() {
        #if os(macOS)
        let notLibPQ = "libsqlite3.dylib"
        #else
        let notLibPQ = "libsqlite3.so.0"
        #endif
        guard case let .failure(error) = LibPQ.load(firstOf: [notLibPQ]) else {
            Issue.record("SQLite's library was accepted as libpq")
            return
        }
        #expect(error.message.contains("has no function PQconnectdbParams"))
    }

    @Test("every function Tally calls is found in the installed libpq",
          .enabled(if: Backend.postgresURI != nil, "needs libpq, installed with the PostgreSQL test server"))
    func installedLibrary() throws {
        _ = try LibPQ.load(firstOf: LibPQ.libraryNames).get()
        _ = try LibPQ.shared()
    }
}
