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
                let store = try Store(path: arguments[0])
                for index in 0..<count {
                    let event = try store.ledger.append(stream: arguments[1], kind: "charge", amount: Int64(index + 1),
                                                        currency: "EUR", payload: ["n": .number(Double(index))])
                    acknowledge("\(event.seq)")
                }
                return 0
            case "combined-loop":
                // combined-loop DB KEYS: forever, alternately appends a plain durable event and
                // makes a combined ledger + state write, printing after each commit returns:
                //   "event SEQ" or "state SEQ KEY VERSION"
                guard arguments.count == 2, let keys = Int(arguments[1]) else { return usage(mode, "DB KEYS") }
                let store = try Store(path: arguments[0])
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
            case "export-loop":
                // export-loop DB SNAPSHOT: exports again and again (for kill tests).
                guard arguments.count == 2 else { return usage(mode, "DB SNAPSHOT") }
                let store = try Store(path: arguments[0])
                var round = 0
                while true {
                    try store.exportSnapshot(to: arguments[1])
                    round += 1
                    acknowledge("exported \(round)")
                }
            case "mirror-loop":
                // mirror-loop DB DIR: changes a document and mirrors, again and again.
                guard arguments.count == 2 else { return usage(mode, "DB DIR") }
                let store = try Store(path: arguments[0])
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
                let store = try Store(path: arguments[0])
                var round = 0
                while true {
                    try store.ledger.append(stream: "backup", kind: "tick", payload: ["round": .number(Double(round))])
                    let result = try store.backup(toDirectory: arguments[1], keep: 3)
                    round += 1
                    acknowledge("backup \(round) \(result.path)")
                }
            case "verify-loop":
                // verify-loop DB: verifies the chain and reads every document, again and again.
                guard arguments.count == 1 else { return usage(mode, "DB") }
                let store = try Store(path: arguments[0])
                var round = 0
                while true {
                    let report = try store.ledger.verifyChain()
                    guard report.isIntact else {
                        FileHandle.standardError.write(Data("verify-loop: \(report.firstBreak.map(String.init(describing:)) ?? "")\n".utf8))
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
            FileHandle.standardError.write(Data("TallyHarness \(mode): \(error)\n".utf8))
            return 1
        }
    }

    /// Prints one line and flushes it, so a parent that kills us has seen every line we
    /// consider acknowledged.
    static func acknowledge(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    private static func usage(_ mode: String, _ shape: String) -> Int32 {
        FileHandle.standardError.write(Data("usage: TallyHarness \(mode) \(shape)\n".utf8))
        return 2
    }
}
