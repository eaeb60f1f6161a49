// tally-bench: runs benchmark workloads outside the ordo-one harness.
//
//   tally-bench list                 the cases
//   tally-bench sizes                the workload sizes (JSON, for Tools/report.py)
//   tally-bench fixtures             makes the W4/W6/W7 fixture database and snapshot and
//                                    W10's ledger
//   tally-bench run NAME [N]         runs case NAME (e.g. "W1 Tally") N times (default 1),
//                                    printing seconds and ops/s (and p50/p99 of the per-
//                                    operation metric of W8–W10); for profilers
//   tally-bench follow-child DB N    W8's follower process: follows DB from its head and
//                                    prints "ready", then "SEQ MONOTONIC_NS" per event, then
//                                    "done" after N events
//
// TALLY_BENCH_SCALE=0.05 shrinks the workloads; TALLY_BENCH_DATA moves the files;
// TALLY_BENCH_KEEP=1 leaves the run's database in place for inspection.
import BenchCore
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())

func usage() -> Never {
    try? FileHandle.standardError.write(contentsOf: Data("usage: tally-bench list | sizes | fixtures | run NAME [N] | follow-child DB N\n".utf8))
    exit(2)
}

func milliseconds(_ nanoseconds: Int?) -> String {
    nanoseconds.map { String(format: "%.3f ms", Double($0) / 1e6) } ?? "—"
}

func main() throws {
    switch arguments.first {
    case "list":
        for item in Cases.all() { print("\(item.name)\t\(item.operations) ops") }
    case "sizes":
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(Sizes.current), as: UTF8.self))
    case "fixtures":
        let start = Date()
        try Fixtures.ensure(.current)
        try ProofBench.ensureFixture(.current)
        print("fixtures ready in \(BenchPaths.dataDirectory) (\(String(format: "%.1f", Date().timeIntervalSince(start))) s)")
    case "run":
        let rest = Array(arguments.dropFirst())
        guard let name = rest.first, let item = Cases.all().first(where: { $0.name == name }) else { usage() }
        let count = rest.count > 1 ? Int(rest[1]) ?? 1 : 1
        try SQLiteProcessSettings.settle(for: item)
        for _ in 0..<count {
            let prepared = try item.prepare()
            try SQLiteProcessSettings.check(item)
            let start = DispatchTime.now().uptimeNanoseconds
            try prepared.run()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            var line = String(format: "%@\t%.3f s\t%.0f ops/s", item.name, seconds, Double(item.operations) / seconds)
            for (metric, values) in prepared.samples().sorted(by: { $0.key < $1.key }) {
                line += "\t\(metric): n=\(values.count) p50 \(milliseconds(percentile(values, 50))) p99 \(milliseconds(percentile(values, 99))) max \(milliseconds(values.max()))"
            }
            if ProcessInfo.processInfo.environment["TALLY_BENCH_KEEP"] != "1" { prepared.cleanup() }
            print(line)
        }
    case "follow-child":
        guard arguments.count == 3, let count = Int(arguments[2]) else { usage() }
        try FollowBench.runChild(database: arguments[1], count: count)
    default:
        usage()
    }
}

do {
    try main()
} catch {
    try? FileHandle.standardError.write(contentsOf: Data("tally-bench: \(error)\n".utf8))
    exit(1)
}
