import ArgumentParser
import Tally

/// `tally consumers`: the durable consumers of the ledger feed (list is the default).
struct ConsumersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consumers",
        abstract: "List, reset or remove the ledger's durable consumers (`tally consumers [list]`).",
        subcommands: [ConsumersListCommand.self, ConsumersResetCommand.self, ConsumersRemoveCommand.self],
        defaultSubcommand: ConsumersListCommand.self)

    /// Runs `body`, saying an unknown consumer `name` in the command line's terms (the
    /// library's own error names its API).
    static func naming<T>(_ name: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as TallyError where error == Store.unknownConsumer(name) {
            throw TallyError.invalidInput(field: "consumer", reason: "there is no consumer named '\(Output.printable(name))'; list them with `tally consumers`")
        }
    }
}

/// `tally consumers list`.
struct ConsumersListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Show each consumer's position, how far behind the head it is, and whether it runs now.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let store = try global.openStoreForReading()
        let consumers = try store.consumers()
        if global.json {
            try Console.out.json(["consumers": consumers])
            return
        }
        guard !global.quiet else { return }
        if consumers.isEmpty {
            try Console.out.line("no consumers (create one with `tally log --follow --consumer NAME`)")
            return
        }
        let rows = consumers.map { consumer in
            [consumer.name, "\(consumer.position)", "\(consumer.behind)",
             consumer.isRunning.map { $0 ? "yes" : "no" } ?? "?", consumer.updatedAt]
        }
        for line in Output.table(["NAME", "POSITION", "BEHIND", "RUNNING", "UPDATED"], rows) { try Console.out.line(line) }
    }
}

/// `tally consumers reset NAME --to SEQ`.
struct ConsumersResetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Move a consumer to a seq: back to process events again, or forward to skip them (refused while it runs).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The consumer's name.")
    var name: String

    @Option(parsing: .unconditional, help: "The seq of the last event the consumer should count as processed (0 = from the start).")
    var to: Int64

    func validate() throws {
        if to < 0 { throw ValidationError("--to \(to) is negative; negative values are not allowed") }
    }

    func run() throws {
        let store = try global.openExistingStore()
        let before = try store.consumers().first { $0.name == name }?.position
        try ConsumersCommand.naming(name) { try store.resetConsumer(name, to: to) }
        if global.json {
            try Console.out.json(["name": JSONValue.string(name), "position": .number(Double(to))])
        } else if !global.quiet {
            try Console.out.line("consumer \(name): position \(before.map(String.init) ?? "?") → \(to)")
        }
    }
}

/// `tally consumers remove NAME`.
struct ConsumersRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a consumer and its position (refused while it runs).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The consumer's name.")
    var name: String

    func run() throws {
        let store = try global.openExistingStore()
        try ConsumersCommand.naming(name) { try store.removeConsumer(name) }
        if global.json {
            try Console.out.json(["removed": name])
        } else if !global.quiet {
            try Console.out.line("removed consumer \(name)")
        }
    }
}
