import Foundation
import Testing
@testable import Tally

/// The write-open schema check compares a digest with the one this build knows, and falls back
/// to running the migrations when the digest does not settle it.
@Suite("SchemaCheck: an intact database is recognised by a known digest; anything else is compared object by object")
struct SchemaCheckTests {
    let directory = TemporaryDirectory()

    @Test("the known digests are those of the embedded migrations and the schema they create (update them when a migration changes)")
    func knownDigestsAreCurrent() throws {
        let migrator = Migrator.embedded
        let expected = try SchemaCheck.expected(upTo: migrator.latestVersion, migrator: migrator)
        let current = (version: migrator.latestVersion,
                       migrationsDigest: SchemaCheck.migrationsDigest(migrator, upTo: migrator.latestVersion),
                       schemaDigest: SchemaCheck.digest(of: expected))
        #expect(SchemaCheck.embeddedSchema.version == current.version,
                "set SchemaCheck.embeddedSchema to \(current)")
        #expect(SchemaCheck.embeddedSchema.migrationsDigest == current.migrationsDigest,
                "set SchemaCheck.embeddedSchema to \(current)")
        #expect(SchemaCheck.embeddedSchema.schemaDigest == current.schemaDigest,
                "set SchemaCheck.embeddedSchema to \(current)")
    }

    @Test("the digest of a schema changes with any field of any object, and not with the order objects are listed in")
    func digestCoversEveryField() {
        let trigger = SchemaCheck.Object(type: "trigger", name: "t", table: "ledger", sql: "CREATE TRIGGER t …")
        let table = SchemaCheck.Object(type: "table", name: "ledger", table: "ledger", sql: "CREATE TABLE ledger (…)")
        let base = SchemaCheck.digest(of: [trigger, table])
        #expect(SchemaCheck.digest(of: [table, trigger]) == base)
        var changed = trigger
        changed.sql = "CREATE TRIGGER t … "
        #expect(SchemaCheck.digest(of: [changed, table]) != base)
        changed = trigger
        changed.sql = nil
        #expect(SchemaCheck.digest(of: [changed, table]) != base)
        changed = trigger
        changed.table = "state"
        #expect(SchemaCheck.digest(of: [changed, table]) != base)
        #expect(SchemaCheck.digest(of: [table]) != base)
        // Length prefixes: moving characters from one field to the next changes the digest.
        let split1 = SchemaCheck.Object(type: "index", name: "ab", table: "c", sql: nil)
        let split2 = SchemaCheck.Object(type: "index", name: "a", table: "bc", sql: nil)
        #expect(SchemaCheck.digest(of: [split1]) != SchemaCheck.digest(of: [split2]))
    }

    @Test("an intact database has no problems; a dropped or rewritten trigger is found even though the digest shortcut is tried first")
    func shortcutNeverHidesDamage() throws {
        let path = directory.file("schema.db")
        _ = try Store(path: path)
        let db = try SQLiteConnection(path: path)
        #expect(try SchemaCheck.problems(of: db, migrator: .embedded).isEmpty)
        let trigger = try #require(try db.scalarText("SELECT name FROM sqlite_schema WHERE type = 'trigger' ORDER BY name LIMIT 1"))
        let sql = try #require(try db.scalarText("SELECT sql FROM sqlite_schema WHERE name = ?", [trigger]))
        try db.execute("DROP TRIGGER \(trigger)")
        #expect(try SchemaCheck.problems(of: db, migrator: .embedded) == ["the schema has no trigger \(trigger) (it was dropped outside Tally)"])
        try db.execute(sql.replacingOccurrences(of: "BEGIN", with: "BEGIN SELECT 1;"))
        #expect(try SchemaCheck.problems(of: db, migrator: .embedded).first?.contains("differs from the one Tally's migrations create") == true)
    }

    @Test("another migrator at the same version is compared object by object, not by the embedded digest")
    func otherMigratorIsNotShortcut() throws {
        let embedded = Migrator.embedded
        var migrations = embedded.migrations
        let last = migrations.removeLast()
        migrations.append(Migration(version: last.version, name: last.name, sql: last.sql + "\nCREATE VIEW extra_view AS SELECT 1;\n",
                                    checksum: Digest.sha256Hex(last.sql + "\nCREATE VIEW extra_view AS SELECT 1;\n")))
        let other = Migrator(migrations: migrations)
        #expect(SchemaCheck.migrationsDigest(other, upTo: last.version) != SchemaCheck.embeddedSchema.migrationsDigest)
        let path = directory.file("other.db")
        _ = try Store(path: path)
        let db = try SQLiteConnection(path: path)
        // The database lacks the other migrator's view: only the object comparison can say so.
        #expect(try SchemaCheck.problems(of: db, migrator: other) == ["the schema has no view extra_view (it was dropped outside Tally)"])
    }
}
