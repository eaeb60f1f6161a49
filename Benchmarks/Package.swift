// swift-tools-version:6.1
//
// Tally's benchmark suite: a separate package so the main package's tests never build it.
// Run everything with `Benchmarks/run.sh` (release build, writes Benchmarks/results.md).
import PackageDescription

let package = Package(
    name: "TallyBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        // By name, so the product reference below does not depend on the checkout folder's name.
        .package(name: "Tally", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        // Same version as Tally's own; used only to precompute the peers' checksums outside
        // the timed regions.
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        // Same version as Tally's; only to quiet Tally's info logs during runs.
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
    ],
    targets: [
        // The raw-C peer: the SQLite C API with reused prepared statements, nothing else.
        .target(
            name: "RawSQLitePeer",
            linkerSettings: [.linkedLibrary("sqlite3"), .linkedLibrary("pthread")]
        ),
        // Workloads for every peer, fixtures and paths, shared by the benchmarks and the driver.
        .target(
            name: "BenchCore",
            dependencies: [
                "RawSQLitePeer",
                .product(name: "Tally", package: "Tally"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Runs one workload once, outside the benchmark harness: fixtures, smoke checks and
        // profiling (callgrind/perf) use it.
        .executableTarget(
            name: "tally-bench",
            dependencies: ["BenchCore"],
            path: "Sources/BenchDriver"
        ),
        .executableTarget(
            name: "TallyBenchmarks",
            dependencies: [
                "BenchCore",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/TallyBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
