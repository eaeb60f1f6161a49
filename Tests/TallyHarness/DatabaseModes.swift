import Foundation
import Tally

/// Harness modes for the database tests (ledger, state, crash loops). Returns nil when
/// `mode` is not one of ours.
enum DatabaseModes {
    static func run(_ mode: String, _ arguments: [String]) -> Int32? {
        do {
            switch mode {
            case "ledger-append":
                // ledger-append DB STREAM COUNT: appends COUNT events, printing each seq.
                guard arguments.count == 3, let count = Int(arguments[2]) else { return usage(mode, "DB STREAM COUNT") }
                let store = try openStore(arguments[0])
                for index in 0..<count {
                    let event = try store.ledger.append(stream: arguments[1], kind: "charge", amount: Int64(index + 1),
                                                        currency: "EUR", payload: ["n": .number(Double(index))])
                    acknowledge("\(event.seq)")
                }
                return 0
            case "combined-loop":
                // combined-loop DB KEYS [CHECKPOINT_PAGES]: forever, alternately appends a plain
                // durable event and makes a combined ledger + state write, printing after each
                // commit returns: "event SEQ" or "state SEQ KEY VERSION". CHECKPOINT_PAGES sets
                // the background checkpointer's threshold (small: it copies after most commits).
                guard (2...3).contains(arguments.count), let keys = Int(arguments[1]) else {
                    return usage(mode, "DB KEYS [CHECKPOINT_PAGES]")
                }
                var configuration = Store.Configuration()
                if arguments.count == 3 {
                    guard let pages = Int(arguments[2]) else { return usage(mode, "DB KEYS [CHECKPOINT_PAGES]") }
                    configuration.walCheckpointing = .background(pages: pages)
                }
                let store = try openStore(arguments[0], configuration: configuration)
                var round = 0
                while true {
                    if round % 2 == 0 {
                        let event = try store.ledger.append(stream: "plain", kind: "usage", quantity: Double(round) / 4,
                                                            payload: ["round": .number(Double(round))])
                        acknowledge("event \(event.seq)")
                    } else {
                        let key = "loop/k\(round % keys)"
                        let (seq, version) = try store.write { tx in
                            let event = try tx.ledger.append(stream: key, kind: "tick", amount: 1, currency: "EUR",
                                                             payload: ["round": .number(Double(round))])
                            let document = try tx.state.put(key, body: ["round": .number(Double(round)), "seq": .number(Double(event.seq))],
                                                            status: "open", causedBy: event)
                            return (event.seq, document.version)
                        }
                        acknowledge("state \(seq) \(key) \(version)")
                    }
                    round += 1
                }
            case "relative-checkpoint":
                // relative-checkpoint DIR ELSEWHERE: opens DIR/checkpoint.db by the relative
                // path "checkpoint.db" (background checkpoints at 4 pages), changes directory to
                // ELSEWHERE (which holds another file of that name), appends 20 batches, waits
                // for the checkpoint thread, prints the head's seq and exits.
                guard arguments.count == 2 else { return usage(mode, "DIR ELSEWHERE") }
                guard FileManager.default.changeCurrentDirectoryPath(arguments[0]) else { return 2 }
                var configuration = Store.Configuration()
                configuration.walCheckpointing = .background(pages: 4)
                let store = try openStore("checkpoint.db", configuration: configuration)
                guard FileManager.default.changeCurrentDirectoryPath(arguments[1]) else { return 2 }
                for round in 0..<20 {
                    try store.ledger.append(contentsOf: (0..<20).map { index in
                        NewEvent(stream: "s\(index % 3)", kind: "tick", payload: ["round": .number(Double(round)), "pad": .string(String(repeating: "x", count: 300))])
                    })
                }
                Thread.sleep(forTimeInterval: 0.3)
                // A read: the first reader connection opens only now, after the chdir.
                acknowledge("head \(try store.ledger.head().seq)")
                return 0
            case "memory-statistics":
                // memory-statistics DB default|keep|keep-late|preinitialized: opens DB (after
                // setting Store.keepsSQLiteMemoryStatistics for "keep"; after opening another
                // store first for "keep-late", which sets it only then; after SQLite was
                // initialized by someone else for "preinitialized"), appends and reads, and
                // prints "turned-off=BOOL in-use=BYTES".
                guard arguments.count == 2, ["default", "keep", "keep-late", "preinitialized"].contains(arguments[1]) else {
                    return usage(mode, "DB default|keep|keep-late|preinitialized")
                }
                if arguments[1] == "keep" { Store.keepsSQLiteMemoryStatistics = true }
                if arguments[1] == "keep-late" {
                    _ = try openStore(arguments[0] + "-first")
                    Store.keepsSQLiteMemoryStatistics = true
                }
                if arguments[1] == "preinitialized" { try SQLiteLibrary.initializeAsAnotherLibraryWould() }
                let store = try openStore(arguments[0])
                try store.ledger.append(stream: "s", kind: "tick", payload: ["n": 1])
                try store.state.put("k", body: ["n": 1])
                _ = try store.ledger.head()
                acknowledge("turned-off=\(SQLiteLibrary.turnedOffMemoryStatistics) in-use=\(SQLiteLibrary.memoryInUse)")
                return 0
            case "export-loop":
                // export-loop DB SNAPSHOT: exports again and again (for kill tests).
                guard arguments.count == 2 else { return usage(mode, "DB SNAPSHOT") }
                let store = try openStore(arguments[0])
                var round = 0
                while true {
                    try store.exportSnapshot(to: arguments[1])
                    round += 1
                    acknowledge("exported \(round)")
                }
            case "mirror-loop":
                // mirror-loop DB DIR: changes a document and mirrors, again and again.
                guard arguments.count == 2 else { return usage(mode, "DB DIR") }
                let store = try openStore(arguments[0])
                var round = 0
                while true {
                    try store.state.put("loop/k\(round % 5)", body: ["round": .number(Double(round)), "pad": .string(String(repeating: "x", count: 2000))])
                    try store.mirror(to: arguments[1])
                    round += 1
                    acknowledge("mirrored \(round)")
                }
            case "backup-loop":
                // backup-loop DB DIR: appends an event and takes a verified backup (keeping 3),
                // again and again (for kill tests).
                guard arguments.count == 2 else { return usage(mode, "DB DIR") }
                let store = try openStore(arguments[0])
                var round = 0
                while true {
                    try store.ledger.append(stream: "backup", kind: "tick", payload: ["round": .number(Double(round))])
                    let result = try store.backup(toDirectory: arguments[1], keep: 3)
                    round += 1
                    acknowledge("backup \(round) \(result.path)")
                }
            case "append-timed":
                // append-timed DB STREAM [PAUSE_MS]: appends forever (durable, group-committed
                // with any other writer of the process), printing "SEQ UNIX_MS" once each append
                // returned, pausing PAUSE_MS between appends.
                guard arguments.count == 2 || arguments.count == 3 else { return usage(mode, "DB STREAM [PAUSE_MS]") }
                let pause = arguments.count == 3 ? (UInt32(arguments[2]) ?? 0) : 0
                let store = try openStore(arguments[0])
                var index = 0
                while true {
                    let event = try store.ledger.append(stream: arguments[1], kind: "charge", amount: Int64(index % 50 + 1),
                                                        currency: "EUR", payload: ["n": .number(Double(index))])
                    acknowledge("\(event.seq) \(Int64(Date().timeIntervalSince1970 * 1000))")
                    index += 1
                    if pause > 0 { usleep(pause * 1_000) }
                }
            case "append-retrying":
                // append-retrying DB STREAM: appends forever with event ids STREAM-0, STREAM-1, …;
                // prints "N SEQ" once append N returned; when an append fails (a server lost
                // in a failover) it resends the same event, which the ledger recognizes if it
                // was committed after all.
                guard arguments.count == 2 else { return usage(mode, "DB STREAM") }
                let store = try openStore(arguments[0])
                var index = 0
                while true {
                    do {
                        let event = try store.ledger.append(NewEvent(stream: arguments[1], kind: "charge", amount: 1, currency: "EUR",
                                                                     eventID: "\(arguments[1])-\(index)"))
                        acknowledge("\(index) \(event.seq)")
                        index += 1
                    } catch {
                        usleep(50_000)
                    }
                }
            case "consume-loop":
                // consume-loop DB: runs the consumer "projection" forever. Each event moves the
                // document proj/totals (count, sum of amounts, last seq) in the transaction
                // that moves the consumer, so a kill can never apply an event twice or skip one;
                // a seq out of order is recorded in proj/violations.
                guard arguments.count == 1 else { return usage(mode, "DB") }
                let store = try openStore(arguments[0])
                let consumer = try store.consumer("projection", lockTimeout: 10)
                try consumer.process(batchSize: 16, timeout: nil) { event, tx in
                    let totals = try tx.state.get("proj/totals")?.body ?? ["count": 0, "sum": 0, "last": 0]
                    let last = Int64(totals["last"]?.intValue ?? 0)
                    if event.seq != last + 1 {
                        try tx.state.put("proj/violations/\(event.seq)", body: ["expected": .number(Double(last + 1))])
                    }
                    try tx.state.put("proj/totals", body: [
                        "count": .number(Double((totals["count"]?.intValue ?? 0) + 1)),
                        "sum": .number(Double((totals["sum"]?.intValue ?? 0) + Int(event.amount ?? 0))),
                        "last": .number(Double(event.seq)),
                    ])
                }
                return 0
            case "follow-print":
                // follow-print DB COUNT: follows the ledger from the start and prints
                // "SEQ PREV_HASH HASH" for COUNT events, then exits.
                guard arguments.count == 2, let count = Int(arguments[1]) else { return usage(mode, "DB COUNT") }
                var configuration = Store.Configuration()
                configuration.readOnly = true
                let store = try Store(path: arguments[0], configuration: configuration)
                var feed = store.ledger.follow()
                var printed = 0
                while printed < count, let update = try feed.next() {
                    if case let .event(event) = update {
                        acknowledge("\(event.seq) \(event.prevHash) \(event.hash)")
                        printed += 1
                    }
                }
                return 0
            case "verify-loop":
                // verify-loop DB: verifies the chain and reads every document, again and again.
                guard arguments.count == 1 else { return usage(mode, "DB") }
                let store = try openStore(arguments[0])
                var round = 0
                while true {
                    let report = try store.ledger.verifyChain()
                    guard report.isIntact else {
                        try? FileHandle.standardError.write(contentsOf: Data("verify-loop: \(report.firstBreak.map(String.init(describing:)) ?? "")\n".utf8))
                        return 3
                    }
                    var documents = store.state.list()
                    while try documents.next() != nil {}
                    round += 1
                    acknowledge("verified \(round) \(report.headSeq)")
                }
            default:
                return nil
            }
        } catch {
            try? FileHandle.standardError.write(contentsOf: Data("TallyHarness \(mode): \(error)\n".utf8))
            return 1
        }
    }

    /// A store at a file path, or on PostgreSQL for a connection string.
    static func openStore(_ location: String, configuration: Store.Configuration = Store.Configuration()) throws -> Store {
        if location.hasPrefix("postgres") { return try Store(postgres: location, configuration: configuration) }
        return try Store(path: location, configuration: configuration)
    }

    /// Prints one line and flushes it, so a parent that kills us has seen every line we
    /// consider acknowledged.
    static func acknowledge(_ line: String) {
        try? FileHandle.standardOutput.write(contentsOf: Data((line + "\n").utf8))
    }

    private static func usage(_ mode: String, _ shape: String) -> Int32 {
        try? FileHandle.standardError.write(contentsOf: Data("usage: TallyHarness \(mode) \(shape)\n".utf8))
        return 2
    }
}
