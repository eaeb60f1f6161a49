// tally-bench: runs benchmark workloads outside the ordo-one harness.
//
//   tally-bench list                 the cases
//   tally-bench fixtures             makes the W4/W6/W7 fixture database and snapshot
//   tally-bench run NAME [N]         runs case NAME (e.g. "W1 Tally") N times (default 1),
//                                    printing seconds and ops/s; for profilers
//
// TALLY_BENCH_SCALE=0.05 shrinks the workloads; TALLY_BENCH_DATA moves the files;
// TALLY_BENCH_KEEP=1 leaves the run's database in place for inspection.
import BenchCore
import Foundation

let arguments = CommandLine.arguments.dropFirst()
let cases = Cases.all()

func usage() -> Never {
    FileHandle.standardError.write(Data("usage: tally-bench list | fixtures | run NAME [N]\n".utf8))
    exit(2)
}

switch arguments.first {
case "list":
    for item in cases { print("\(item.name)\t\(item.operations) ops") }
case "fixtures":
    let start = Date()
    try Fixtures.ensure(.current)
    print("fixtures ready in \(BenchPaths.dataDirectory) (\(String(format: "%.1f", Date().timeIntervalSince(start))) s)")
case "run":
    let rest = Array(arguments.dropFirst())
    guard let name = rest.first, let item = cases.first(where: { $0.name == name }) else { usage() }
    let count = rest.count > 1 ? Int(rest[1]) ?? 1 : 1
    for _ in 0..<count {
        let prepared = try item.prepare()
        let start = DispatchTime.now().uptimeNanoseconds
        try prepared.run()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if ProcessInfo.processInfo.environment["TALLY_BENCH_KEEP"] != "1" { prepared.cleanup() }
        print(String(format: "%@\t%.3f s\t%.0f ops/s", item.name, seconds, Double(item.operations) / seconds))
    }
default:
    usage()
}
