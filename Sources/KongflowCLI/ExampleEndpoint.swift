import ArgumentParser
import Foundation
import HTTPAPI
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import ExampleEndpoint
import JSON
import TriggerProtocol

/// The example endpoint as a process: `ExampleClient` behind an HTTP server on 127.0.0.1, like an app
/// that embeds the SDK. The quick start uses it to show create → index → event → run without Node.
struct ExampleEndpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "example-endpoint",
        abstract: "Serve an example trigger.dev v2 endpoint on 127.0.0.1: it indexes its jobs and runs them against the server.")
    @Option(help: "Port to listen on (0 picks a free one).") var port = 3999
    @Option(help: "The API key the endpoint accepts (env: KONGFLOW_API_KEY).") var apiKey: String?
    @Option(help: "The TriggerClient id.") var id = "my-endpoint"
    @Option(help: "The server the jobs call back (the SDK's TRIGGER_API_URL; env: KONGFLOW_API_URL).") var apiURL: String?
    @Option(help: "Extra generated event jobs to declare (for load tests).") var extraJobs = 0
    @Option(help: "Seconds to wait before answering the first INDEX_ENDPOINT, like a slow app starting (for crash tests).") var indexDelay: Double = 0
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        guard let key = apiKey ?? ProcessInfo.processInfo.environment["KONGFLOW_API_KEY"], !key.isEmpty else {
            throw ValidationError("An API key is required: --api-key or KONGFLOW_API_KEY")
        }
        let logger = try logging.makeLogger("kongflow.example-endpoint")
        guard indexDelay >= 0 else { throw ValidationError("--index-delay must not be negative") }
        let server = apiURL ?? ProcessInfo.processInfo.environment["KONGFLOW_API_URL"] ?? "http://127.0.0.1:3030"
        let responder = ExampleClient(apiKey: key, id: id, index: ExampleClient.index(clientId: id, extraJobs: extraJobs), apiURL: server)
        let delay = Duration.milliseconds(Int64(indexDelay * 1000))
        let firstIndex = NIOLockedValueBox(true)
        let app = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName] = field.value }
                if headers["x-trigger-action"] == "INDEX_ENDPOINT", delay > .zero, firstIndex.withLockedValue({ first in defer { first = false }; return first }) {
                    logger.info("delaying INDEX_ENDPOINT", metadata: ["seconds": "\(indexDelay)"])
                    try await Task.sleep(for: delay)
                }
                let received = try await request.body.collect(upTo: 10 << 20)
                if headers["x-trigger-action"] == "EXECUTE_JOB" {
                    let job = (try? JSONValue.parse(Data(received.readableBytesView)))?["job"]?["id"]?.stringValue ?? "?"
                    logger.info("executing job", metadata: ["job": "\(job)"])
                }
                let (status, body) = await responder.respond(method: request.method.rawValue, headers: headers, body: Data(received.readableBytesView))
                return Response(status: .init(code: status), headers: [.contentType: "application/json"],
                                body: .init(byteBuffer: ByteBuffer(string: body)))
            },
            server: .guardedHTTP1(),
            configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in
                logger.info("example endpoint listening", metadata: [
                    "url": "http://127.0.0.1:\(channel.localAddress?.port ?? port)/api/trigger", "id": "\(id)"])
            },
            logger: logger)
        try await app.runService()
    }
}

