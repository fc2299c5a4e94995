import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import JSON
import Storage
import Tenancy
import TriggerProtocol
import Testing
import TestSupport

/// An app on SDK 2.3.18, the line most v2 apps ran (`Tests/Fixtures/realsdk-2.3`), registered next to
/// the 2.0.0-next.3 one: versions known from the PING, concurrency limits kept, every declared row
/// persisted, and what Kongflow does not serve yet reported on the index.
@Suite struct SDK23RegistrationTests {
    /// Answers like the 2.3.18 SDK did, headers included; `index` may be changed by the test.
    static func endpoint(apiKey: String, index: JSONValue? = nil) async throws -> TestHTTPServer {
        let directory = Fixtures.directory23
        let ping = try Data(contentsOf: directory.appendingPathComponent("ping-ok.json"))
        let indexBody = try index.map { Data($0.jsonString().utf8) } ?? Data(contentsOf: directory.appendingPathComponent("index-ok.json"))
        let headers = [("content-type", "application/json"), ("Trigger-Version", "2023-09-29"), ("Trigger-SDK-Version", "2.3.18")]
        return try await TestHTTPServer.start { request in
            guard request.headers["x-trigger-api-key"] == apiKey else {
                return .init(status: 401, headers: headers, body: Data(#"{"message":"Forbidden: client apiKey mismatch: Make sure you are using the correct API Key for your environment"}"#.utf8))
            }
            switch request.headers["x-trigger-action"] {
            case "PING": return .init(status: 200, headers: headers, body: ping)
            case "INDEX_ENDPOINT": return .init(status: 200, headers: headers, body: indexBody)
            default: return .init(status: 405, headers: headers, body: Data(#"{"message":"Method not allowed"}"#.utf8))
            }
        }
    }

    /// Connects `github` in `environment`, as `POST /api/v1/integrations` does.
    static func addGitHub(_ stack: TestStack, environment: AuthenticatedEnvironment) async throws {
        try await stack.runtime.integrations.create(try CreateIntegrationBody.decode(
            ["id": "github", "service": "github", "auth": ["type": "oauth2", "accessToken": "gho_token"]]), environment: environment)
    }

    @Test(arguments: Backend.available)
    func aTwoThreeAppRegistersEverythingItDeclares(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let env = try await stack.environment()
            try await Self.addGitHub(stack, environment: env)
            let server = try await Self.endpoint(apiKey: env.apiKey)
            defer { Task { await server.stop() } }
            let created = try await client.call(.post, "/api/v1/endpoints", key: env.apiKey, body: #"{"id":"my-endpoint","url":"\#(server.baseURL)/api/trigger"}"#)
            #expect(created.json["version"] == "2023-09-29" && created.json["sdkVersion"] == "2.3.18", "known from the PING: \(created.text)")
            let indexId = try #require(created.json["endpointIndex"]?["id"]?.stringValue.flatMap(UUID.init(uuidString:)))
            #expect(try await stack.settledIndex(indexId, environment: env).status == .success)
            let summary = try await stack.endpoints.registrationSummary(indexId: indexId)
            #expect(summary.failed == 0 && summary.unsupported.isEmpty, "\(summary.failures)")
            #expect(summary.registered == 14, "11 jobs, 1 source, 1 dynamic trigger, 1 dynamic schedule")

            // Every persisted row.
            #expect(try await stack.count("jobs") == 11)
            #expect(try await stack.count("job_versions", "status = 'ACTIVE'") == 10)
            #expect(try await stack.count("job_versions v JOIN jobs j ON j.id = v.job_id", "j.slug = 'disabled-job' AND v.status = 'DISABLED'") == 1)
            #expect(try await stack.database.queryFirst("""
                SELECT q.max_jobs FROM job_versions v JOIN jobs j ON j.id = v.job_id JOIN job_queues q ON q.id = v.queue_id WHERE j.slug = 'user-created'
                """)?.decode("max_jobs", as: Int.self) == 5, "concurrencyLimit {id: user-queue, limit: 5}")
            #expect(try await stack.database.queryFirst("SELECT name FROM job_queues WHERE max_jobs = 5")?.decode("name", as: String.self) == "user-queue")
            let source = try #require(try await stack.database.queryFirst("SELECT version, options FROM trigger_sources"))
            #expect(try source.decode("version", as: String.self) == "2")
            #expect(try JSONValue.parse(try source.decode("options", as: String.self)) == ["event": ["issues"]])
            #expect(try await stack.count("trigger_source_events", "name = 'issues'") == 1)
            #expect(try await stack.count("event_dispatchers", "event = '\"dev.trigger.source.register.v2\"'") == 2)
            #expect(try await stack.count("event_dispatchers", "enabled = \(backend == .postgres ? "false" : "0")") == 0)
            #expect(try await stack.count("schedule_sources") == 2)
            #expect(try await stack.count("dynamic_triggers") == 2)
            #expect(try await stack.count("dynamic_trigger_jobs") == 2)
            let userCreated = try await client.call(.get, "/api/v1/jobs/user-created", key: env.apiKey).json
            #expect(userCreated["dispatcher"]?["source"] == "my-app")
        }
    }

    /// Both SDK lines' ways of declaring a limit register the same one.
    @Test(arguments: Backend.available)
    func bothFormsOfALimitRegisterTheSameQueue(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let env = try await stack.environment()
            let server = try await ScriptedEndpoint.start(stack, client, environment: env, jobs: [
                ScriptedEndpoint.job("two-oh", event: "a", queue: ("shared", 4)),
                {
                    guard case .object(var job) = ScriptedEndpoint.job("two-three", event: "b") else { return .null }
                    job["concurrencyLimit"] = ["id": "shared", "limit": 4]
                    return .object(job)
                }(),
                {
                    guard case .object(var job) = ScriptedEndpoint.job("own-limit", event: "c") else { return .null }
                    job["concurrencyLimit"] = 2
                    return .object(job)
                }(),
            ]) { _ in .json(200, #"{"status":"SUCCESS"}"#) }
            defer { Task { await server.stop() } }
            let rows = try await stack.database.query("""
                SELECT j.slug, q.name, q.max_jobs FROM job_versions v JOIN jobs j ON j.id = v.job_id JOIN job_queues q ON q.id = v.queue_id ORDER BY j.slug
                """).map { "\(try $0.decode("slug", as: String.self)) \(try $0.decode("name", as: String.self)) \(try $0.decode("max_jobs", as: Int.self))" }
            #expect(rows == ["own-limit job-own-limit 2", "two-oh shared 4", "two-three shared 4"])
        }
    }

    @Test(arguments: Backend.available)
    func webhooksAndHTTPEndpointsAreReportedAsNotSupported(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let env = try await stack.environment()
            try await Self.addGitHub(stack, environment: env)
            guard case .object(var index) = try JSONValue.parse(Data(contentsOf: Fixtures.directory23.appendingPathComponent("index-ok.json"))) else { return }
            index["webhooks"] = [["key": "stripe-events", "params": [:]]]
            index["httpEndpoints"] = [["id": "caldotcom", "title": "Cal.com"]]
            let server = try await Self.endpoint(apiKey: env.apiKey, index: .object(index))
            defer { Task { await server.stop() } }
            let created = try await client.call(.post, "/api/v1/endpoints", key: env.apiKey, body: #"{"id":"my-endpoint","url":"\#(server.baseURL)/api/trigger"}"#)
            let indexId = try #require(created.json["endpointIndex"]?["id"]?.stringValue)
            #expect(try await stack.settledIndex(try #require(UUID(uuidString: indexId)), environment: env).status == .success)
            let status = try await client.call(.get, "/api/v1/endpointindex/\(indexId)", key: env.apiKey).json
            let unsupported = status["registration"]?["unsupported"]?.arrayValue ?? []
            #expect(unsupported.map { "\($0["kind"]?.stringValue ?? "") \($0["key"]?.stringValue ?? "")" } == ["HTTP_ENDPOINT caldotcom", "WEBHOOK stripe-events"])
            #expect(unsupported.allSatisfy { $0["message"]?.stringValue?.contains("not supported by Kongflow yet") == true })
            #expect(status["registration"]?["failed"] == 0 && status["registration"]?["pending"] == 0)
        }
    }
}
