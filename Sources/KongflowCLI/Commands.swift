import ArgumentParser

/// The `kongflow` subcommands; the executable's root command lists them.
public enum KongflowCommands {
    public static let all: [any ParsableCommand.Type] = [ServeCommand.self, WorkerCommand.self, MigrateCommand.self, EnvCommand.self, EndpointsCommand.self, RegisteredJobsCommand.self, EventsCommand.self, RunsCommand.self, SchedulesCommand.self, IntegrationsCommand.self, SecretsCommand.self, JobsCommand.self, DashboardLinkCommand.self, ExampleEndpointCommand.self]
}
