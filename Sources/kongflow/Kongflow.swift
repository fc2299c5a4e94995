import ArgumentParser
import KongflowCLI

@main
struct Kongflow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kongflow",
        abstract: "Endpoint management and indexing for trigger.dev v2 SDK apps.",
        subcommands: KongflowCommands.all)
}
