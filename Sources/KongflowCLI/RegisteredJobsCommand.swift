import ArgumentParser
import Foundation
import TriggerProtocol

/// What the environment's endpoints have declared, from a running server.
struct RegisteredJobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registered-jobs",
        abstract: "List the jobs endpoints have registered, or show one (GET /api/v1/jobs).",
        subcommands: [List.self, Show.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The environment's jobs with their latest version.")
        @OptionGroup var api: APIClientOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let jobs = try await api.call(.GET, "/api/v1/jobs")
            if json { printJSONValue(jobs); return }
            guard case .array(let items) = jobs else { return }
            for job in items {
                let fields = ["slug", "latestVersion", "status", "trigger", "endpoint"].map { job[$0]?.stringValue ?? "-" }
                print(fields.joined(separator: "  "))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One job's versions, dispatcher and schedule.")
        @OptionGroup var api: APIClientOptions
        @Argument(help: "The job id (slug).") var slug: String

        func run() async throws {
            let escaped = slug.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? slug
            printJSONValue(try await api.call(.GET, "/api/v1/jobs/\(escaped)"))
        }
    }
}
