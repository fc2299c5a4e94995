import Endpoints
import Foundation
import Hummingbird
import HummingbirdTesting
import Queue
import Storage
import Tenancy
import Testing
import TestSupport
import TriggerProtocol

/// Create → index → register, end to end against endpoints that replay the real SDK's answers.
@Suite struct EndpointLifecycleTests {
    @Test(arguments: Backend.available)
    func createIndexesTheFixtureAndFansOutRegistrationInOrder(_ backend: Backend) async throws {
        try await TestStack.run(backend, worker: false) { stack, client in
            let env = try await stack.environment()
            let server = try await TestHTTPServer.start { RealSDKReplay.reply(to: $0, apiKey: env.apiKey) }
            defer { Task { await server.stop() } }
            let url = server.baseURL + "/api/trigger"
            let created = try await client.call(.post, "/api/v1/endpoints", key: env.apiKey, body: #"{"id":"my-endpoint","url":"\#(url)"}"#)
            #expect(created.status == .ok, "\(created.text)")
            let body = created.json
            #expect(body["slug"] == "my-endpoint" && body["url"] == .string(url))
            #expect(body["environmentId"]?.stringValue == env.id.uuidString.lowercased())
            #expect(body["organizationId"]?.stringValue == env.organization.id.uuidString.lowercased())
            #expect(body["projectId"]?.stringValue == env.project.id.uuidString.lowercased())
            let hook = try #require(body["indexingHookIdentifier"]?.stringValue)
            #expect(hook.count == 10 && hook.allSatisfy { "0123456789abcdefghijklmnopqrstuvxyz".contains($0) })
            #expect(body["endpointIndex"]?["status"] == "PENDING")
            #expect(body["createdAt"]?.stringValue?.hasSuffix("Z") == true)
            let endpointId = try #require(body["id"]?.stringValue.flatMap(UUID.init(uuidString:)))
            let indexId = try #require(body["endpointIndex"]?["id"]?.stringValue.flatMap(UUID.init(uuidString:)))
            let queueName = EndpointTasks.queueName(endpointId: endpointId)

            // One transaction wrote the endpoint, the PENDING index and the indexing job.
            let queued = try await stack.queue.jobs()
            #expect(queued.map(\.taskIdentifier) == [EndpointTasks.indexEndpoint] && queued[0].queueName == queueName)
            #expect(queued[0].maxAttempts == 1, "DEVELOPMENT environments index once")

            // Run the indexing job by hand to see what it enqueues, before any registration runs.
            let claimed = try await stack.queue.claim(workerId: "test", limit: 1)
            let payload = try JSONDecoder().decode(IndexEndpointPayload.self, from: Data(claimed[0].payload.utf8))
            try await stack.endpoints.performIndex(payload, job: claimed[0])
            try await stack.queue.finish(workerId: "test", completed: claimed, failed: [])
            let index = try await stack.endpoints.index(environment: env, id: indexId)
            #expect(index.status == .success && index.source == .internal)
            #expect(index.stats == ["jobs": 10, "sources": 1, "dynamicTriggers": 1, "dynamicSchedules": 1, "disabledJobs": 0])
            let fanOut = try await stack.queue.jobs()
            #expect(fanOut.allSatisfy { $0.queueName == queueName && $0.maxAttempts == 3 })
            #expect(fanOut.map(\.taskIdentifier) == Array(repeating: "registerJob", count: 10)
                    + ["registerSource", "registerDynamicTrigger", "registerDynamicSchedule", "finishRegistration"])
            let firstJob = try JSONValue.parse(fanOut[0].payload)
            #expect(firstJob["endpointId"]?.stringValue == endpointId.uuidString.lowercased() && firstJob["job"]?["id"] == "event-1")
            #expect(firstJob["job"]?["internal"] == false, "stored payloads are the parsed, defaulted values")

            let status = try await client.call(.get, "/api/v1/endpointindex/\(indexId.uuidString.lowercased())", key: env.apiKey)
            #expect(status.json["status"] == "SUCCESS" && status.json["stats"]?["jobs"] == 10)
            #expect(status.json["registration"]?["pending"] == 13, "10 jobs, a source, a dynamic trigger and a dynamic schedule")
        }
    }

    @Test(arguments: Backend.available)
    func registrationPersistsWhatTheEndpointDeclares(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let env = try await stack.environment()
            let server = try await TestHTTPServer.start { RealSDKReplay.reply(to: $0, apiKey: env.apiKey) }
            defer { Task { await server.stop() } }
            let created = try await client.call(.post, "/api/v1/endpoints", key: env.apiKey, body: #"{"id":"my-endpoint","url":"\#(server.baseURL)/api/trigger"}"#)
            let indexId = try #require(created.json["endpointIndex"]?["id"]?.stringValue.flatMap(UUID.init(uuidString:)))
            let index = try await stack.settledIndex(indexId, environment: env)
            #expect(index.status == .success)

            // The fixture's GitHub integration is HOSTED and this organization has none: those items
            // fail with trigger.dev's message, the rest register.
            let summary = try await stack.endpoints.registrationSummary(indexId: indexId)
            #expect(summary.registered == 8 && summary.failed == 5)
            #expect(Set(summary.failures.map(\.key)) == ["register-dynamic-trigger-github-issue-opened", "user-on-issue-opened", "github-on-issue-opened",
                                                         "github.repo-http-triggerdotdevempty-github"])
            #expect(summary.failures.filter { $0.kind == "JOB" }.allSatisfy { $0.message == "Could not find Integration with id github" })
            #expect(summary.failures.first { $0.kind == "SOURCE" }?.message == "Integration not found")
            let statusJSON = try await client.call(.get, "/api/v1/endpointindex/\(indexId.uuidString.lowercased())", key: env.apiKey).json
            #expect(statusJSON["registration"]?["failed"] == 5 && statusJSON["registration"]?["pending"] == 0)

            #expect(try await stack.count("jobs") == 6)
            #expect(try await stack.count("job_versions", "status = 'ACTIVE'") == 6)
            #expect(try await stack.count("job_queues") == 2)
            #expect(try await stack.database.queryFirst("SELECT max_jobs FROM job_queues WHERE name = 'user-queue'")?.decode("max_jobs", as: Int.self) == 5)
            #expect(try await stack.count("job_aliases", "name = 'latest'") == 6)
            #expect(try await stack.count("event_examples") == 3)
            #expect(try await stack.count("event_dispatchers") == 6, "3 static, 2 scheduled, 1 dynamic schedule")
            #expect(try await stack.count("schedule_sources", "active = \(backend == .postgres ? "true" : "1")") == 2)
            #expect(try await stack.count("dynamic_triggers") == 2)
            #expect(try await stack.count("dynamic_trigger_jobs") == 1, "only the schedule's job registered")
            let userCreated = try await client.call(.get, "/api/v1/jobs/user-created", key: env.apiKey).json
            #expect(userCreated["latestVersion"] == "1.2.3")
            if case .array(let versions)? = userCreated["versions"] { #expect(versions.first?["startPosition"] == "INITIAL") } else { Issue.record("no versions") }
            #expect(userCreated["dispatcher"]?["event"] == "user.created" && userCreated["dispatcher"]?["payloadFilter"] == ["plan": ["pro", "enterprise"]])
            let cron = try await client.call(.get, "/api/v1/jobs/scheduled-cron", key: env.apiKey).json
            #expect(cron["schedule"]?["schedule"] == ["type": "cron", "options": ["cron": "*/5 * * * *"]])
            #expect(cron["schedule"]?["nextRunAt"]?.stringValue?.hasSuffix(":00.000Z") == true)

            // With the integration configured, a re-index registers everything, without duplicates.
            let now = Date()
            try await stack.database.query("INSERT INTO integration_definitions (id, name, created_at, updated_at) VALUES ('github', 'GitHub', \(now), \(now))")
            try await stack.database.query("""
                INSERT INTO integrations (id, slug, auth_source, connection_type, definition_id, organization_id, created_at, updated_at)
                VALUES (\(UUID()), 'github', 'HOSTED', 'EXTERNAL', 'github', \(env.organization.id), \(now), \(now))
                """)
            let reindexed = try await client.call(.post, "/api/v1/endpoints/my-endpoint/index", key: env.apiKey, body: #"{"reason":"integration added"}"#)
            #expect(reindexed.json["source"] == "API" && reindexed.json["reason"] == "integration added")
            let second = try await stack.settledIndex(try #require(reindexed.json["id"]?.stringValue.flatMap(UUID.init(uuidString:))), environment: env)
            #expect(second.status == .success)
            let full = try await stack.endpoints.registrationSummary(indexId: second.id)
            #expect(full.registered == 13 && full.failed == 0)
            #expect(try await stack.count("jobs") == 10)
            #expect(try await stack.count("job_versions") == 10)
            #expect(try await stack.count("trigger_sources") == 1)
            #expect(try await stack.count("trigger_source_events", "name = 'issues'") == 1)
            #expect(try await stack.count("secret_store") == 1)
            #expect(try await stack.count("dynamic_trigger_jobs") == 2)
            #expect(try await stack.count("job_integrations") == 4)

            // Unchanged again: nothing new.
            let third = try await client.call(.post, "/api/v1/endpoints/my-endpoint/index", key: env.apiKey)
            _ = try await stack.settledIndex(try #require(third.json["id"]?.stringValue.flatMap(UUID.init(uuidString:))), environment: env)
            for (table, expected) in [("jobs", 10), ("job_versions", 10), ("job_aliases", 10), ("event_dispatchers", 9), ("event_examples", 3),
                                      ("trigger_sources", 1), ("dynamic_triggers", 2), ("schedule_sources", 2), ("job_integrations", 4)] {
                let actual = try await stack.count(table)
                #expect(actual == expected, "\(table)")
            }
            let jobs = try await client.call(.get, "/api/v1/jobs", key: env.apiKey).json
            if case .array(let items) = jobs { #expect(items.count == 10) } else { Issue.record("not an array") }
        }
    }

    @Test(arguments: Backend.available)
    func reindexingConvergesToWhatTheEndpointNowDeclares(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let env = try await stack.environment()
            let endpoint = SwitchableEndpoint()
            let server = try await TestHTTPServer.start { await endpoint.reply($0, apiKey: env.apiKey) }
            defer { Task { await server.stop() } }
            func job(_ id: String, _ version: String, enabled: Bool = true, cron: String? = nil) -> JSONValue {
                let trigger: JSONValue = cron.map { ["type": "scheduled", "schedule": ["type": "cron", "options": ["cron": .string($0)]]] }
                    ?? ["type": "static", "title": "e", "rule": ["event": "e", "source": "trigger.dev", "payload": [:]]]
                return ["id": .string(id), "name": .string(id), "version": .string(version),
                        "event": ["name": "e", "title": "E", "source": "trigger.dev", "icon": "custom-event"],
                        "trigger": trigger, "integrations": [:], "startPosition": "latest", "enabled": .bool(enabled), "preprocessRuns": false]
            }
            func index(_ jobs: [JSONValue]) -> JSONValue { ["jobs": .array(jobs), "sources": [], "dynamicTriggers": [], "dynamicSchedules": []] }
            func reindex() async throws -> EndpointIndex {
                let response = try await client.call(.post, "/api/v1/endpoints/my-endpoint/index", key: env.apiKey)
                return try await stack.settledIndex(try #require(response.json["id"]?.stringValue.flatMap(UUID.init(uuidString:))), environment: env)
            }
            func status(_ slug: String) async throws -> [String: String] {
                let rows = try await stack.database.query("""
                    SELECT v.version, v.status FROM job_versions v JOIN jobs j ON j.id = v.job_id WHERE j.slug = \(slug)
                    """)
                return Dictionary(uniqueKeysWithValues: try rows.map { (try $0.decode("version", as: String.self), try $0.decode("status", as: String.self)) })
            }
            func latest(_ slug: String) async throws -> String? {
                try await stack.database.queryFirst("""
                    SELECT a.value FROM job_aliases a JOIN jobs j ON j.id = a.job_id WHERE j.slug = \(slug)
                    """)?.decode("value")
            }
            func dispatcherVersion(_ slug: String) async throws -> String? {
                try await stack.database.queryFirst("""
                    SELECT v.version FROM event_dispatchers d JOIN jobs j ON d.dispatchable_id = \(unsafeRaw: stack.database.dialect == .postgres ? "j.id::text" : "j.id")
                    JOIN job_versions v ON v.id = \(unsafeRaw: stack.database.dialect == .postgres ? "(d.dispatchable->>'id')::uuid" : "json_extract(d.dispatchable, '$.id')")
                    WHERE j.slug = \(slug)
                    """)?.decode("version")
            }

            await endpoint.serve(index([job("a", "9.0.0"), job("b", "1.0.0"), job("c", "1.0.0")]))
            _ = try await client.call(.post, "/api/v1/endpoints", key: env.apiKey, body: #"{"id":"my-endpoint","url":"\#(server.baseURL)/api/trigger"}"#)
            #expect(try await reindex().status == .success)
            #expect(try await latest("a") == "9.0.0")

            // Bumped version: 10.0.0 is newer than 9.0.0 (trigger.dev compared strings and got this wrong).
            await endpoint.serve(index([job("a", "10.0.0"), job("b", "1.0.0"), job("c", "1.0.0")]))
            _ = try await reindex()
            #expect(try await latest("a") == "10.0.0")
            #expect(try await dispatcherVersion("a") == "10.0.0", "dispatcher and alias agree")
            // An older deployment registering 9.0.0 again moves neither.
            await endpoint.serve(index([job("a", "9.0.0"), job("b", "1.0.0"), job("c", "1.0.0")]))
            _ = try await reindex()
            #expect(try await latest("a") == "10.0.0")
            #expect(try await dispatcherVersion("a") == "10.0.0")

            // b removed, c disabled: both become DISABLED; an invalid cron fails only that job.
            await endpoint.serve(index([job("a", "10.0.0"), job("c", "1.0.0", enabled: false), job("d", "1.0.0", cron: "61 * * * *")]))
            let changed = try await reindex()
            #expect(changed.stats?["disabledJobs"] == 1)
            #expect(try await status("b") == ["1.0.0": "DISABLED"])
            #expect(try await status("c") == ["1.0.0": "DISABLED"])
            #expect(try await status("a")["10.0.0"] == "ACTIVE")
            let summary = try await stack.endpoints.registrationSummary(indexId: changed.id)
            #expect(summary.failures.map(\.key) == ["d"])
            #expect(summary.failures.first?.message.contains("Invalid cron expression \"61 * * * *\"") == true)
            #expect(try await stack.count("job_versions", "status = 'ACTIVE'") == 2, "a 9.0.0 and a 10.0.0")

            // Declared again: back to ACTIVE.
            await endpoint.serve(index([job("a", "10.0.0"), job("b", "1.0.0"), job("c", "1.0.0"), job("d", "1.0.0", cron: "0 9 * * MON-FRI")]))
            _ = try await reindex()
            for slug in ["b", "c", "d"] { #expect(try await status(slug) == ["1.0.0": "ACTIVE"], "\(slug)") }
        }
    }

    @Test(arguments: Backend.available)
    func concurrentIndexesOfTwoEndpointsSharingAProject(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let dev = try await stack.environment(.development)
            let prod = try await stack.environment(.production)
            #expect(dev.project.id == prod.project.id)
            let devServer = try await TestHTTPServer.start { RealSDKReplay.reply(to: $0, apiKey: dev.apiKey) }
            let prodServer = try await TestHTTPServer.start { RealSDKReplay.reply(to: $0, apiKey: prod.apiKey) }
            defer { Task { await devServer.stop(); await prodServer.stop() } }
            async let a = client.call(.post, "/api/v1/endpoints", key: dev.apiKey, body: #"{"id":"my-endpoint","url":"\#(devServer.baseURL)/api/trigger"}"#)
            async let b = client.call(.post, "/api/v1/endpoints", key: prod.apiKey, body: #"{"id":"my-endpoint","url":"\#(prodServer.baseURL)/api/trigger"}"#)
            let (ra, rb) = try await (a, b)
            let ia = try #require(ra.json["endpointIndex"]?["id"]?.stringValue.flatMap(UUID.init(uuidString:)))
            let ib = try #require(rb.json["endpointIndex"]?["id"]?.stringValue.flatMap(UUID.init(uuidString:)))
            #expect(try await stack.settledIndex(ia, environment: dev).status == .success)
            #expect(try await stack.settledIndex(ib, environment: prod).status == .success)
            // Jobs are per project (shared), versions per environment.
            #expect(try await stack.count("jobs") == 6)
            #expect(try await stack.count("job_versions") == 12)
            #expect(try await stack.count("job_aliases") == 12)
        }
    }
}
