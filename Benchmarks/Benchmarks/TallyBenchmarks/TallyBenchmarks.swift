// Tally's benchmark suite (ordo-one/benchmark). Every workload runs on a fresh database
// prepared outside the measured region (startMeasurement/stopMeasurement). See
// Benchmarks/run.sh, which runs this and writes Benchmarks/results.md.
import Benchmark
import BenchCore

let benchmarks: @Sendable () -> Void = {
    for item in Cases.all() {
        Benchmark(
            item.name,
            configuration: .init(
                metrics: [.wallClock, .throughput, .peakMemoryResident, .cpuTotal],
                timeUnits: .microseconds,
                warmupIterations: item.warmup,
                maxDuration: .seconds(600),
                maxIterations: item.iterations
            )
        ) { benchmark in
            let prepared = try item.prepare()
            benchmark.startMeasurement()
            try prepared.run()
            benchmark.stopMeasurement()
            prepared.cleanup()
        }
    }
}
