// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Tally",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Tally", targets: ["Tally"]),
        .executable(name: "tally", targets: ["tally"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        // `swift package generate-documentation` for the DocC catalog (CI builds it with
        // warnings as errors); a plugin only, nothing of it is linked into Tally.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", exact: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // libpq's C declarations, for the PostgreSQL backend. Nothing links libpq: it is loaded
        // at run time by Sources/Tally/Postgres/LibPQ.swift when a PostgreSQL store is opened,
        // so neither building Tally nor running it on SQLite needs libpq.
        .systemLibrary(name: "CLibPQ"),
        // Turns Migrations/*.sql into Swift source at build time, so the SQL files stay
        // the single source of truth and a copied `tally` binary still carries them.
        .executableTarget(name: "MigrationEmbedder"),
        .plugin(
            name: "EmbedMigrations",
            capability: .buildTool(),
            dependencies: ["MigrationEmbedder"]
        ),
        .target(
            name: "Tally",
            dependencies: [
                "CSQLite",
                "CLibPQ",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            plugins: ["EmbedMigrations"]
        ),
        .executableTarget(
            name: "tally",
            dependencies: [
                "Tally",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Started as a child process by the tests that need real processes (kill -9, many writers).
        .executableTarget(
            name: "TallyHarness",
            dependencies: ["Tally"],
            path: "Tests/TallyHarness"
        ),
        .testTarget(
            name: "TallyTests",
            dependencies: [
                "Tally", "TallyHarness",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Fixtures"]  // read from the package directory, like Migrations/
        ),
        .testTarget(
            name: "TallyCLITests",
            dependencies: ["Tally", "tally"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
