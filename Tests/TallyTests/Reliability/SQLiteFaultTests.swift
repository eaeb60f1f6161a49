import Foundation
import Testing
@testable import Tally

@Suite("Reliability: SQLite-level faults give clear errors and keep acknowledged data", .serialized)
struct SQLiteFaultTests {
    let directory = TemporaryDirectory()

    @Test("a full disk: the failing write is a clear I/O error (exit 5); everything acknowledged survives")
    func fullDisk() throws {
        let mount = directory.file("small")
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        let skipped = try withTmpfs(at: mount, size: "768k") {
            let path = mount + "/full.db"
            let store = try Store(path: path)
            var acknowledged: Int64 = 0
            var failure: TallyError?
            for index in 0..<100_000 {
                do {
                    let event = try store.ledger.append(stream: "fill", kind: "charge", amount: 1, currency: "EUR",
                                                        payload: ["pad": .string(String(repeating: "x", count: 900)), "i": .number(Double(index))])
                    acknowledged = event.seq
                } catch let error as TallyError {
                    failure = error
                    break
                }
            }
            let error = try #require(failure, "the disk never filled")
            #expect(error.exitCode == 5, "\(error)")
            #expect(error.description.lowercased().contains("full") || error.description.contains("space"), "\(error)")
            // The same store keeps working for reads, and a new one recovers the same ledger.
            #expect(try store.ledger.head().seq == acknowledged)
            let reopened = try Store(path: path, configuration: { var c = Store.Configuration(); c.readOnly = true; return c }())
            let report = try reopened.ledger.verifyChain()
            #expect(report.isIntact && report.headSeq == acknowledged)
            // An atomic file write on the full disk fails cleanly too: no temp file left.
            let target = mount + "/state.json"
            try? AtomicFile.write(Array("old".utf8), to: target)
            #expect(throws: TallyError.self) { try AtomicFile.write([UInt8](repeating: 1, count: 4 << 20), to: target) }
            #expect(try FileManager.default.contentsOfDirectory(atPath: mount).filter { $0.contains(".tmp-") }.isEmpty)
        }
        if let skipped { print("skipped full-disk test: \(skipped)") }
    }

    @Test("a read-only filesystem: writes fail with a clear error, reads still work, data intact")
    func readOnlyFilesystem() throws {
        let mount = directory.file("ro")
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        let skipped = try withTmpfs(at: mount, size: "4m") {
            let path = mount + "/ro.db"
            do {
                let store = try Store(path: path)
                try seedCollections(store, invoices: 1...2)
                try store.checkpointWAL(truncate: true)
            }
            guard runCommand("/bin/mount", ["-o", "remount,ro", mount]).status == 0 else {
                print("skipped read-only test: cannot remount read-only")
                return
            }
            defer { runCommand("/bin/mount", ["-o", "remount,rw", mount]) }
            let error = try #require(throws: TallyError.self) {
                let store = try Store(path: path)
                try store.ledger.append(stream: "x", kind: "k")
            }
            #expect([2, 5].contains(error.exitCode), "\(error)")
            #expect(!error.description.isEmpty)
        }
        if let skipped { print("skipped read-only test: \(skipped)") }
    }

    @Test("a truncated WAL: the database opens, the chain is intact, only whole transactions remain")
    func truncatedWAL() throws {
        let path = directory.file("wal.db")
        _ = try Store(path: path)
        let child = try ChildProcess.start(["combined-loop", path, "3"])
        usleep(300_000)
        kill(child.process.processIdentifier, SIGKILL)
        _ = child.output.fileHandleForReading.readDataToEndOfFile()
        child.process.waitUntilExit()
        let wal = path + "-wal"
        let size = (try FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0
        try #require(size > 4096, "the writer left no WAL to damage")
        // Cut the WAL in the middle of a frame, as a torn write at power loss would.
        let copy = directory.file("torn.db")
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: wal))
        try bytes.prefix(size / 2 + 1234).write(to: URL(fileURLWithPath: copy + "-wal"))
        let store = try Store(path: copy)
        let report = try store.ledger.verifyChain()
        #expect(report.isIntact)
        #expect(try store.sql { try $0.scalarText("PRAGMA integrity_check") } == "ok")
        _ = try checkRecovered(copy, Acknowledgements())
    }

    @Test("a database with damaged pages gives a corruption error (exit 3), never a crash")
    func damagedPages() throws {
        let path = directory.file("damaged.db")
        do {
            let store = try Store(path: path)
            try store.write { tx in
                for index in 0..<3000 { try tx.state.put("docs/\(index)", body: ["i": .number(Double(index)), "pad": "................................"]) }
            }
            try store.checkpointWAL(truncate: true)
        }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let pageSize = 4096
        for page in stride(from: 5, to: bytes.count / pageSize - 1, by: 7) {
            for offset in 100..<400 { bytes[page * pageSize + offset] ^= 0x5A }
        }
        try bytes.write(to: URL(fileURLWithPath: path))
        var sawCorruption = false
        do {
            let store = try Store(path: path)
            var all = store.state.list()
            _ = try all.collect()
            let integrity = try store.sql { try $0.scalarText("PRAGMA integrity_check") }
            sawCorruption = integrity != "ok"
        } catch let error as TallyError {
            #expect(error.exitCode == 3, "\(error)")
            sawCorruption = true
        }
        #expect(sawCorruption)
    }
}
