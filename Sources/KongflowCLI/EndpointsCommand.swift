import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TriggerProtocol

/// How the CLI reaches a running server, as a trigger.dev tool would: an API URL and a key.
struct APIClientOptions: ParsableArguments {
    @Option(help: "The Kongflow server (env: KONGFLOW_API_URL).") var apiURL: String?
    @Option(help: "The environment's secret API key (env: KONGFLOW_API_KEY).") var apiKey: String?

    var baseURL: String {
        (apiURL ?? ProcessInfo.processInfo.environment["KONGFLOW_API_URL"] ?? "http://127.0.0.1:3030").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
    }

    func key() throws -> String {
        guard let key = apiKey ?? ProcessInfo.processInfo.environment["KONGFLOW_API_KEY"], !key.isEmpty else {
            throw ValidationError("An API key is required: --api-key or KONGFLOW_API_KEY")
        }
        return key
    }

    /// Sends one request and returns the JSON answer; an error status becomes the server's message.
    func call(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil) async throws -> JSONValue {
        let key = try key()
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body.jsonString()))
        }
        // A server that is down should be an immediate error, not a minute of connect retries.
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(5)))
        configuration.connectionPool.retryConnectionEstablishment = false
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await http.execute(request, timeout: .seconds(60))
            bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
            try await http.shutdown()
        } catch {
            try? await http.shutdown()
            throw CLIError("Could not reach the Kongflow server at \(baseURL): \(error)")
        }
        let json = (try? JSONValue.parse(Data(bytes.readableBytesView))) ?? .null
        guard (200..<300).contains(Int(response.status.code)) else {
            throw CLIError(json["error"]?.stringValue ?? "The server answered \(response.status.code)")
        }
        return json
    }
}

struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func printJSONValue(_ value: JSONValue) {
    print(value.jsonString())
}

struct EndpointsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "endpoints",
        abstract: "Register, list, index and delete endpoints on a running server.",
        subcommands: [Create.self, List.self, Show.self, Index.self, Delete.self])

    static func line(_ endpoint: JSONValue) -> String {
        let status = endpoint["endpointIndex"]?["status"]?.stringValue ?? "-"
        return "\(endpoint["slug"]?.stringValue ?? "?")  \(endpoint["url"]?.stringValue ?? "?")  last index: \(status)"
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "PING an endpoint and register it (POST /api/v1/endpoints).")
        @OptionGroup var api: APIClientOptions
        @Option(help: "The TriggerClient id.") var id: String
        @Option(help: "The endpoint URL, e.g. http://localhost:3000/api/trigger.") var url: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let endpoint = try await api.call(.POST, "/api/v1/endpoints", body: ["id": .string(id), "url": .string(url)])
            if json { printJSONValue(endpoint); return }
            print("Registered \(endpoint["slug"]?.stringValue ?? id) (\(endpoint["id"]?.stringValue ?? "")); indexing as \(endpoint["endpointIndex"]?["id"]?.stringValue ?? "?")")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the environment's endpoints.")
        @OptionGroup var api: APIClientOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let endpoints = try await api.call(.GET, "/api/v1/endpoints")
            if json { printJSONValue(endpoints); return }
            if case .array(let items) = endpoints { items.forEach { print(EndpointsCommand.line($0)) } }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one endpoint and its recent indexes.")
        @OptionGroup var api: APIClientOptions
        @Argument(help: "The endpoint id (slug).") var slug: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let escaped = slug.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? slug
            let endpoint = try await api.call(.GET, "/api/v1/endpoints/\(escaped)")
            let indexes = try await api.call(.GET, "/api/v1/endpoints/\(escaped)/indexes?limit=10")
            if json { printJSONValue(["endpoint": endpoint, "indexes": indexes["indexes"] ?? .array([])]); return }
            print(EndpointsCommand.line(endpoint))
            print("deploy hook: \(api.baseURL)/api/v1/endpoints/\(endpoint["environmentId"]?.stringValue ?? "")/\(slug)/index/\(endpoint["indexingHookIdentifier"]?.stringValue ?? "")")
            if case .array(let items)? = indexes["indexes"] {
                for index in items {
                    let error = index["error"]?["message"]?.stringValue.map { "  \($0)" } ?? ""
                    print("  \(index["createdAt"]?.stringValue ?? "")  \(index["source"]?.stringValue ?? "")  \(index["status"]?.stringValue ?? "")\(error)")
                }
            }
        }
    }

    struct Index: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-index an endpoint (source MANUAL).")
        @OptionGroup var api: APIClientOptions
        @Argument(help: "The endpoint id (slug).") var slug: String
        @Option(help: "Why, recorded on the index.") var reason: String?
        @Flag(help: "Show progress until the index is SUCCESS or FAILURE.") var wait = false
        @Option(help: "With --wait: give up after this many seconds.") var timeout: Double = 120
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let escaped = slug.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? slug
            var body: [String: JSONValue] = ["source": "MANUAL"]
            if let reason { body["reason"] = .string(reason) }
            let index = try await api.call(.POST, "/api/v1/endpoints/\(escaped)/index?wait=false", body: .object(body))
            guard let id = index["id"]?.stringValue else { throw CLIError("The server returned no index id") }
            guard wait else {
                if json { printJSONValue(index) } else { print("Index \(id): \(index["status"]?.stringValue ?? "?")") }
                return
            }
            let deadline = Date().addingTimeInterval(timeout)
            var last = ""
            while true {
                let state = try await api.call(.GET, "/api/v1/endpointindex/\(id)")
                let status = state["status"]?.stringValue ?? "?"
                if status != last, !json { print("Index \(id): \(status)") }
                last = status
                if status == "SUCCESS" || status == "FAILURE" {
                    if json { printJSONValue(state) } else if status == "SUCCESS", let stats = state["stats"] {
                        print("  jobs \(stats["jobs"].map { $0.jsonString() } ?? "0"), sources \(stats["sources"].map { $0.jsonString() } ?? "0"), dynamic triggers \(stats["dynamicTriggers"].map { $0.jsonString() } ?? "0"), dynamic schedules \(stats["dynamicSchedules"].map { $0.jsonString() } ?? "0")")
                    } else if let message = state["error"]?["message"]?.stringValue {
                        print("  \(message)")
                    }
                    if !json {
                        for item in (state["registration"]?["failures"]?.arrayValue ?? []) + (state["registration"]?["unsupported"]?.arrayValue ?? []) {
                            print("  \(item["kind"]?.stringValue ?? "?") \(item["key"]?.stringValue ?? "?"): \(item["message"]?.stringValue ?? "")")
                        }
                    }
                    if status == "FAILURE" { throw ExitCode(2) }
                    return
                }
                guard Date() < deadline else { throw CLIError("Index \(id) is still \(status) after \(Int(timeout)) s") }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an endpoint (its index history is kept).")
        @OptionGroup var api: APIClientOptions
        @Argument(help: "The endpoint id (slug).") var slug: String

        func run() async throws {
            let escaped = slug.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? slug
            _ = try await api.call(.DELETE, "/api/v1/endpoints/\(escaped)")
            print("Deleted \(slug).")
        }
    }
}
