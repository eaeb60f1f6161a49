import Foundation
import Testing
@testable import Tally

@Suite("Statement: binding and reading values")
struct StatementTests {
    let db: SQLiteConnection

    init() throws {
        db = try SQLiteConnection(path: ":memory:")
        try db.execute("CREATE TABLE t (v ANY) STRICT")
    }

    private func roundTrip(_ value: some SQLiteBindable) throws -> SQLiteValue {
        try db.execute("DELETE FROM t")
        try db.execute("INSERT INTO t (v) VALUES (?)", [value])
        return try #require(try db.scalar("SELECT v FROM t"))
    }

    @Test("integers round-trip, including Int64.min and Int64.max")
    func integers() throws {
        for value: Int64 in [0, 1, -1, .min, .max] {
            #expect(try roundTrip(value) == .integer(value))
        }
    }

    @Test("doubles round-trip exactly")
    func doubles() throws {
        for value in [0.0, -0.5, 1e300, Double.leastNonzeroMagnitude, .pi] {
            #expect(try roundTrip(value) == .real(value))
        }
    }

    @Test("text round-trips: unicode, empty (not NULL), embedded NUL")
    func text() throws {
        for value in ["héllo wörld", "€ 🧾 \u{1F600}", "", "a\u{0}b"] {
            #expect(try roundTrip(value) == .text(value))
        }
        #expect(try db.scalarInt("SELECT v IS NULL FROM t") == 0)
    }

    @Test("texts bound in place round-trip (unicode, empty, NUL, bytes, 1 MB) and leave no parameter bound after the run")
    func textsBoundInPlace() throws {
        try db.execute("CREATE TABLE w (a ANY, b ANY, c ANY, d ANY, e ANY, f ANY) STRICT")
        let insert = try db.prepareSQLite("INSERT INTO w VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        let large = String(repeating: "é", count: 500_000)  // 1 MB: past any stack buffer
        let bytes = Array("{\"k\":1}".utf8)
        try bytes.withBytes { (payload) throws(TallyError) in
            try insert.withTexts([
                (1, .string("€ 🧾 \u{1F600}")), (2, .string("")), (3, .string(nil)), (4, .string("a\u{0}b")),
                (5, .utf8(payload)), (6, .string(large)),
            ]) { () throws(TallyError) in try insert.run() }
        }
        let rows = try db.rows("SELECT a, b, c, d, e, f FROM w")
        #expect(rows == [[.text("€ 🧾 \u{1F600}"), .text(""), .null, .text("a\u{0}b"), .text("{\"k\":1}"), .text(large)]])
        // Every parameter is NULL again: running the statement as it is inserts NULLs.
        try insert.run()
        #expect(try db.scalarInt("SELECT count(*) FROM w WHERE a IS NULL AND b IS NULL AND e IS NULL AND f IS NULL") == 1)
    }

    @Test("texts bound in place for a parameter the statement lacks: a range error, nothing run, nothing left bound")
    func textsBoundInPlaceRefused() throws {
        try db.execute("CREATE TABLE w2 (a ANY) STRICT")
        let insert = try db.prepareSQLite("INSERT INTO w2 VALUES (?1)")
        var ran = false
        let error = try #require(throws: TallyError.self) {
            try insert.withTexts([(1, .string("kept?")), (2, .string("no such parameter"))]) { () throws(TallyError) in
                ran = true
                try insert.run()
            }
        }
        #expect(error.sqliteError?.code == .range)
        #expect(!ran)
        try insert.run()
        #expect(try db.rows("SELECT a FROM w2") == [[.null]])
    }

    @Test("blobs round-trip, including NUL bytes and the empty blob")
    func blobs() throws {
        for value: [UInt8] in [[0, 1, 0, 255, 0], [], [UInt8](repeating: 0, count: 1000)] {
            #expect(try roundTrip(value) == .blob(value))
        }
        #expect(try db.scalarText("SELECT typeof(v) FROM t") == "blob")
    }

    @Test("nil optionals bind NULL")
    func nulls() throws {
        let missing: String? = nil
        #expect(try roundTrip(missing) == .null)
        #expect(try roundTrip(SQLiteValue.null) == .null)
    }

    @Test("named parameters bind by name; an unknown name is an error")
    func namedParameters() throws {
        let statement = try db.prepareSQLite("SELECT :a || @b || $c")
        try statement.bind("x", named: ":a")
        try statement.bind(2, named: "@b")
        try statement.bind(3.5, named: "$c")
        #expect(try statement.step())
        #expect(statement.string(0) == "x23.5")
        #expect(throws: TallyError.self) { try statement.bind(1, named: ":nope") }
    }

    @Test("typed column reads")
    func typedReads() throws {
        let statement = try db.prepare("SELECT 42, 2.5, 'txt', x'00ff', NULL")
        #expect(try statement.step())
        #expect(statement.int64(0) == 42)
        #expect(statement.double(1) == 2.5)
        #expect(statement.string(2) == "txt")
        #expect(statement.bytes(3) == [0, 255])
        #expect(statement.isNull(4))
        #expect(statement.optionalString(4) == nil)
        #expect(statement.columnCount == 5)
        #expect(try statement.step() == false)
    }

    @Test("the wrong number of arguments is refused before running")
    func argumentCount() throws {
        #expect(throws: TallyError.self) { try db.execute("INSERT INTO t (v) VALUES (?)", []) }
    }

    @Test("two statements in one prepare are refused, not silently truncated")
    func oneStatementOnly() throws {
        #expect(throws: TallyError.self) { _ = try db.prepare("SELECT 1; DELETE FROM t") }
    }

    @Test("a finalized statement throws instead of crashing")
    func finalized() throws {
        let statement = try db.prepare("SELECT 1")
        statement.finalize()
        #expect(throws: TallyError.self) { try statement.step() }
    }

    @Test("cached statements are reused and come back reset")
    func cache() throws {
        let first = try db.cachedStatement("SELECT ?")
        try first.bind(7, at: 1)
        #expect(try first.step())
        let second = try db.cachedStatement("SELECT ?")
        #expect(first === second)
        #expect(try second.step())
        #expect(second.isNull(0))
    }

    @Test("Tally's own statements have a cache of their own: a full public cache never evicts them")
    func internalCache() throws {
        let directory = TemporaryDirectory("tally-statements")
        let connection = try SQLiteConnection(path: directory.file("c.db"))
        var configuration = SQLiteConnection.Configuration()
        configuration.statementCacheCapacity = 1
        try connection.configure(configuration)

        let own = InternalSQL("SELECT ? + 1")
        let first = try connection.statement(own)
        try first.bind(1, at: 1)
        #expect(try first.step())
        #expect(first.int64(0) == 2)
        for index in 0..<5 { _ = try connection.cachedStatement("SELECT \(index)") }  // the public cache turns over
        let again = try connection.statement(own)
        #expect(first === again)
        #expect(try again.step())
        #expect(again.isNull(0), "an internal statement comes back with its bindings cleared")

        let publicFirst = try connection.cachedStatement("SELECT 'a'")
        _ = try connection.cachedStatement("SELECT 'b'")
        #expect(try connection.cachedStatement("SELECT 'a'") !== publicFirst, "capacity 1: the public cache evicted it")
    }
}
