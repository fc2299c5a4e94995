import ArgumentParser

/// The `kongflow` subcommands; the executable's root command lists them.
public enum KongflowCommands {
    public static let all: [any ParsableCommand.Type] = [Serve.self, WorkerCommand.self, Migrate.self, Env.self, Endpoints.self, RegisteredJobsCommand.self, EventsCommand.self, RunsCommand.self, Jobs.self, ExampleEndpointCommand.self]
}
