import ArgumentParser
import Foundation
import JSON
import Storage
import Tenancy

struct EnvCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Create and list runtime environments and their API keys.",
        subcommands: [Create.self, List.self, RotateKey.self])

    struct Output: Encodable {
        let id: UUID
        let slug: String
        let type: String
        let apiKey: String
        let pkApiKey: String
        let projectId: UUID
        let projectSlug: String
        let organizationId: UUID
        let organizationSlug: String

        init(_ env: AuthenticatedEnvironment) {
            id = env.id; slug = env.slug; type = env.type.rawValue
            apiKey = env.apiKey; pkApiKey = env.pkApiKey
            projectId = env.project.id; projectSlug = env.project.slug
            organizationId = env.organization.id; organizationSlug = env.organization.slug
        }
    }

    static func show(_ env: AuthenticatedEnvironment) {
        print("\(env.id.lowercasedString)  \(env.type.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0))  \(env.organization.slug)/\(env.project.slug)  \(env.apiKey)")
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an environment (and its organization and project if new).")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions
        @Option(help: "Organization name (created if no organization has its slug).") var organization: String
        @Option(help: "Project name (created if the organization has no project with its slug).") var project: String
        @Option(help: "development, production, staging or preview.") var type: String = "development"
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            guard let environmentType = EnvironmentType(argument: type) else {
                throw ValidationError("Unknown environment type '\(type)': use development, production, staging or preview")
            }
            let logger = try logging.makeLogger("kongflow.env")
            try await withMigratedDatabase(database, logger: logger) { db in
                let env = try await TenancyService(database: db).createEnvironment(organization: organization, project: project, type: environmentType)
                if json { try printJSON(Output(env)) } else { EnvCommand.show(env) }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List environments with their API keys.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let logger = try logging.makeLogger("kongflow.env")
            try await withMigratedDatabase(database, logger: logger) { db in
                let envs = try await TenancyService(database: db).environments()
                if json { try printJSON(envs.map(Output.init)) } else { envs.forEach(EnvCommand.show) }
            }
        }
    }

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rotate-key", abstract: "Replace an environment's API keys.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions
        @Argument(help: "Environment id.") var environmentId: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            guard let id = UUID(uuidString: environmentId) else { throw ValidationError("'\(environmentId)' is not an environment id") }
            let logger = try logging.makeLogger("kongflow.env")
            try await withMigratedDatabase(database, logger: logger) { db in
                let env = try await TenancyService(database: db).rotateKeys(environmentId: id)
                if json { try printJSON(Output(env)) } else { EnvCommand.show(env) }
            }
        }
    }
}
