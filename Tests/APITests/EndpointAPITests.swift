import Endpoints
import Foundation
import HTTPAPI
import Hummingbird
import JSON
import HummingbirdTesting
import Queue
import Storage
import Tenancy
import Testing
import TestSupport
import TriggerProtocol

/// The HTTP API's contract: trigger.dev's messages and statuses, isolation, the deploy hook.
@Suite struct EndpointAPITests {
    @Test(arguments: Backend.available)
    func pingFailuresAreBadRequestsWithTriggerDevMessages(_ backend: Backend) async throws {
        try await TestStack.run(backend, worker: false) { stack, client in
            let env = try await stack.environment()
            let replay = try await TestHTTPServer.start { request in
                switch request.path {
                case "/html": return .init(status: 200, headers: [("content-type", "text/html")], body: Data("<!doctype html>".utf8))
                case "/slow": try await Task.sleep(for: .seconds(30)); return .json(200, #"{"ok":true}"#)
                case "/500": return .json(500, "{}")
                default: return RealSDKReplay.reply(to: request, apiKey: env.apiKey)
                }
            }
            let wrongKeyServer = try await TestHTTPServer.start { RealSDKReplay.reply(to: $0, apiKey: "tr_dev_x") }
            defer { Task { await replay.stop(); await wrongKeyServer.stop() } }
            let dead = "http://127.0.0.1:\(try TestHTTPServer.closedPort())/api/trigger"
            let cases: [(String, String, String)] = [
                ("wrong-endpoint", replay.baseURL + "/api/trigger", "Endpoint ID mismatch error. Expected my-endpoint, got wrong-endpoint"),
                ("other", replay.baseURL + "/api/trigger", "Endpoint ID mismatch error. Expected my-endpoint, got other"),
                ("my-endpoint", wrongKeyServer.baseURL + "/api/trigger", "Unauthorized"),
                ("my-endpoint", dead, "Could not connect to endpoint \(dead)"),
                ("my-endpoint", replay.baseURL + "/500", "Could not connect to endpoint \(replay.baseURL)/500. Status code: 500"),
                ("my-endpoint", replay.baseURL + "/html", "Could not parse response from endpoint. Make sure it points to the correct URL (you might be missing /api/trigger)"),
                ("my-endpoint", replay.baseURL + "/slow", "Could not connect to endpoint \(replay.baseURL)/slow: no response within 8s"),
            ]
            for (id, url, message) in cases {
                let response = try await client.call(.post, "/api/v1/endpoints", key: env.apiKey, body: #"{"id":"\#(id)","url":"\#(url)"}"#)
                #expect(response.status == .badRequest, "\(url)")
                #expect(response.json == ["error": .string(message)], "\(url)")
            }
            #expect(try await stack.count("endpoints") == 0, "a failed PING writes nothing")
            #expect(try await stack.queue.jobs().isEmpty)
        }
    }

    /// The SDK's own `ApiClient.registerEndpoint({url, name})` (apiClient.ts:70-106) sends exactly this body
    /// and types the 200 answer `{id, name, url}`.
    @Test(arguments: Backend.available)
    func theSDKsRegisterEndpointBodyIsAccepted(_ backend: Backend) async throws {
        try await TestStack.run(backend, worker: false) { stack, client in
            try await stack.withSDKEndpoint { env, server in
                let body = #"{"url":"\#(server.baseURL)/api/trigger","name":"my-endpoint"}"#
                let response = try await client.call(.post, "/api/v1/endpoints", key: env.apiKey, body: body)
                #expect(response.status == .ok)
                #expect(response.json["name"] == "my-endpoint" && response.json["slug"] == "my-endpoint")
                #expect(response.json["url"] == .string("\(server.baseURL)/api/trigger"))
                let id = try #require(response.json["id"]?.stringValue)
                #expect(id == id.lowercased() && UUID(uuidString: id) != nil)
                #expect(try await stack.endpoints.endpoint(environment: env, slug: "my-endpoint").id.lowercasedString == id)
                // `id` wins when both are sent, as the CLI's body has it.
                let both = try await client.call(.post, "/api/v1/endpoints", key: env.apiKey,
                                                 body: #"{"id":"my-endpoint","name":"ignored","url":"\#(server.baseURL)/api/trigger"}"#)
                #expect(both.status == .ok && both.json["id"] == .string(id))
            }
        }
    }

    @Test(arguments: Backend.available)
    func badInputIsAClearErrorAndWritesNothing(_ backend: Backend) async throws {
        try await TestStack.run(backend, worker: false) { stack, client in
            let env = try await stack.environment()
            let bodies: [(String, HTTPResponse.Status, String)] = [
                ("", .badRequest, "Invalid request body"),
                ("{not json", .badRequest, "Invalid request body"),
                ("[]", .badRequest, "Invalid request body: Expected object, received array"),
                (#"{"id":1,"url":"http://x"}"#, .badRequest, #"Invalid request body: Expected string, received number at "id""#),
                (#"{"id":"a"}"#, .badRequest, #"Invalid request body: Required at "url""#),
                (#"{"url":"http://example.com"}"#, .badRequest, #"Invalid request body: Required at "id""#),
                (#"{"id":"a","url":"ftp://example.com/x"}"#, .badRequest, "Invalid request body: url must be an http or https URL"),
                (#"{"id":"a","url":"not a url"}"#, .badRequest, "Invalid request body: url must be an http or https URL"),
                (#"{"id":"","url":"http://example.com"}"#, .badRequest, "Invalid request body: id must be 1 to 100 characters"),
                (#"{"id":"\#(String(repeating: "x", count: 101))","url":"http://example.com"}"#, .badRequest, "Invalid request body: id must be 1 to 100 characters"),
                (#"{"id":"a","url":"http://example.com","pad":"\#(String(repeating: "x", count: 2 << 20))"}"#, .contentTooLarge, "Request body is too large: the limit is 1048576 bytes"),
                (String(repeating: "[", count: 100_000), .badRequest, "Invalid request body"),
            ]
            for (body, status, message) in bodies {
                let response = try await client.call(.post, "/api/v1/endpoints", key: env.apiKey, body: body)
                #expect(response.status == status, "\(body.prefix(40))")
                #expect(response.json["error"]?.stringValue == message, "\(body.prefix(40))")
            }
            // Authentication comes first, as in trigger.dev.
            let unauthorized = try await client.call(.post, "/api/v1/endpoints", body: "{not json")
            #expect(unauthorized.status == .unauthorized && unauthorized.json == ["error": "Invalid or Missing API key"])
            let badIndexBody = try await client.call(.post, "/api/v1/endpoints/none/index", key: env.apiKey, body: #"{"reason":5}"#)
            #expect(badIndexBody.status == .badRequest)
            let missing = try await client.call(.post, "/api/v1/endpoints/none/index", key: env.apiKey)
            #expect(missing.status == .notFound && missing.json == ["error": "Endpoint not found"])
            let cursor = try await client.call(.get, "/api/v1/endpoints/none/indexes?cursor=zzz", key: env.apiKey)
            #expect(cursor.status == .badRequest)
            #expect(try await stack.count("endpoints") == 0)
        }
    }

    @Test(arguments: Backend.available)
    func anotherEnvironmentsKeyReachesNothing(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let a = try await stack.environment(organization: "Alpha")
            let b = try await stack.environment(organization: "Beta")
            let server = try await TestHTTPServer.start { RealSDKReplay.reply(to: $0, apiKey: a.apiKey) }
            defer { Task { await server.stop() } }
            let created = try await client.call(.post, "/api/v1/endpoints", key: a.apiKey, body: #"{"id":"my-endpoint","url":"\#(server.baseURL)/api/trigger"}"#)
            let indexId = try #require(created.json["endpointIndex"]?["id"]?.stringValue)
            _ = try await stack.settledIndex(UUID(uuidString: indexId)!, environment: a)
            for (method, path) in [(HTTPRequest.Method.get, "/api/v1/endpoints/my-endpoint"), (.get, "/api/v1/endpoints/my-endpoint/indexes"),
                                   (.post, "/api/v1/endpoints/my-endpoint/index"), (.delete, "/api/v1/endpoints/my-endpoint"),
                                   (.get, "/api/v1/endpointindex/\(indexId)"), (.get, "/api/v1/jobs/event-1")] {
                let response = try await client.call(method, path, key: b.apiKey)
                #expect(response.status == .notFound, "\(method) \(path)")
            }
            #expect(try await client.call(.get, "/api/v1/endpoints", key: b.apiKey).json == .array([]))
            #expect(try await client.call(.get, "/api/v1/jobs", key: b.apiKey).json == .array([]))
            // B registering the same slug gets its own endpoint, and A's is untouched.
            let bServer = try await TestHTTPServer.start { RealSDKReplay.reply(to: $0, apiKey: b.apiKey) }
            defer { Task { await bServer.stop() } }
            let bCreated = try await client.call(.post, "/api/v1/endpoints", key: b.apiKey, body: #"{"id":"my-endpoint","url":"\#(bServer.baseURL)/api/trigger"}"#)
            #expect(bCreated.json["id"] != created.json["id"])
            #expect(try await client.call(.get, "/api/v1/endpoints/my-endpoint", key: a.apiKey).json["url"]?.stringValue == server.baseURL + "/api/trigger")
            // Without a key, every authenticated route is 401.
            for path in ["/api/v1/endpoints", "/api/v1/endpoints/my-endpoint", "/api/v1/endpointindex/\(indexId)", "/api/v1/jobs", "/api/v1/whoami"] {
                #expect(try await client.call(.get, path).status == .unauthorized, "\(path)")
            }
        }
    }

    @Test(arguments: Backend.available)
    func deployHookChecksTheIdentifierAndIndexesWithAVercelReason(_ backend: Backend) async throws {
        try await TestStack.run(backend, worker: false, hookDelay: 5) { stack, client in
            try await stack.withSDKEndpoint(.production) { env, server in
                let created = try await client.call(.post, "/api/v1/endpoints", key: env.apiKey, body: #"{"id":"my-endpoint","url":"\#(server.baseURL)/api/trigger"}"#)
                let hook = try #require(created.json["indexingHookIdentifier"]?.stringValue)
                let base = "/api/v1/endpoints/\(env.id.lowercasedString)/my-endpoint/index"
                // Drain the creation index so that the hook gets a fresh one.
                let claimed = try await stack.queue.claim(workerId: "t", limit: 1)
                try await stack.endpoints.performIndex(try JSONDecoder().decode(IndexEndpointPayload.self, from: Data(claimed[0].payload.utf8)), job: claimed[0])
                try await stack.queue.finish(workerId: "t", completed: claimed, failed: [])
                try await stack.database.query("DELETE FROM kongflow_jobs")

                for path in ["\(base)/wrongwrong", "/api/v1/endpoints/\(UUID().uuidString)/my-endpoint/index/\(hook)",
                             "/api/v1/endpoints/not-a-uuid/my-endpoint/index/\(hook)", "/api/v1/endpoints/\(env.id.uuidString)/nope/index/\(hook)"] {
                    let response = try await client.call(.get, path)
                    #expect(response.status == .notFound, "\(path)")
                    #expect(response.json["error"] != nil)
                }
                let vercel = #"""
                    {"id":"evt","type":"deployment.succeeded","createdAt":1700000000000,"payload":{"deployment":{"id":"d","name":"acme-web","url":"acme-web.vercel.app",
                     "meta":{"githubCommitMessage":"Fix the thing","githubCommitRef":"main","githubCommitSha":"0123456789abcdef"}}}}
                    """#
                let response = try await client.call(.post, "\(base)/\(hook)", body: vercel)
                #expect(response.status == .ok && response.json == ["ok": true])
                let indexes = try await client.call(.get, "/api/v1/endpoints/my-endpoint/indexes", key: env.apiKey).json
                let newest = indexes["indexes"]
                guard case .array(let items)? = newest else { Issue.record("no indexes"); return }
                #expect(items.first?["source"] == "HOOK" && items.first?["status"] == "PENDING")
                #expect(items.first?["reason"] == "\"Fix the thing\" was deployed from main (0123456) to acme-web")
                #expect(items.first?["sourceData"]?["type"] == "deployment.succeeded")
                // The hook runs after its delay, with production's retry budget.
                let job = try #require(try await stack.queue.jobs().first)
                let requestedAt = try #require(items.first?["createdAt"]?.stringValue.flatMap(ISODate.parse))
                #expect(abs(job.runAt.timeIntervalSince(requestedAt) - 5) < 0.01 && job.maxAttempts == 7)
                // A GET right after coalesces into the same PENDING index.
                #expect(try await client.call(.get, "\(base)/\(hook)").json == ["ok": true])
                #expect(try await stack.count("endpoint_indexes", "source = 'HOOK'") == 1)
                #expect(try await stack.queue.jobs().count == 1)
                // A body that is not JSON is fine; there is simply no reason.
                #expect(VercelDeploymentReasonCheck.plain() == "Vercel project web was deployed to web.vercel.app")
            }
        }
    }

    @Test(arguments: Backend.available)
    func concurrentCreatesOfOneSlugEndWithOneRow(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            try await stack.withSDKEndpoint { env, server in
                let api = DirectAPI(client)
                let statuses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?).self) { group in
                    for _ in 0..<20 {
                        group.addTask {
                            let response = try await api.call(.post, "/api/v1/endpoints", key: env.apiKey, body: #"{"id":"my-endpoint","url":"\#(server.baseURL)/api/trigger"}"#)
                            return (HTTPResponse.Status(code: response.status), response.json["endpointIndex"]?["id"]?.stringValue)
                        }
                    }
                    return try await group.reduce(into: [(HTTPResponse.Status, String?)]()) { $0.append($1) }
                }
                #expect(statuses.allSatisfy { $0.0 == .ok })
                #expect(try await stack.count("endpoints") == 1)
                // Coalesced: far fewer indexes than requests, and every one of them ends terminal.
                #expect(try await eventually { try await stack.count("endpoint_indexes", "status IN ('PENDING', 'STARTED')") == 0 })
                let total = try await stack.count("endpoint_indexes")
                #expect(total >= 1 && total < 20)
                #expect(try await stack.count("endpoint_indexes", "status = 'SUCCESS'") == total)
            }
        }
    }

    @Test(arguments: Backend.available)
    func aFailedEnqueueRollsTheEndpointBack(_ backend: Backend) async throws {
        try await TestStack.run(backend, worker: false) { stack, client in
            try await stack.withSDKEndpoint { env, server in
                // Make the queue's insert fail inside CreateEndpoint's transaction.
                try await stack.database.query("ALTER TABLE kongflow_jobs RENAME TO kongflow_jobs_away")
                let response = try await client.call(.post, "/api/v1/endpoints", key: env.apiKey, body: #"{"id":"my-endpoint","url":"\#(server.baseURL)/api/trigger"}"#)
                try await stack.database.query("ALTER TABLE kongflow_jobs_away RENAME TO kongflow_jobs")
                #expect(response.status == .badRequest && response.json == ["error": "Something went wrong"])
                #expect(try await stack.count("endpoints") == 0)
                #expect(try await stack.count("endpoint_indexes") == 0)
            }
        }
    }

    @Test(arguments: Backend.available)
    func failuresRedirectsDeletionAndHistory(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let dev = try await stack.environment(.development)
            let broken = Flag()
            let server = try await TestHTTPServer.start { request in
                if request.path == "/old" { return .init(status: 308, headers: [("location", "/api/trigger")]) }
                if await broken.isSet, request.headers["x-trigger-action"] == "INDEX_ENDPOINT" { return .json(503, "{}") }
                return RealSDKReplay.reply(to: request, apiKey: dev.apiKey)
            }
            defer { Task { await server.stop() } }
            // A permanent redirect on INDEX_ENDPOINT moves the endpoint's URL.
            let created = try await client.call(.post, "/api/v1/endpoints", key: dev.apiKey, body: #"{"id":"my-endpoint","url":"\#(server.baseURL)/old"}"#)
            let createdIndex = try #require(created.json["endpointIndex"]?["id"]?.stringValue.flatMap(UUID.init(uuidString:)), "\(created.status): \(created.json)")
            _ = try await stack.settledIndex(createdIndex, environment: dev)
            #expect(try await client.call(.get, "/api/v1/endpoints/my-endpoint", key: dev.apiKey).json["url"]?.stringValue == server.baseURL + "/api/trigger")

            // A failing endpoint in DEVELOPMENT: FAILURE at once, with the message.
            await broken.set()
            let failed = try await client.call(.post, "/api/v1/endpoints/my-endpoint/index", key: dev.apiKey)
            #expect(failed.json["status"] == "FAILURE")
            #expect(failed.json["error"]?["message"]?.stringValue == "Could not connect to endpoint \(server.baseURL)/api/trigger. Status code: 503")
            let state = try await client.call(.get, "/api/v1/endpointindex/\(failed.json["id"]!.stringValue!)", key: dev.apiKey).json
            #expect(state["status"] == "FAILURE" && state["error"]?["message"] == failed.json["error"]?["message"])

            // History: newest first, paginated.
            let page1 = try await client.call(.get, "/api/v1/endpoints/my-endpoint/indexes?limit=1", key: dev.apiKey).json
            let cursor = try #require(page1["nextCursor"]?.stringValue)
            let page2 = try await client.call(.get, "/api/v1/endpoints/my-endpoint/indexes?limit=1&cursor=\(cursor)", key: dev.apiKey).json
            #expect(page1["indexes"]?[0]?["status"] == "FAILURE" && page2["indexes"]?[0]?["status"] == "SUCCESS")
            #expect(page1["indexes"]?[0]?["data"] == nil)
            let list = try await client.call(.get, "/api/v1/endpoints", key: dev.apiKey).json
            #expect(list.arrayValue?.count == 1 && list[0]?["endpointIndex"]?["id"] == failed.json["id"], "the latest of its two indexes")
            let one = try await client.call(.get, "/api/v1/endpoints/my-endpoint", key: dev.apiKey).json
            #expect(one["endpointIndex"]?["id"] == failed.json["id"] && one["endpointIndex"]?["status"] == "FAILURE" && one["id"] == created.json["id"])

            // Delete keeps history; the slug can be registered again.
            #expect(try await client.call(.delete, "/api/v1/endpoints/my-endpoint", key: dev.apiKey).status == .ok)
            #expect(try await client.call(.get, "/api/v1/endpoints/my-endpoint", key: dev.apiKey).status == .notFound)
            #expect(try await client.call(.get, "/api/v1/endpoints", key: dev.apiKey).json == .array([]))
            #expect(try await stack.count("endpoint_indexes") == 2)
            await broken.clear()
            let again = try await client.call(.post, "/api/v1/endpoints", key: dev.apiKey, body: #"{"id":"my-endpoint","url":"\#(server.baseURL)/api/trigger"}"#)
            #expect(again.json["id"] == created.json["id"], "the same endpoint comes back")
        }
    }

    @Test(arguments: Backend.available)
    func productionIndexFailuresAreRetriedBeforeTheyAreFinal(_ backend: Backend) async throws {
        try await TestStack.run(backend, worker: false) { stack, client in
            let prod = try await stack.environment(.production)
            let failing = Flag()
            let server = try await TestHTTPServer.start { request in
                if await failing.isSet, request.headers["x-trigger-action"] == "INDEX_ENDPOINT" { return .json(500, "{}") }
                return RealSDKReplay.reply(to: request, apiKey: prod.apiKey)
            }
            defer { Task { await server.stop() } }
            await failing.set()
            let created = try await client.call(.post, "/api/v1/endpoints", key: prod.apiKey, body: #"{"id":"my-endpoint","url":"\#(server.baseURL)/api/trigger"}"#)
            let indexId = try #require(created.json["endpointIndex"]?["id"]?.stringValue.flatMap(UUID.init(uuidString:)))
            var job = try #require(try await stack.queue.claim(workerId: "t", limit: 1).first)
            let payload = try JSONDecoder().decode(IndexEndpointPayload.self, from: Data(job.payload.utf8))
            await #expect(throws: (any Error).self) { try await stack.endpoints.performIndex(payload, job: job) }
            var index = try await stack.endpoints.index(environment: prod, id: indexId)
            #expect(index.status == .pending && index.error?.message.hasSuffix("Status code: 500") == true, "back to PENDING with the error while attempts remain")
            try await stack.queue.finish(workerId: "t", completed: [], failed: [.init(job: job, error: "x", retryNow: true)])
            await failing.clear()
            job = try #require(try await stack.queue.claim(workerId: "t", limit: 1).first)
            try await stack.endpoints.performIndex(payload, job: job)
            index = try await stack.endpoints.index(environment: prod, id: indexId)
            #expect(index.status == .success && index.error == nil)
        }
    }

    @Test(arguments: Backend.available)
    func coalescesRepeatedRequestsWhilePending(_ backend: Backend) async throws {
        try await TestStack.run(backend, worker: false) { stack, client in
            try await stack.withSDKEndpoint { env, server in
                let first = try await client.call(.post, "/api/v1/endpoints", key: env.apiKey, body: #"{"id":"my-endpoint","url":"\#(server.baseURL)/api/trigger"}"#)
                let second = try await client.call(.post, "/api/v1/endpoints", key: env.apiKey, body: #"{"id":"my-endpoint","url":"\#(server.baseURL)/api/trigger"}"#)
                let manual = try await client.call(.post, "/api/v1/endpoints/my-endpoint/index?wait=false", key: env.apiKey, body: #"{"source":"MANUAL"}"#)
                #expect(first.json["endpointIndex"]?["id"] == second.json["endpointIndex"]?["id"])
                #expect(manual.json["id"] == first.json["endpointIndex"]?["id"])
                #expect(try await stack.count("endpoint_indexes") == 1)
                #expect(try await stack.queue.jobs().count == 1)
                let bad = try await client.call(.post, "/api/v1/endpoints/my-endpoint/index?wait=false", key: env.apiKey, body: #"{"source":"HOOK"}"#)
                #expect(bad.status == .badRequest)
            }
        }
    }

    /// Registrations that arrive while an index is running queue exactly one new index between them:
    /// the database's one-PENDING-index constraint decides, not a lock on the endpoint's row.
    @Test(arguments: Backend.available)
    func registrationsWhileAnIndexRunsQueueExactlyOneMore(_ backend: Backend) async throws {
        try await TestStack.run(backend, worker: false) { stack, client in
            try await stack.withSDKEndpoint { env, server in
                let api = DirectAPI(client)
                let body = #"{"id":"my-endpoint","url":"\#(server.baseURL)/api/trigger"}"#
                let first = try await api.call(.post, "/api/v1/endpoints", key: env.apiKey, body: body)
                let running = try #require(first.json["endpointIndex"]?["id"]?.stringValue)
                try await stack.database.query("UPDATE endpoint_indexes SET status = 'STARTED'")
                let answers = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                    for _ in 0..<16 {
                        group.addTask {
                            let response = try await api.call(.post, "/api/v1/endpoints", key: env.apiKey, body: body)
                            return (response.status, response.json["endpointIndex"]?["id"]?.stringValue)
                        }
                    }
                    return try await group.reduce(into: [(Int, String?)]()) { $0.append($1) }
                }
                #expect(answers.allSatisfy { $0.0 == 200 })
                let ids = Set(answers.compactMap(\.1))
                #expect(ids.count == 1 && !ids.contains(running), "all sixteen got the one new index")
                #expect(try await stack.count("endpoint_indexes", "status = 'PENDING'") == 1)
                #expect(try await stack.count("endpoint_indexes") == 2)
                #expect(try await stack.queue.jobs().count == 2, "one indexing job per index")
            }
        }
    }

    /// An endpoint's indexes start at least `indexInterval` (1 s) apart: a registration right after
    /// an index began queues one that waits out the interval, later ones join it, and once the
    /// interval has passed a new index runs at once.
    @Test(arguments: Backend.available)
    func indexesOfOneEndpointStartAnIntervalApart(_ backend: Backend) async throws {
        let clock = TestClock()
        try await TestStack.run(backend, worker: false, now: clock.function) { stack, client in
            try await stack.withSDKEndpoint { env, server in
                func register() async throws -> String? {
                    let response = try await client.call(.post, "/api/v1/endpoints", key: env.apiKey, body: #"{"id":"my-endpoint","url":"\#(server.baseURL)/api/trigger"}"#)
                    #expect(response.status == .ok)
                    return response.json["endpointIndex"]?["id"]?.stringValue
                }
                func indexJobs() async throws -> [Job] { try await stack.queue.jobs().filter { $0.taskIdentifier == EndpointTasks.indexEndpoint }.sorted { $0.id < $1.id } }
                let first = try await register()
                #expect(try await indexJobs().map(\.runAt) == [clock.now], "the first index runs at once")
                try await stack.database.query("UPDATE endpoint_indexes SET status = 'STARTED'")
                clock.advance(by: 0.25)
                let second = try await register()
                #expect(second != first)
                #expect(try await indexJobs().last?.runAt == clock.now.addingTimeInterval(0.75), "one second after the first was created")
                clock.advance(by: 0.5)
                #expect(try await register() == second, "a registration inside the interval joins the waiting index")
                try await stack.database.query("UPDATE endpoint_indexes SET status = 'SUCCESS', stats = '{}', data = '{}'")
                clock.advance(by: 5)
                let third = try await register()
                #expect(third != second)
                #expect(try await indexJobs().last?.runAt == clock.now, "the interval is over: at once")
                #expect(try await indexJobs().count == 3)
            }
        }
    }

    /// An index whose call fails while a newer index of the endpoint is already queued ends at once:
    /// the newer one calls again, and the one-PENDING-index constraint leaves no room to go back.
    @Test(arguments: Backend.available)
    func aFailedIndexWithANewerOneQueuedEndsAtOnce(_ backend: Backend) async throws {
        try await TestStack.run(backend, worker: false) { stack, client in
            let prod = try await stack.environment(.production)
            let api = DirectAPI(client)
            let newer = Box(), base = Box()
            let server = try await TestHTTPServer.start { request in
                if request.headers["x-trigger-action"] == "INDEX_ENDPOINT" {
                    // While this index runs, the endpoint is registered again.
                    let body = #"{"id":"my-endpoint","url":"\#(await base.value ?? "")/api/trigger"}"#
                    let again = try? await api.call(.post, "/api/v1/endpoints", key: prod.apiKey, body: body)
                    await newer.set(again?.json["endpointIndex"]?["id"]?.stringValue)
                    return .json(500, "{}")
                }
                return RealSDKReplay.reply(to: request, apiKey: prod.apiKey)
            }
            defer { Task { await server.stop() } }
            await base.set(server.baseURL)
            let created = try await api.call(.post, "/api/v1/endpoints", key: prod.apiKey, body: #"{"id":"my-endpoint","url":"\#(server.baseURL)/api/trigger"}"#)
            let indexId = try #require(created.json["endpointIndex"]?["id"]?.stringValue.flatMap(UUID.init(uuidString:)))
            let job = try #require(try await stack.queue.claim(workerId: "t", limit: 1).first)
            let payload = try JSONDecoder().decode(IndexEndpointPayload.self, from: Data(job.payload.utf8))
            try await stack.endpoints.performIndex(payload, job: job)
            let index = try await stack.endpoints.index(environment: prod, id: indexId)
            #expect(index.status == .failure && index.error?.message.hasSuffix("Status code: 500") == true)
            let queued = try #require(await newer.value.flatMap(UUID.init(uuidString:)))
            #expect(queued != indexId)
            #expect(try await stack.endpoints.index(environment: prod, id: queued).status == .pending)
        }
    }

    /// A registration that changes nothing while an index is PENDING is answered without a write; one
    /// that changes the URL is written (and still coalesced); once the index has started, a new one is queued.
    @Test(arguments: Backend.available)
    func onlyARegistrationThatChangesNothingSkipsTheWrite(_ backend: Backend) async throws {
        try await TestStack.run(backend, worker: false) { stack, client in
            let env = try await stack.environment()
            let server = try await TestHTTPServer.start { RealSDKReplay.reply(to: $0, apiKey: env.apiKey) }
            let moved = try await TestHTTPServer.start { RealSDKReplay.reply(to: $0, apiKey: env.apiKey) }
            defer { Task { await server.stop(); await moved.stop() } }
            func register(_ base: String) async throws -> JSONValue {
                let response = try await client.call(.post, "/api/v1/endpoints", key: env.apiKey, body: #"{"id":"my-endpoint","url":"\#(base)/api/trigger"}"#)
                #expect(response.status == .ok)
                return response.json
            }
            func updatedAt() async throws -> Date {
                try #require(try await stack.database.queryFirst("SELECT updated_at FROM endpoints WHERE slug = 'my-endpoint'")).decode("updated_at")
            }
            let first = try await register(server.baseURL)
            let written = try await updatedAt()
            let same = try await register(server.baseURL)
            #expect(same["endpointIndex"]?["id"] == first["endpointIndex"]?["id"])
            #expect(same["id"] == first["id"] && same["url"] == first["url"])
            #expect(try await updatedAt() == written, "nothing was written")
            let elsewhere = try await register(moved.baseURL)
            #expect(elsewhere["endpointIndex"]?["id"] == first["endpointIndex"]?["id"], "the pending index covers the new URL too")
            #expect(elsewhere["url"] == .string("\(moved.baseURL)/api/trigger"))
            #expect(try await stack.database.queryFirst("SELECT url FROM endpoints WHERE slug = 'my-endpoint'")?.decode("url", as: String.self) == "\(moved.baseURL)/api/trigger")
            try await stack.database.query("UPDATE endpoint_indexes SET status = 'STARTED'")
            let afterStart = try await register(moved.baseURL)
            #expect(afterStart["endpointIndex"]?["id"] != first["endpointIndex"]?["id"], "a started index may have read the old code")
            #expect(try await stack.count("endpoint_indexes") == 2)
            #expect(try await stack.queue.jobs().count == 2)
        }
    }

    @Test(arguments: [Backend.sqlite])
    func openAPIDocumentDescribesExactlyTheRoutes(_ backend: Backend) async throws {
        try await TestStack.run(backend, worker: false) { stack, client in
            let document = try await client.call(.get, "/api/v1/openapi.json").json
            #expect(document["openapi"] == "3.1.0")
            guard case .object(let paths)? = document["paths"] else { Issue.record("no paths"); return }
            var documented = Set<String>()
            for (path, item) in paths {
                guard case .object(let operations) = item else { continue }
                for method in operations.keys where ["get", "post", "put", "patch", "delete"].contains(method) {
                    documented.insert("\(method.uppercased()) \(Self.normalise(path))")
                }
            }
            let routed = Set(APIServer.makeRouter(stack.deps).routes.map { "\($0.method) \(Self.normalise("\($0.path)"))" })
            #expect(documented == routed)
        }
    }

    /// `{name}` and `:name` both become `{}`, so only the shape of a path is compared.
    static func normalise(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { $0.hasPrefix("{") || $0.hasPrefix(":") ? "{}" : String($0) }.joined(separator: "/")
    }

    @Test(arguments: [Backend.sqlite])
    func metricsAreExposedInPrometheusFormat(_ backend: Backend) async throws {
        try await TestStack.run(backend, worker: false) { stack, client in
            let env = try await stack.environment()
            _ = try await client.call(.get, "/api/v1/whoami", key: env.apiKey)
            _ = try await client.call(.post, "/api/v1/endpoints", key: env.apiKey, body: #"{"id":"x","url":"http://127.0.0.1:\#(try TestHTTPServer.closedPort())/"}"#)
            let metrics = try await client.call(.get, "/metrics")
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(metrics.text.contains(#"kongflow_http_requests_total{method="GET",route="/api/v1/whoami",status="200"} 1"#))
            #expect(metrics.text.contains(#"kongflow_endpoint_pings_total{outcome="failed"} 1"#))
            #expect(metrics.text.contains(#"kongflow_queue_jobs{state="available"} 0"#))
        }
    }
}

actor Box {
    private(set) var value: String?
    func set(_ value: String?) { self.value = value }
}

actor Flag {
    private(set) var isSet = false
    func set() { isSet = true }
    func clear() { isSet = false }
}

/// Vercel bodies without GitHub metadata (checked through the public hook path in the test above,
/// and here for the plain wording).
enum VercelDeploymentReasonCheck {
    static func plain() -> String? {
        let body: JSONValue = ["type": "deployment.succeeded", "createdAt": 1, "payload": ["deployment": ["name": "web", "url": "web.vercel.app"]]]
        return EndpointService.vercelReason(body)
    }
}
