import EndpointClient
import Endpoints
import AsyncHTTPClient
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import KongflowApp
import Logging
import Queue
import Runs
import Secrets
import Storage
import Tenancy
import Testing
import TestSupport
import TriggerProtocol
import JSON

/// The whole server in-process on a real database: services, worker and HTTP API on a live port.
struct TestStack: Sendable {
    let runtime: KongflowRuntime
    let deps: APIDependencies
    let tenancy: TenancyService
    /// The key integration credentials are sealed with.
    let secrets = SecretBox.ephemeral()

    var database: any Database { runtime.database }
    var queue: JobQueue { runtime.queue }
    var endpoints: EndpointService { runtime.endpoints }
    var runs: RunEngine { runtime.runs }
    var client: EndpointClient { runtime.client }

    init(database: any Database, clientConfiguration: EndpointClientConfiguration, hookDelay: TimeInterval = 0,
         runConfiguration: RunEngine.Configuration = .init(), now: @escaping @Sendable () -> Date = Date.init) {
        var configuration = EndpointService.Configuration()
        configuration.hookDelay = hookDelay
        runtime = KongflowRuntime(database: database, logger: TestDatabase.testLogger, secrets: secrets,
                                  clientConfiguration: clientConfiguration, endpointConfiguration: configuration, runConfiguration: runConfiguration, now: now)
        var deps = runtime.apiDependencies()
        deps.indexWaitTimeout = .seconds(20)
        self.deps = deps
        tenancy = TenancyService(database: database)
    }

    static func clientConfiguration() -> EndpointClientConfiguration {
        var configuration = EndpointClientConfiguration()
        // Short enough for a test of a hanging endpoint, long enough for a PING on loopback while the
        // whole suite shares two cores (2 s timed out there: the statements of parallel tests' SQLite
        // stores now run on the cooperative threads, in a debug build).
        configuration.pingTimeout = .seconds(8)
        configuration.indexTimeout = .seconds(8)
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
                    client: EndpointClientConfiguration = clientConfiguration(), runs: RunEngine.Configuration = .init(),
                    now: @escaping @Sendable () -> Date = Date.init,
                    _ body: @escaping @Sendable (TestStack, any TestClientProtocol) async throws -> Void) async throws {
        try await TestDatabase.with(backend, migrate: migrate) { (db: any Database) async throws -> Void in
            let stack = TestStack(database: db, clientConfiguration: client, hookDelay: hookDelay, runConfiguration: runs, now: now)
            let workerInstance = stack.makeWorker(concurrency: concurrency)
            let workerTask = worker ? Task { try await workerInstance.run() } : nil
            do {
                try await Application(router: stack.runtime.makeRouter(stack.deps), server: .guardedHTTP1()).test(.live) { client in
                    try await body(stack, client)
                    Watchdog.step("stopping the HTTP server")
                }
            } catch {
                Watchdog.step("stopping the worker after: \(error)")
                workerInstance.shutdown()
                _ = try? await workerTask?.value
                Watchdog.step("shutting the runtime down")
                await stack.runtime.shutdown()
                throw error
            }
            Watchdog.step("stopping the worker")
            workerInstance.shutdown()
            try await workerTask?.value
            Watchdog.step("shutting the runtime down")
            await stack.runtime.shutdown()
        }
    }

    func environment(_ type: EnvironmentType = .development, organization: String = "Acme", project: String = "Web") async throws -> AuthenticatedEnvironment {
        try await tenancy.createEnvironment(organization: organization, project: project, type: type)
    }

    /// Waits for an index to be terminal and for its registrations to finish (a 1,001-job index on
    /// PostgreSQL can take over 30 s while the whole suite runs on two cores).
    func settledIndex(_ id: UUID, environment: AuthenticatedEnvironment) async throws -> EndpointIndex {
        var index = try await endpoints.index(environment: environment, id: id)
        #expect(try await eventually(timeout: .seconds(90)) {
            index = try await endpoints.index(environment: environment, id: id)
            guard index.status.isTerminal else { return false }
            guard index.status == .success else { return true }
            // Registration is done when its endpoint queue has nothing left to run (schedule ticks wait on).
            return try await queue.jobs().filter { $0.queueName?.hasPrefix("endpoint-") == true }.allSatisfy { $0.state(now: Date()) == .dead }
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

/// An endpoint made up in the test: PING and INDEX_ENDPOINT as the SDK answers them, declaring
/// `eventTrigger` jobs, and EXECUTE_JOB answered by the test's closure.
struct ScriptedEndpoint {
    /// An `eventTrigger` job as the SDK declares it (`queue` as 2.0's `{name, maxConcurrent}`).
    static func job(_ id: String, event: String, filter: JSONValue = [:], queue: (String, Int)? = nil, version: String = "1.0.0",
                    integrations: JSONValue = [:]) -> JSONValue {
        var job: JSONValue = [
            "id": .string(id), "name": .string(id), "version": .string(version),
            "event": ["name": .string(event), "title": "Event", "source": "trigger.dev", "icon": "custom-event"],
            "trigger": ["type": "static", "title": .string(event), "rule": ["event": .string(event), "source": "trigger.dev", "payload": filter]],
            "integrations": integrations, "startPosition": "latest", "enabled": true, "preprocessRuns": false,
        ]
        if let (name, limit) = queue, case .object(var object) = job {
            object["queue"] = ["name": .string(name), "maxConcurrent": .number(Double(limit))]
            job = .object(object)
        }
        return job
    }

    static func index(_ jobs: [JSONValue]) -> JSONValue {
        ["jobs": .array(jobs), "sources": [], "dynamicTriggers": [], "dynamicSchedules": []]
    }

    /// Starts the endpoint, registers it as `my-endpoint` and waits until its jobs are registered.
    /// `sdkVersion` set: the endpoint reports it and the 2023-09-29 API version, as SDK 2.3 does.
    static func start(_ stack: TestStack, _ client: any TestClientProtocol, environment: AuthenticatedEnvironment, slug: String = "my-endpoint",
                      jobs: [JSONValue], sdkVersion: String? = nil,
                      execute: @escaping @Sendable (JSONValue) async throws -> TestHTTPServer.Reply) async throws -> TestHTTPServer {
        let index = Self.index(jobs).jsonString()
        let key = environment.apiKey
        let headers = [("content-type", "application/json")] + (sdkVersion.map { [("trigger-version", "2023-09-29"), ("trigger-sdk-version", $0)] } ?? [])
        let server = try await TestHTTPServer.start { request in
            guard request.headers["x-trigger-api-key"] == key else { return .json(401, #"{"message":"Unauthorized"}"#) }
            switch request.headers["x-trigger-action"] {
            case "PING": return TestHTTPServer.Reply(status: 200, headers: headers, body: Data(#"{"ok":true}"#.utf8))
            case "INDEX_ENDPOINT": return TestHTTPServer.Reply(status: 200, headers: headers, body: Data(index.utf8))
            case "EXECUTE_JOB": return try await execute((try? JSONValue.parse(request.body)) ?? .null)
            default: return .json(405, "{}")
            }
        }
        let created = try await client.call(.post, "/api/v1/endpoints", key: key, body: #"{"id":"\#(slug)","url":"\#(server.baseURL)/api/trigger"}"#)
        let indexId = try #require(created.json["endpointIndex"]?["id"]?.stringValue.flatMap(UUID.init(uuidString:)), "\(created.text)")
        #expect(try await stack.settledIndex(indexId, environment: environment).status == .success)
        return server
    }
}

extension TestStack {
    /// A new environment of `type` and an endpoint that answers as the real SDK does with its key, for
    /// `body`; the endpoint has stopped when this returns or throws.
    func withSDKEndpoint<T>(_ type: EnvironmentType = .development,
                            _ body: (AuthenticatedEnvironment, TestHTTPServer) async throws -> T) async throws -> T {
        let env = try await environment(type)
        let server = try await TestHTTPServer.start { RealSDKReplay.reply(to: $0, apiKey: env.apiKey) }
        do {
            let result = try await body(env, server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }
}

extension TestStack {
    /// Sends an event through the API; returns its id.
    @discardableResult
    func send(_ client: any TestClientProtocol, _ environment: AuthenticatedEnvironment, _ name: String, payload: JSONValue = [:], id: String? = nil) async throws -> String {
        var event: [String: JSONValue] = ["name": .string(name), "payload": payload]
        if let id { event["id"] = .string(id) }
        let response = try await client.call(.post, "/api/v1/events", key: environment.apiKey, body: JSONValue.object(["event": .object(event)]).jsonString())
        #expect(response.status == .ok, "\(response.text)")
        return response.json["id"]?.stringValue ?? ""
    }

    /// Waits until `count` runs exist and all have finished; returns them, newest first.
    func finishedRuns(_ environment: AuthenticatedEnvironment, count: Int, timeout: Duration = .seconds(60)) async throws -> [JobRun] {
        var runs: [JobRun] = []
        #expect(try await eventually(timeout: timeout) {
            runs = try await self.runs.runs(environment: environment, limit: 100)
            return runs.count == count && runs.allSatisfy { $0.status.isFinished }
        }, "\(runs.map { "\($0.status)" })")
        return runs
    }
}

/// Requests over their own connections with a long deadline, for tests that send many at once: the
/// test client runs one connection with a 20 s read timeout, which a loaded machine exceeds when a
/// hundred requests queue on it.
struct DirectAPI: Sendable {
    let baseURL: String

    init(_ client: any TestClientProtocol) { baseURL = "http://127.0.0.1:\(client.port!)" }

    func call(_ method: HTTPRequest.Method, _ path: String, key: String, body: String? = nil) async throws -> (status: Int, json: JSONValue) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .init(rawValue: method.rawValue)
        request.headers.add(name: "authorization", value: "Bearer \(key)")
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
        let bytes = try await response.body.collect(upTo: 10 << 20)
        return (Int(response.status.code), (try? JSONValue.parse(Data(bytes.readableBytesView))) ?? .null)
    }
}
