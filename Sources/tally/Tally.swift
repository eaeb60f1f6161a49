import ArgumentParser

@main
struct TallyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tally", abstract: "A hash-chained ledger and checksummed state documents on SQLite.")
}
