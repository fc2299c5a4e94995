import EndpointClient
import Endpoints
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import KongflowApp
import Logging
import Queue
import Runs
import Storage
import Tenancy
import Testing
import TestSupport
import TriggerProtocol

/// The whole server in-process on a real database: services, worker and HTTP API on a live port.
struct TestStack: Sendable {
    let runtime: KongflowRuntime
    let deps: APIDependencies
    let tenancy: TenancyService

    var database: any Database { runtime.database }
    var queue: JobQueue { runtime.queue }
    var endpoints: EndpointService { runtime.endpoints }
    var runs: RunEngine { runtime.runs }
    var client: EndpointClient { runtime.client }

    init(database: any Database, clientConfiguration: EndpointClientConfiguration, hookDelay: TimeInterval = 0) {
        var configuration = EndpointService.Configuration()
        configuration.hookDelay = hookDelay
        runtime = KongflowRuntime(database: database, logger: TestDatabase.testLogger,
                                  clientConfiguration: clientConfiguration, endpointConfiguration: configuration)
        var deps = runtime.apiDependencies()
        deps.indexWaitTimeout = .seconds(20)
        self.deps = deps
        tenancy = TenancyService(database: database)
    }

    static func clientConfiguration() -> EndpointClientConfiguration {
        var configuration = EndpointClientConfiguration()
        configuration.pingTimeout = .seconds(2)
        configuration.indexTimeout = .seconds(2)
        return configuration
    }

    func makeWorker(concurrency: Int) -> Worker {
        var configuration = WorkerConfiguration()
        configuration.pollInterval = .milliseconds(100)
        configuration.concurrency = concurrency
        return runtime.makeWorker(configuration: configuration)
    }

    /// Runs `body` with a live HTTP server (and a worker unless `worker` is false).
    static func run(_ backend: Backend, migrate: Bool = true, worker: Bool = true, concurrency: Int = 8, hookDelay: TimeInterval = 0,
                    client: EndpointClientConfiguration = clientConfiguration(),
                    _ body: @escaping @Sendable (TestStack, any TestClientProtocol) async throws -> Void) async throws {
        try await TestDatabase.with(backend, migrate: migrate) { (db: any Database) async throws -> Void in
            let stack = TestStack(database: db, clientConfiguration: client, hookDelay: hookDelay)
            let workerInstance = stack.makeWorker(concurrency: concurrency)
            let workerTask = worker ? Task { try await workerInstance.run() } : nil
            do {
                try await Application(router: APIServer.makeRouter(stack.deps)).test(.live) { client in
                    try await body(stack, client)
                }
            } catch {
                workerInstance.shutdown()
                _ = try? await workerTask?.value
                await stack.runtime.shutdown()
                throw error
            }
            workerInstance.shutdown()
            try await workerTask?.value
            await stack.runtime.shutdown()
        }
    }

    func environment(_ type: EnvironmentType = .development, organization: String = "Acme") async throws -> AuthenticatedEnvironment {
        try await tenancy.createEnvironment(organization: organization, project: "Web", type: type)
    }

    /// Waits for an index to be terminal and for its registrations to finish.
    func settledIndex(_ id: UUID, environment: AuthenticatedEnvironment) async throws -> EndpointIndex {
        var index = try await endpoints.index(environment: environment, id: id)
        #expect(try await eventually(timeout: .seconds(30)) {
            index = try await endpoints.index(environment: environment, id: id)
            guard index.status.isTerminal else { return false }
            guard index.status == .success else { return true }
            return try await queue.jobs().allSatisfy { $0.state(now: Date()) == .dead }
        })
        return index
    }

    func count(_ table: String, _ condition: String = "1 = 1") async throws -> Int {
        try await database.queryFirst(SQLQuery(unsafeSQL: "SELECT COUNT(*) AS n FROM \(table) WHERE \(condition)"))!.decode("n")
    }
}

extension TestResponse {
    var json: JSONValue { (try? JSONValue.parse(Data(body.readableBytesView))) ?? .null }
    var text: String { String(buffer: body) }
}

extension TestClientProtocol {
    @discardableResult
    func call(_ method: HTTPRequest.Method, _ uri: String, key: String? = nil, body: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let key { headers[.authorization] = "Bearer \(key)" }
        if body != nil { headers[.contentType] = "application/json" }
        return try await executeRequest(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }
}

/// An endpoint that replays the real SDK for a given key, or serves a custom index document.
actor SwitchableEndpoint {
    var index: JSONValue?

    func serve(_ index: JSONValue?) { self.index = index }

    func reply(_ request: TestHTTPServer.RecordedRequest, apiKey: String) -> TestHTTPServer.Reply {
        if request.headers["x-trigger-action"] == "INDEX_ENDPOINT", request.headers["x-trigger-api-key"] == apiKey, let index {
            return .json(200, index.jsonString())
        }
        return RealSDKReplay.reply(to: request, apiKey: apiKey)
    }
}
