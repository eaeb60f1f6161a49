// Tally's benchmark suite (ordo-one/benchmark). Every workload runs on a fresh database
// prepared outside the measured region (startMeasurement/stopMeasurement). See
// Benchmarks/run.sh, which runs this and writes Benchmarks/results.md.
//
// Cases with per-operation measurements (W8 latencies, W9 invocations, W10 proofs) record
// each one, in nanoseconds, as a custom metric after the measured region; the harness keeps
// them from measured iterations only (not from warm-ups), and `--format histogramSamples`
// exports them beside the wall clock.
import Benchmark
import BenchCore

let benchmarks: @Sendable () -> Void = {
    for item in Cases.all() {
        let custom = item.metrics.map { BenchmarkMetric.custom($0, polarity: .prefersSmaller, useScalingFactor: false) }
        Benchmark(
            item.name,
            configuration: .init(
                metrics: [.wallClock, .throughput, .peakMemoryResident, .cpuTotal] + custom,
                timeUnits: .microseconds,
                units: Dictionary(uniqueKeysWithValues: custom.map { ($0, BenchmarkUnits.count) }),
                warmupIterations: item.warmup,
                maxDuration: .seconds(600),
                maxIterations: item.iterations
            )
        ) { benchmark in
            try SQLiteProcessSettings.settle(for: item)
            let prepared = try item.prepare()
            try SQLiteProcessSettings.check(item)
            benchmark.startMeasurement()
            try prepared.run()
            benchmark.stopMeasurement()
            for (name, values) in prepared.samples() {
                let metric = BenchmarkMetric.custom(name, polarity: .prefersSmaller, useScalingFactor: false)
                for value in values { benchmark.measurement(metric, value) }
            }
            prepared.cleanup()
        }
    }
}
