import Foundation
import Testing
@testable import tally

/// What `tally` does before any work, which scripts calling it in a loop pay every time.
@Suite("tally starts without what it does not need")
struct CLIStartupTests {
    let scratch = Scratch("tally-cli-startup")

    #if os(Linux)
    /// glibc's loader lists every shared object it maps with LD_DEBUG=files, those opened
    /// with dlopen included.
    @Test("commands on a SQLite file never load libpq; a PostgreSQL --db does")
    func libpqOnlyForPostgres() throws {
        let sqlite = try CLI.shell(
            #"LD_DEBUG=files "$TALLY" --db t.db init >/dev/null 2>err; s=$?; cat err; exit $s"#, in: scratch.path)
        #expect(sqlite.status == 0, "\(sqlite)")
        #expect(sqlite.stdout.contains("file=libsqlite3"), "the loader's trace is missing: \(sqlite.stdout.prefix(400))")
        #expect(!sqlite.stdout.contains("libpq"), "libpq was loaded for a SQLite database")
        let appended = try CLI.shell(
            #"LD_DEBUG=files "$TALLY" --db t.db append --stream s --kind k >/dev/null 2>err; s=$?; cat err; exit $s"#,
            in: scratch.path)
        #expect(appended.status == 0, "\(appended)")
        #expect(!appended.stdout.contains("libpq"), "libpq was loaded for a SQLite database")
        // The control: a PostgreSQL connection string makes tally load libpq (or say it cannot)
        // before it tries to connect, here to a server that does not exist.
        let postgres = try CLI.shell(
            #"LD_DEBUG=files "$TALLY" --db 'postgresql:///none?host=/nonexistent' log 2>&1"#, in: scratch.path)
        #expect(postgres.status != 0)
        #expect(postgres.stdout.contains("libpq"), "\(postgres.stdout.suffix(600))")
    }
    #endif

    @Test("the global options' names are written out, and are the ones the option type declares")
    func globalOptionNames() {
        let written = GlobalOptions.names, reflected = GlobalOptions.reflectedNames()
        #expect(written.valued == reflected.valued)
        #expect(written.flags == reflected.flags)
        let moved = TallyCommand.globalOptionsLast(["--db", "x.db", "--json", "log", "--limit", "2"])
        #expect(moved.command == "log")
        #expect(moved.arguments == ["log", "--limit", "2", "--db", "x.db", "--json"])
    }

    @Test("--version and --help answer without a database")
    func versionAndHelp() throws {
        let version = try CLI.run(["--version"], in: scratch.path)
        #expect(version.status == 0)
        #expect(version.stdout.split(separator: ".").count == 3, "\(version)")
        #expect(try CLI.run(["--help"], in: scratch.path).stdout.contains("USAGE: tally"))
        #expect(!FileManager.default.fileExists(atPath: scratch.file("tally.db")))
    }
}
