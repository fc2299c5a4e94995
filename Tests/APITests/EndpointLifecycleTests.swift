import Endpoints
import Foundation
import JSON
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
            try await stack.withSDKEndpoint { env, server in
                let url = server.baseURL + "/api/trigger"
                let created = try await client.call(.post, "/api/v1/endpoints", key: env.apiKey, body: #"{"id":"my-endpoint","url":"\#(url)"}"#)
                #expect(created.status == .ok, "\(created.text)")
                let body = created.json
                #expect(body["slug"] == "my-endpoint" && body["url"] == .string(url))
                #expect(body["environmentId"]?.stringValue == env.id.lowercasedString)
                #expect(body["organizationId"]?.stringValue == env.organization.id.lowercasedString)
                #expect(body["projectId"]?.stringValue == env.project.id.lowercasedString)
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
                #expect(queued[0].maxAttempts == EndpointTasks.indexAttempts, "database errors are retried in every environment")

                // Run the indexing job by hand to see what it enqueues, before any registration runs.
                let claimed = try await stack.queue.claim(workerId: "test", limit: 1)
                let payload = try JSONDecoder().decode(IndexEndpointPayload.self, from: Data(claimed[0].payload.utf8))
                try await stack.endpoints.performIndex(payload, job: claimed[0])
                try await stack.queue.finish(workerId: "test", completed: claimed, failed: [])
                let index = try await stack.endpoints.index(environment: env, id: indexId)
                #expect(index.status == .success && index.source == .internal)
                #expect(index.stats == ["jobs": 10, "sources": 1, "dynamicTriggers": 1, "dynamicSchedules": 1, "disabledJobs": 0])
                let fanOut = try await stack.queue.jobs()
                #expect(fanOut.allSatisfy { $0.queueName == queueName && $0.maxAttempts == EndpointTasks.registrationAttempts })
                #expect(fanOut.map(\.taskIdentifier) == ["registerJob", "registerSource", "registerDynamicTrigger", "registerDynamicSchedule", "finishRegistration"],
                        "the jobs go in one set-based batch")
                let jobBatch = try JSONValue.parse(fanOut[0].payload)
                #expect(jobBatch["endpointId"]?.stringValue == endpointId.lowercasedString)
                guard case .array(let batched)? = jobBatch["jobs"] else { Issue.record("no jobs in \(jobBatch)"); return }
                #expect(batched.map { $0["id"]?.stringValue ?? "" } == ["event-1", "user-created", "scheduled-interval", "scheduled-cron",
                                                                       "register-dynamic-trigger-github-issue-opened", "user-on-issue-opened", "use-dynamic-interval",
                                                                       "github-on-issue-opened", "github.repo-http-triggerdotdevempty-github", "on-missing-connection"],
                        "in the endpoint's order")
                let sent = try JSONValue.parse(Fixtures.body("index-ok"))["jobs"]?.arrayValue ?? []
                #expect(batched == sent, "items travel as the endpoint sent them (registration validates them), not re-encoded")
                #expect(try JSONValue.parse(fanOut[1].payload)["source"]?["key"] != nil, "other items keep trigger.dev's one-item payload")

                let status = try await client.call(.get, "/api/v1/endpointindex/\(indexId.lowercasedString)", key: env.apiKey)
                #expect(status.json["status"] == "SUCCESS" && status.json["stats"]?["jobs"] == 10)
                #expect(status.json["registration"]?["pending"] == 13, "10 jobs, a source, a dynamic trigger and a dynamic schedule")
            }
        }
    }

    @Test(arguments: Backend.available)
    func registrationPersistsWhatTheEndpointDeclares(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            try await stack.withSDKEndpoint { env, server in
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
                let statusJSON = try await client.call(.get, "/api/v1/endpointindex/\(indexId.lowercasedString)", key: env.apiKey).json
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

                // With the integration connected (as `kongflow integrations create github` does), a re-index
                // registers everything, without duplicates.
                let connected = try await client.call(.post, "/api/v1/integrations", key: env.apiKey,
                                                      body: #"{"id":"github","service":"github","auth":{"type":"oauth2","accessToken":"gho_token"}}"#)
                #expect(connected.status == .ok)
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
    }

    @Test(arguments: Backend.available)
    func reindexingConvergesToWhatTheEndpointNowDeclares(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let env = try await stack.environment()
            let endpoint = SwitchableEndpoint()
            let server = try await TestHTTPServer.start { await endpoint.reply($0, apiKey: env.apiKey) }
            defer { Task { await server.stop() } }
            func job(_ id: String, _ version: String, enabled: Bool = true, cron: String? = nil, examples: [String] = []) -> JSONValue {
                let trigger: JSONValue = cron.map { ["type": "scheduled", "schedule": ["type": "cron", "options": ["cron": .string($0)]]] }
                    ?? ["type": "static", "title": "e", "rule": ["event": "e", "source": "trigger.dev", "payload": [:]]]
                return ["id": .string(id), "name": .string(id), "version": .string(version),
                        "event": ["name": "e", "title": "E", "source": "trigger.dev", "icon": "custom-event",
                                  "examples": .array(examples.map { ["id": .string($0), "name": .string($0), "payload": ["n": 1]] })],
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

            // One index declaring a slug twice registers both versions, in order; examples follow the declaration.
            await endpoint.serve(index([job("a", "10.0.0", examples: ["x", "y"]), job("e", "1.0.0"), job("e", "2.0.0", examples: ["z"])]))
            let twice = try await reindex()
            #expect(try await stack.endpoints.registrationSummary(indexId: twice.id).failed == 0)
            #expect(try await status("e") == ["1.0.0": "ACTIVE", "2.0.0": "ACTIVE"])
            #expect(try await latest("e") == "2.0.0")
            #expect(try await dispatcherVersion("e") == "2.0.0")
            #expect(try await stack.count("event_examples") == 3)
            await endpoint.serve(index([job("a", "10.0.0", examples: ["y"]), job("e", "2.0.0")]))
            _ = try await reindex()
            let examples = try await stack.database.query("SELECT slug FROM event_examples").map { try $0.decode("slug", as: String.self) }
            #expect(examples == ["y"], "removed examples are deleted, also when a job has none left")

            // An endpoint that declares no jobs any more disables every job it had.
            await endpoint.serve(index([]))
            _ = try await reindex()
            #expect(try await stack.count("job_versions", "status = 'ACTIVE'") == 0)
        }
    }

    @Test(arguments: Backend.available)
    func aLargeEndpointRegistersInSetBasedBatches(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let env = try await stack.environment()
            let count = EndpointTasks.jobsPerRegistration * 2 + 1
            let endpoint = SwitchableEndpoint()
            let server = try await TestHTTPServer.start { await endpoint.reply($0, apiKey: env.apiKey) }
            defer { Task { await server.stop() } }
            func job(_ n: Int) -> JSONValue {
                let examples: JSONValue = n % 100 == 0 ? [["id": "ex", "name": "Ex"]] : []
                let event: JSONValue = ["name": .string("e.\(n % 13)"), "title": "E", "source": "trigger.dev", "icon": "custom-event", "examples": examples]
                let rule: JSONValue = ["event": .string("e.\(n % 13)"), "source": "trigger.dev"]
                let trigger: JSONValue = n % 250 == 0
                    ? ["type": "scheduled", "schedule": ["type": "interval", "options": ["seconds": 60]]]
                    : ["type": "static", "title": "e", "rule": rule]
                let slack: JSONValue = ["id": "slack", "metadata": ["id": "slack", "name": "Slack"], "authSource": "LOCAL"]
                let integrations: JSONValue = n % 10 == 0 ? ["slack": slack] : [:]
                return ["id": .string("job-\(n)"), "name": "J", "version": .string("1.0.\(n % 7)"), "event": event, "trigger": trigger,
                        "integrations": integrations, "queue": .string("q-\(n % 3)"), "startPosition": "latest",
                        "enabled": .bool(n % 500 != 1), "preprocessRuns": false]
            }
            let jobs = (0..<count).map(job)
            await endpoint.serve(["jobs": .array(jobs), "sources": [], "dynamicTriggers": [], "dynamicSchedules": []])
            let created = try await client.call(.post, "/api/v1/endpoints", key: env.apiKey, body: #"{"id":"my-endpoint","url":"\#(server.baseURL)/api/trigger"}"#)
            let index = try await stack.settledIndex(try #require(created.json["endpointIndex"]?["id"]?.stringValue.flatMap(UUID.init(uuidString:))), environment: env)
            #expect(index.status == .success)
            let summary = try await stack.endpoints.registrationSummary(indexId: index.id)
            #expect(summary.registered == count && summary.failed == 0)
            let disabled = (0..<count).filter { $0 % 500 == 1 }.count
            #expect(try await stack.count("jobs") == count)
            #expect(try await stack.count("job_versions", "status = 'ACTIVE'") == count - disabled)
            #expect(try await stack.count("job_aliases") == count - disabled)
            #expect(try await stack.count("event_dispatchers", "enabled = \(backend == .postgres ? "true" : "1")") == count - disabled)
            #expect(try await stack.count("schedule_sources") == (0..<count).filter { $0 % 250 == 0 }.count)
            #expect(try await stack.count("event_examples") == (0..<count).filter { $0 % 100 == 0 }.count)
            #expect(try await stack.count("job_integrations") == (0..<count).filter { $0 % 10 == 0 }.count)
            #expect(try await stack.count("integrations") == 1)
            #expect(try await stack.count("job_queues") == 3)
            #expect(try await stack.count("kongflow_jobs", "task_identifier <> 'fireSchedule'") == 0, "no task failed or is left over")
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
