import AsyncHTTPClient
import EndpointClient
import Endpoints
import Foundation
import Hummingbird
import HummingbirdTesting
import Queue
import Storage
import Testing
import TestSupport
import TriggerProtocol

/// Many endpoints and many requests at once, some of them broken (RELIABILITY.md).
@Suite struct LoadAndFaultTests {
    /// An SDK-shaped endpoint per path `/<behaviour>/<slug>`: PING succeeds for every endpoint;
    /// INDEX_ENDPOINT declares two jobs named after the slug, hangs, or answers garbage.
    static func endpoints(apiKey: String) -> TestHTTPServer.Handler {
        { request in
            guard request.headers["x-trigger-api-key"] == apiKey else { return .json(401, #"{"message":"Invalid API key"}"#) }
            let parts = request.path.split(separator: "/").map(String.init)
            guard parts.count == 2 else { return .json(404, "{}") }
            let (behaviour, slug) = (parts[0], parts[1])
            if request.headers["x-trigger-action"] == "PING" { return .json(200, #"{"ok":true}"#) }
            switch behaviour {
            case "hang":
                try await Task.sleep(for: .seconds(3600))
                return .json(200, "{}")
            case "html":
                return Reply.html
            case "wrong-shape":
                return .json(200, #"{"jobs":"none","sources":[],"dynamicTriggers":[],"dynamicSchedules":[]}"#)
            default:
                func job(_ name: String) -> JSONValue {
                    ["id": .string("\(slug)-\(name)"), "name": "J", "version": "1.0.0",
                     "event": ["name": "e", "title": "E", "source": "trigger.dev", "icon": "custom-event"],
                     "trigger": ["type": "static", "title": "e", "rule": ["event": "e", "source": "trigger.dev"]],
                     "integrations": [:], "startPosition": "latest", "enabled": true, "preprocessRuns": false]
                }
                let index: JSONValue = ["jobs": [job("a"), job("b")], "sources": [], "dynamicTriggers": [], "dynamicSchedules": []]
                return .json(200, index.jsonString())
            }
        }
    }

    enum Reply {
        static let html = TestHTTPServer.Reply(status: 200, headers: [("content-type", "text/html")], body: Data("<html>It works!</html>".utf8))
    }

    /// `POST /api/v1/endpoints` with a deadline fit for a loaded CI machine: these tests check what
    /// load does to correctness, not latency, and the test framework's client gives up after 20 s.
    static func create(_ client: any TestClientProtocol, key: String, slug: String, url: String) async throws -> (HTTPResponse.Status, JSONValue) {
        var request = HTTPClientRequest(url: "http://localhost:\(client.port!)/api/v1/endpoints")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"id":"\#(slug)","url":"\#(url)"}"#))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(180))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (HTTPResponse.Status(code: Int(response.status.code)), (try? JSONValue.parse(Data(body.readableBytesView))) ?? .null)
    }

    /// Timeouts for a loaded CI machine: 200 PINGs at once on two cores wait their turn.
    static func patientClient() -> EndpointClientConfiguration {
        var configuration = TestStack.clientConfiguration()
        configuration.pingTimeout = .seconds(60)
        configuration.indexTimeout = .seconds(60)
        return configuration
    }

    @Test(arguments: Backend.available)
    func twoHundredConcurrentCreatesForTwentySlugs(_ backend: Backend) async throws {
        try await TestStack.run(backend, client: Self.patientClient()) { stack, client in
            let env = try await stack.environment()
            let server = try await TestHTTPServer.start(Self.endpoints(apiKey: env.apiKey))
            defer { Task { await server.stop() } }
            let results = try await withThrowingTaskGroup(of: (HTTPResponse.Status, JSONValue).self) { group in
                for n in 0..<200 {
                    let slug = "endpoint-\(n % 20)"
                    group.addTask { try await Self.create(client, key: env.apiKey, slug: slug, url: "\(server.baseURL)/ok/\(slug)") }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.allSatisfy { $0.0 == .ok }, "\(results.filter { $0.0 != .ok }.prefix(3))")
            #expect(Set(results.compactMap { $0.1["slug"]?.stringValue }).count == 20)
            #expect(try await stack.count("endpoints") == 20)
            #expect(Set(results.compactMap { $0.1["id"]?.stringValue }).count == 20, "one row per slug, every response names it")
            #expect(try await eventually(timeout: .seconds(60)) {
                let open = try await stack.count("endpoint_indexes", "status IN ('PENDING', 'STARTED')")
                let queued = try await stack.count("kongflow_jobs", "task_identifier <> 'fireSchedule'")
                return open == 0 && queued == 0
            })
            let unsuccessful = try await stack.database.query("SELECT status, error FROM endpoint_indexes WHERE status <> 'SUCCESS'")
            #expect(unsuccessful.isEmpty, "\(unsuccessful.prefix(3))")
            #expect(try await stack.count("endpoint_indexes") <= 200)
            #expect(try await stack.count("jobs") == 40, "each endpoint's two jobs, once")
            #expect(try await stack.count("job_versions", "status = 'ACTIVE'") == 40)
        }
    }

    @Test(arguments: Backend.available)
    func brokenEndpointsDoNotHoldUpHealthyOnes(_ backend: Backend) async throws {
        // An index timeout long enough that, even on a starved CI machine running the whole suite,
        // everything else settles before the first hanging call expires.
        var client = Self.patientClient()
        client.indexTimeout = .seconds(90)
        try await TestStack.run(backend, concurrency: WorkerConfiguration().concurrency, client: client) { stack, api in
            let env = try await stack.environment()
            let server = try await TestHTTPServer.start(Self.endpoints(apiKey: env.apiKey))
            defer { Task { await server.stop() } }
            // 50 endpoints: a third hang, a third answer garbage (HTML or the wrong shape), a third are healthy.
            let behaviours = (0..<50).map { n in ["hang", n % 2 == 0 ? "html" : "wrong-shape", "ok"][n % 3] }
            let created = try await withThrowingTaskGroup(of: (Int, UUID?).self) { group in
                for (n, behaviour) in behaviours.enumerated() {
                    group.addTask {
                        let (status, json) = try await Self.create(api, key: env.apiKey, slug: "e\(n)", url: "\(server.baseURL)/\(behaviour)/e\(n)")
                        #expect(status == .ok, "\(behaviour): \(json)")
                        return (n, json["endpointIndex"]?["id"]?.stringValue.flatMap(UUID.init(uuidString:)))
                    }
                }
                return try await group.reduce(into: [Int: UUID]()) { $0[$1.0] = $1.1 }
            }
            let indexes = try (0..<50).map { try #require(created[$0]) }
            func statuses(_ behaviour: String) async throws -> [EndpointIndex] {
                var result: [EndpointIndex] = []
                for (n, kind) in behaviours.enumerated() where kind.hasPrefix(behaviour) {
                    result.append(try await stack.endpoints.index(environment: env, id: indexes[n]))
                }
                return result
            }

            // Healthy and garbage endpoints settle while the hanging ones are still waiting: nobody
            // queued behind them.
            #expect(try await eventually(timeout: .seconds(80)) {
                let healthy = try await statuses("ok"), html = try await statuses("html"), wrongShape = try await statuses("wrong-shape")
                return healthy.allSatisfy { $0.status == .success } && (html + wrongShape).allSatisfy { $0.status == .failure }
            })
            let hanging = try await statuses("hang")
            #expect(hanging.count == behaviours.filter { $0 == "hang" }.count && hanging.allSatisfy { !$0.status.isTerminal },
                    "the hanging endpoints' calls have not timed out yet: \(hanging.map(\.status))")
            for index in try await statuses("html") {
                #expect(index.error?.message == "Could not parse response from endpoint. Make sure it points to the correct URL (you might be missing /api/trigger)")
            }
            for index in try await statuses("wrong-shape") {
                #expect(index.error?.message.contains("jobs") == true, "\(index.error?.message ?? "no error")")
            }
            #expect(try await eventually { try await stack.count("jobs") == 2 * behaviours.filter { $0 == "ok" }.count }, "healthy endpoints' jobs registered")

            // Then each hanging one fails with its timeout, and nothing is left running.
            #expect(try await eventually(timeout: .seconds(150)) {
                try await statuses("hang").allSatisfy { $0.status == .failure }
            })
            for index in try await statuses("hang") {
                #expect(index.error?.message.hasSuffix("no response within 90s") == true, "\(index.error?.message ?? "no error")")
            }
            // The worker records a job's end after its handler wrote the index's status.
            #expect(try await eventually { try await stack.count("kongflow_jobs", "task_identifier <> 'fireSchedule'") == 0 })
        }
    }
}
