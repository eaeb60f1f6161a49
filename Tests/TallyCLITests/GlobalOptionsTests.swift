import Testing
@testable import tally

/// `--db` names a file or a PostgreSQL database; the CLI decides which before anything else.
@Suite("--db is taken for PostgreSQL exactly when it is a postgres URI or a libpq key=value string")
struct GlobalOptionsTests {
    private func isPostgres(_ db: String) -> Bool {
        var options = GlobalOptions()
        options.db = db
        return options.isPostgres
    }

    @Test("URIs and key=value strings are PostgreSQL; paths, even odd ones, are files", arguments: [
        ("postgresql:///tally?host=/tmp/pg", true),
        ("postgres://user@db.example/tally", true),
        ("host=/tmp/pg dbname=tally", true),
        ("dbname=tally", true),
        ("host=/tmp/pg port=5432", true),
        ("host=/tmp/pg", false),  // one word: a file of that name
        ("tally.db", false),
        ("/var/lib/app/ledger.db", false),
        ("postgresql:", false),
        ("./postgresql://x", false),
        ("my dbname=notes.db", true),  // contains dbname=, as libpq would read it
        ("", false),
        ("é dbname=ünïcode", true),
    ])
    func classification(_ db: String, _ expected: Bool) {
        #expect(isPostgres(db) == expected, "\(db)")
    }
}
