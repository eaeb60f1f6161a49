import Foundation
import Tally
import Testing

/// Runs the built `tally` binary as a user would: `tally reconcile` and `tally verify`.
@Suite("CLI: tally reconcile and tally verify")
struct ReconcileCLITests {
    /// What a run of `tally` printed and how it exited.
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String

        /// stdout as a JSON object.
        func json() throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any], "stdout: \(stdout)")
        }
    }

    /// A scratch directory with a database of three invoices and a mirror of it.
    final class Workspace: @unchecked Sendable {
        let root: String
        let database: String
        let mirror: String

        init() throws {
            let template = (NSTemporaryDirectory() as NSString).appendingPathComponent("tally-cli-reconcile-XXXXXX")
            var bytes = Array(template.utf8CString)
            guard let created = bytes.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
                throw CocoaError(.fileWriteUnknown)
            }
            root = String(cString: created)
            database = root + "/tally.db"
            mirror = root + "/mirror"
            let store = try Store(path: database)
            for index in 1...3 {
                try store.state.put("invoices/INV-\(index)", body: ["amount": .number(Double(index * 100))], status: "unpaid")
            }
            try store.mirror(to: mirror)
            try store.checkpointWAL(truncate: true)
        }

        deinit {
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    /// The `tally` executable: beside the test bundle, else `.build/debug/tally`.
    static let executable: URL = {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tally")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return packageRoot.appendingPathComponent(".build/debug/tally")
    }()

    private func tally(_ arguments: String...) throws -> Run {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Read before waiting, so a large output cannot fill the pipe and block the child.
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                   stderr: String(decoding: err, as: UTF8.self))
    }

    @Test("reconcile --dir: 0 when clean, 1 with findings, JSON parses; --repair fixes it")
    func reconcileDirectory() throws {
        let workspace = try Workspace()
        let clean = try tally("reconcile", "--db", workspace.database, "--dir", workspace.mirror)
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(clean.stdout.contains("Clean"))

        try Data("garbage".utf8).write(to: URL(fileURLWithPath: workspace.mirror + "/invoices/INV-2.json"))
        let found = try tally("reconcile", "--db", workspace.database, "--dir", workspace.mirror)
        #expect(found.status == 1)
        #expect(found.stdout.contains("corrupt"))
        #expect(found.stdout.contains("invoices/INV-2"))

        let json = try tally("reconcile", "--db", workspace.database, "--json", "--dir", workspace.mirror).json()
        #expect(json["exit_status"] as? Int == 1)
        let findings = try #require(json["findings"] as? [[String: Any]])
        #expect(findings.count == 1)
        #expect(findings.first?["kind"] as? String == "corrupt")
        #expect(findings.first?["key"] as? String == "invoices/INV-2")
        #expect(findings.first?["database_version"] as? Int == 1)

        let repaired = try tally("reconcile", "--db", workspace.database, "--json", "--dir", workspace.mirror, "--repair")
        #expect(repaired.status == 1)
        #expect((try repaired.json()["repairs"] as? [String])?.count == 1)
        #expect(try tally("reconcile", "--db", workspace.database, "--dir", workspace.mirror).status == 0)
    }

    @Test("reconcile --snapshot compares with an export")
    func reconcileSnapshot() throws {
        let workspace = try Workspace()
        let snapshot = workspace.root + "/backup.jsonl"
        let store = try Store(path: workspace.database)
        try store.exportSnapshot(to: snapshot)
        #expect(try tally("reconcile", "--db", workspace.database, "--snapshot", snapshot).status == 0)
        try store.state.delete("invoices/INV-1")
        let run = try tally("reconcile", "--db", workspace.database, "--json", "--snapshot", snapshot)
        #expect(run.status == 1)
        let findings = try #require(try run.json()["findings"] as? [[String: Any]])
        #expect(findings.map { $0["kind"] as? String } == ["extra"])
    }

    @Test("bad usage exits 2 with a message on stderr")
    func usage() throws {
        let workspace = try Workspace()
        let both = try tally("reconcile", "--db", workspace.database, "--dir", workspace.mirror, "--snapshot", "x")
        #expect(both.status == 2)
        #expect(both.stderr.contains("exactly one"))
        let neither = try tally("reconcile", "--db", workspace.database)
        #expect(neither.status == 2)
        let repairSnapshot = try tally("reconcile", "--db", workspace.database, "--snapshot", "x", "--repair")
        #expect(repairSnapshot.status == 2)
        let missingDirectory = try tally("reconcile", "--db", workspace.database, "--dir", workspace.root + "/nope")
        #expect(missingDirectory.status == 2)
        #expect(missingDirectory.stderr.contains("nope"))
    }

    @Test("verify: 0 when clean, 3 for a state body changed behind Tally's back; JSON parses")
    func verify() throws {
        let workspace = try Workspace()
        let clean = try tally("verify", "--db", workspace.database)
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(clean.stdout.contains("integrity_check"))
        #expect(try tally("verify", "--db", workspace.database, "--json").json()["exit_status"] as? Int == 0)

        let db = try SQLiteConnection(path: workspace.database)
        try db.execute("UPDATE state SET body = '{\"amount\":1}', version = version + 1 WHERE key = 'invoices/INV-3'")
        let damaged = try tally("verify", "--db", workspace.database)
        #expect(damaged.status == 3)
        #expect(damaged.stdout.contains("invoices/INV-3"))
        let json = try tally("verify", "--db", workspace.database, "--json").json()
        #expect(json["exit_status"] as? Int == 3)
        #expect((json["findings"] as? [[String: Any]])?.first?["kind"] as? String == "corrupt")
    }

    @Test("verify of a file that is not a database exits 2 with a message")
    func verifyNotADatabase() throws {
        let workspace = try Workspace()
        let bogus = workspace.root + "/bogus.db"
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: bogus))
        let run = try tally("verify", "--db", bogus)
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("not a Tally database") || run.stderr.contains("not an SQLite database"))
    }
}
