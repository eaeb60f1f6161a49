import Foundation
import PackagePlugin

/// Embeds `Migrations/*.sql` and `Migrations/postgres/*.sql` (at the package root) into the `Tally` module as Swift source.
///
/// The SQL files stay the single source of truth; the generated `EmbeddedMigrations.swift`
/// holds their exact text, so a `tally` binary copied anywhere can still migrate.
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let folder = context.package.directoryURL.appending(path: "Migrations")
        // SQLite's migrations at the top, PostgreSQL's in postgres/ (embedded as "postgres/NAME").
        var names = try FileManager.default.contentsOfDirectory(atPath: folder.path())
            .filter { $0.hasSuffix(".sql") }
            .sorted()
        let postgres = folder.appending(path: "postgres")
        if let more = try? FileManager.default.contentsOfDirectory(atPath: postgres.path()) {
            names += more.filter { $0.hasSuffix(".sql") }.sorted().map { "postgres/" + $0 }
        }
        let inputs = names.map { folder.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(names.count) migration(s) from Migrations/",
                executable: try context.tool(named: "MigrationEmbedder").url,
                arguments: [output.path()] + inputs.map { $0.path() },
                inputFiles: inputs,
                outputFiles: [output]
            )
        ]
    }
}
