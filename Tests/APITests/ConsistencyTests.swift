import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import JSON
import Storage
import Testing
import TestSupport

/// What a client trips over: ids in two spellings, slugs that look like route words.
@Suite struct ConsistencyTests {
    /// Every route answers ids in lowercase, and takes them in either case.
    @Test(arguments: Backend.available)
    func everyRouteAnswersLowercaseIdsAndTakesEitherCase(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let env = try await stack.environment()
            let server = try await ScriptedEndpoint.start(stack, client, environment: env, jobs: [ScriptedEndpoint.job("hello", event: "hi")]) { body in
                .json(200, JSONValue.object(["status": "SUCCESS", "output": ["run": body["run"]?["id"] ?? .null]]).jsonString())
            }
            defer { Task { await server.stop() } }
            try await stack.send(client, env, "hi", id: "evt-1")
            let run = try #require(try await stack.finishedRuns(env, count: 1).first)
            let runId = run.id.lowercasedString
            let indexId = try #require(try await client.call(.get, "/api/v1/endpoints/my-endpoint", key: env.apiKey).json["endpointIndex"]?["id"]?.stringValue)
            let reads = ["/api/v1/whoami", "/api/v1/endpoints", "/api/v1/endpoints/my-endpoint", "/api/v1/endpoints/my-endpoint/indexes",
                         "/api/v1/endpointindex/\(indexId)", "/api/v1/jobs", "/api/v1/jobs/hello", "/api/v1/jobs/hello/runs", "/api/v1/runs",
                         "/api/v2/runs/\(runId)", "/api/v2/events/evt-1"]
            for path in reads {
                let response = try await client.call(.get, path, key: env.apiKey)
                #expect(response.status == .ok, "\(path)")
                #expect(path.hasPrefix("/api/v1/jobs/hello") == false || !response.text.isEmpty)
                #expect(path.hasPrefix("/api/v1/jobs") || path.hasPrefix("/api/v1/endpointindex") || !UUIDText.all(in: response.text).isEmpty,
                        "\(path) shows an id")
                #expect(!UUIDText.uppercase(in: response.text), "\(path): \(response.text)")
            }
            for path in ["/api/v2/runs/\(runId.uppercased())", "/api/v1/endpointindex/\(indexId.uppercased())",
                         "/api/v1/endpoints/my-endpoint/indexes?cursor=\(indexId.uppercased())"] {
                let response = try await client.call(.get, path, key: env.apiKey)
                #expect(response.status == .ok && !UUIDText.uppercase(in: response.text), "\(path): \(response.text)")
            }
            let canceled = try await client.call(.post, "/api/v1/runs/\(runId.uppercased())/cancel", key: env.apiKey)
            #expect(canceled.status == .ok && canceled.json["id"] == .string(runId))
            let invoked = try await client.call(.post, "/api/v1/jobs/hello/invoke", key: env.apiKey, body: "{}")
            #expect(invoked.status == .ok && !UUIDText.uppercase(in: invoked.text))
        }
    }

    /// Slugs named like the routes' own words, and a 100-character one, on every endpoint route:
    /// each request acts on the endpoint it names.
    @Test(arguments: Backend.available)
    func everySlugWorksOnEveryRoute(_ backend: Backend) async throws {
        try await TestStack.run(backend, hookDelay: 0) { stack, client in
            let env = try await stack.environment()
            let slugs = ["index", "indexes", "endpoints", "runs", String(repeating: "s", count: 100)]
            var servers: [TestHTTPServer] = []
            var ids: [String: String] = [:]
            var hooks: [String: String] = [:]
            for (n, slug) in slugs.enumerated() {
                let index = ScriptedEndpoint.index([ScriptedEndpoint.job("job-\(n)", event: "e\(n)")]).jsonString()
                let server = try await TestHTTPServer.start { request in
                    switch request.headers["x-trigger-action"] {
                    case "PING": return .json(200, #"{"ok":true}"#)
                    case "INDEX_ENDPOINT": return .json(200, index)
                    default: return .json(405, "{}")
                    }
                }
                servers.append(server)
                let created = try await client.call(.post, "/api/v1/endpoints", key: env.apiKey, body: #"{"id":"\#(slug)","url":"\#(server.baseURL)/api/trigger"}"#)
                #expect(created.status == .ok && created.json["slug"] == .string(slug), "\(slug): \(created.text)")
                ids[slug] = created.json["id"]?.stringValue
                hooks[slug] = created.json["indexingHookIdentifier"]?.stringValue
                _ = try await stack.settledIndex(try #require(created.json["endpointIndex"]?["id"]?.stringValue.flatMap(UUID.init(uuidString:))), environment: env)
            }
            let started = servers
            defer { Task { for server in started { await server.stop() } } }
            #expect(Set(ids.values).count == slugs.count)
            for slug in slugs {
                let id = try #require(ids[slug])
                let shown = try await client.call(.get, "/api/v1/endpoints/\(slug)", key: env.apiKey)
                #expect(shown.json["id"] == .string(id), "\(slug)")
                let indexed = try await client.call(.post, "/api/v1/endpoints/\(slug)/index", key: env.apiKey, body: #"{"reason":"\#(slug)"}"#)
                #expect(indexed.status == .ok && indexed.json["endpointId"] == .string(id) && indexed.json["reason"] == .string(slug), "\(slug): \(indexed.text)")
                let hook = try await client.call(.get, "/api/v1/endpoints/\(env.id.lowercasedString)/\(slug)/index/\(try #require(hooks[slug]))")
                #expect(hook.status == .ok, "\(slug): \(hook.text)")
                let history = try await client.call(.get, "/api/v1/endpoints/\(slug)/indexes", key: env.apiKey).json["indexes"]?.arrayValue ?? []
                #expect(history.count == 3 && history.allSatisfy { $0["endpointId"] == .string(id) }, "\(slug): \(history)")
                #expect(history.first?["source"] == "HOOK")
                let job = try await client.call(.get, "/api/v1/jobs/job-\(slugs.firstIndex(of: slug)!)", key: env.apiKey)
                #expect(job.status == .ok && job.json["versions"]?[0]?["endpoint"] == .string(slug), "\(slug): \(job.text)")
            }
            // Deleting one leaves the others.
            #expect(try await client.call(.delete, "/api/v1/endpoints/index", key: env.apiKey).json["id"] == .string(ids["index"]!))
            #expect(try await client.call(.get, "/api/v1/endpoints/index", key: env.apiKey).status == .notFound)
            #expect(try await client.call(.get, "/api/v1/endpoints/indexes", key: env.apiKey).json["id"] == .string(ids["indexes"]!))
            #expect(try await client.call(.get, "/api/v1/endpoints", key: env.apiKey).json.arrayValue?.count == slugs.count - 1)
        }
    }
}
