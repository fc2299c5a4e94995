import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ExampleEndpoint
import TriggerProtocol

/// A small endpoint that answers PING and INDEX_ENDPOINT the way the trigger.dev v2 SDK's
/// `TriggerClient.handleRequest` does, declaring a few jobs of each trigger kind. It lets the
/// quick start show a full create → index round trip without a JavaScript app.
struct ExampleEndpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "example-endpoint",
        abstract: "Serve an example trigger.dev v2 endpoint (PING and INDEX_ENDPOINT) on 127.0.0.1.")
    @Option(help: "Port to listen on (0 picks a free one).") var port = 3999
    @Option(help: "The API key the endpoint accepts (env: KONGFLOW_API_KEY).") var apiKey: String?
    @Option(help: "The TriggerClient id.") var id = "my-endpoint"
    @Option(help: "Extra generated event jobs to declare (for load tests).") var extraJobs = 0
    @Option(help: "Seconds to wait before answering INDEX_ENDPOINT, like a slow app (for crash tests).") var indexDelay: Double = 0
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        guard let key = apiKey ?? ProcessInfo.processInfo.environment["KONGFLOW_API_KEY"], !key.isEmpty else {
            throw ValidationError("An API key is required: --api-key or KONGFLOW_API_KEY")
        }
        let logger = try logging.makeLogger("kongflow.example-endpoint")
        guard indexDelay >= 0 else { throw ValidationError("--index-delay must not be negative") }
        let responder = ExampleClient(apiKey: key, id: id, index: ExampleClient.index(clientId: id, extraJobs: extraJobs))
        let delay = Duration.milliseconds(Int64(indexDelay * 1000))
        let app = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName] = field.value }
                if headers["x-trigger-action"] == "INDEX_ENDPOINT", delay > .zero {
                    logger.info("delaying INDEX_ENDPOINT", metadata: ["seconds": "\(indexDelay)"])
                    try await Task.sleep(for: delay)
                }
                let (status, body) = responder.respond(method: request.method.rawValue, headers: headers)
                return Response(status: .init(code: status), headers: [.contentType: "application/json"],
                                body: .init(byteBuffer: ByteBuffer(string: body)))
            },
            configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in
                logger.info("example endpoint listening", metadata: [
                    "url": "http://127.0.0.1:\(channel.localAddress?.port ?? port)/api/trigger", "id": "\(id)"])
            },
            logger: logger)
        try await app.runService()
    }
}

