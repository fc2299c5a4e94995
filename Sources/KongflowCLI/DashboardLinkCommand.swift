import ArgumentParser
import JSON

/// `kongflow dashboard-link`: a URL that signs its first visitor in to the dashboard as the key's
/// environment, for 15 minutes and once.
struct DashboardLinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard-link",
        abstract: "Print a one-time URL that signs you in to the web dashboard (valid 15 minutes).")
    @OptionGroup var api: APIClientOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let link = try await api.call(.POST, "/api/v1/dashboard/links")
        guard let path = link["path"]?.stringValue else { throw CLIError("The server answered without a link: \(link.jsonString())") }
        let url = api.baseURL + path
        if json { printJSONValue(["url": .string(url), "expiresAt": link["expiresAt"] ?? .null]); return }
        print(url)
    }
}
