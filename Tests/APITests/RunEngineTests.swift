import AsyncHTTPClient
import EndpointClient
import Foundation
import HTTPAPI
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JSON
import NIOConcurrencyHelpers
import NIOCore
import Runs
import Storage
import Tenancy
import Testing
import TestSupport

/// The run engine against endpoints made up in the test: dispatch, dedupe, limits, faults, caps,
/// isolation. The real SDK's conversations are `RunFixtureTests`.
@Suite struct RunEngineTests {
    /// Counts EXECUTE_JOB calls per run and how many were in flight at once.
    final class Calls: Sendable {
        private let state = NIOLockedValueBox<(perRun: [String: Int], inFlight: Int, highest: Int)>(([:], 0, 0))
        func begin(_ body: JSONValue) -> Int {
            state.withLockedValue { s in
                let run = body["run"]?["id"]?.stringValue ?? "?"
                s.perRun[run, default: 0] += 1
                s.inFlight += 1
                s.highest = max(s.highest, s.inFlight)
                return s.perRun[run]!
            }
        }
        func end() { state.withLockedValue { $0.inFlight -= 1 } }
        var perRun: [String: Int] { state.withLockedValue { $0.perRun } }
        var highest: Int { state.withLockedValue { $0.highest } }
    }

    static func success(_ output: JSONValue) -> TestHTTPServer.Reply {
        .json(200, JSONValue.object(["status": "SUCCESS", "output": output]).jsonString())
    }

    @Test(arguments: Backend.available)
    func eventsMatchFiltersAndTheSameIdStartsOneRun(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let env = try await stack.environment()
            let calls = Calls()
            let server = try await ScriptedEndpoint.start(stack, client, environment: env, jobs: [
                ScriptedEndpoint.job("pro-only", event: "user.created", filter: ["plan": ["pro", "enterprise"]]),
                ScriptedEndpoint.job("everyone", event: "user.created"),
                ScriptedEndpoint.job("nested", event: "issue", filter: ["labels": ["name": ["bug"]]]),
            ]) { body in
                _ = calls.begin(body); defer { calls.end() }
                return Self.success(["job": body["job"]?["id"] ?? .null, "payload": body["event"]?["payload"] ?? .null])
            }
            defer { Task { await server.stop() } }
            let first = try await stack.send(client, env, "user.created", payload: ["plan": "pro"], id: "evt-1")
            #expect(first == "evt-1")
            // The same id again: the first event, no new runs.
            let again = try await client.call(.post, "/api/v1/events", key: env.apiKey, body: #"{"event":{"id":"evt-1","name":"user.created","payload":{"plan":"free"}}}"#)
            #expect(again.status == .ok && again.json["payload"] == ["plan": "pro"])
            try await stack.send(client, env, "user.created", payload: ["plan": "free"])
            try await stack.send(client, env, "user.created", payload: ["plan": 1])
            try await stack.send(client, env, "issue", payload: ["labels": [["name": "x"], ["name": "bug"]]])
            try await stack.send(client, env, "issue", payload: ["title": "no labels at all"])
            try await stack.send(client, env, "nobody.listens")
            let runs = try await stack.finishedRuns(env, count: 5)
            #expect(runs.allSatisfy { $0.status == .success })
            let jobs = Dictionary(grouping: runs, by: \.jobSlug).mapValues(\.count)
            #expect(jobs == ["pro-only": 1, "everyone": 3, "nested": 1])
            #expect(Set(runs.filter { $0.jobSlug == "everyone" }.map(\.number)) == [1, 2, 3], "numbered per job")
            #expect(calls.perRun.values.allSatisfy { $0 == 1 })
            let event = try await client.call(.get, "/api/v2/events/evt-1", key: env.apiKey)
            #expect(event.json["runs"]?.arrayValue?.count == 2)
            #expect(try await stack.count("event_records") == 6)
            let metrics = try await client.call(.get, "/metrics").text
            #expect(metrics.contains(#"kongflow_runs_finished_total{status="SUCCESS"} 5"#), "\(metrics)")
            #expect(metrics.contains(#"kongflow_runs_current{status="SUCCESS"} 5"#))
            #expect(metrics.contains(#"kongflow_run_executions_total{outcome="success"} 5"#))
            #expect(metrics.contains("kongflow_event_to_execution_seconds_count 5"))
        }
    }

    @Test(arguments: Backend.available)
    func delayedEventsAreDeliveredWhenDue(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let env = try await stack.environment()
            let server = try await ScriptedEndpoint.start(stack, client, environment: env, jobs: [ScriptedEndpoint.job("later", event: "later")]) { _ in
                Self.success("ran")
            }
            defer { Task { await server.stop() } }
            let sent = try await client.call(.post, "/api/v1/events", key: env.apiKey, body: #"{"event":{"name":"later","id":"d1"},"options":{"deliverAfter":2}}"#)
            let deliverAt = try #require(sent.json["deliverAt"]?.stringValue.flatMap(ISODate.parse))
            let timestamp = try #require(sent.json["timestamp"]?.stringValue.flatMap(ISODate.parse))
            #expect(abs(deliverAt.timeIntervalSince(timestamp) - 2) < 0.05 && sent.json["deliveredAt"] == .null)
            #expect(try await stack.queue.jobs().map(\.taskIdentifier) == ["deliverEvent"], "waiting for its time, no run yet")
            #expect(try await stack.runs.runs(environment: env).isEmpty)
            let run = try #require(try await stack.finishedRuns(env, count: 1).first)
            #expect(run.status == .success && run.startedAt! >= deliverAt)
            let event = try await client.call(.get, "/api/v2/events/d1", key: env.apiKey).json
            #expect(event["runs"]?.arrayValue?.count == 1)
        }
    }

    /// 100 events at once: exactly 100 runs, each executed once to SUCCESS, and a job queue of limit
    /// 3 never has more than 3 executions in flight.
    @Test(arguments: Backend.available)
    func aHundredConcurrentEventsRunOnceEachWithinTheQueueLimit(_ backend: Backend) async throws {
        try await TestStack.run(backend, concurrency: 32) { stack, client in
            let env = try await stack.environment()
            let calls = Calls()
            let server = try await ScriptedEndpoint.start(stack, client, environment: env, jobs: [
                ScriptedEndpoint.job("limited", event: "go", queue: ("narrow", 3)),
            ]) { body in
                _ = calls.begin(body); defer { calls.end() }
                try await Task.sleep(for: .milliseconds(20))
                return Self.success(body["event"]?["payload"] ?? .null)
            }
            defer { Task { await server.stop() } }
            let api = DirectAPI(client)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for n in 0..<100 { group.addTask { try await api.call(.post, "/api/v1/events", key: env.apiKey, body: #"{"event":{"name":"go","payload":{"n":\#(n)}}}"#).status } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: 100))
            let runs = try await stack.finishedRuns(env, count: 100, timeout: .seconds(120))
            #expect(runs.allSatisfy { $0.status == .success && $0.executionCount == 1 })
            #expect(Set(runs.compactMap { $0.output?["n"]?.numberValue }).count == 100)
            #expect(calls.perRun.count == 100 && calls.perRun.values.allSatisfy { $0 == 1 })
            #expect(calls.highest <= 3, "\(calls.highest) executions of a queue of limit 3 at once")
            #expect(Set(runs.map(\.number)) == Set(1...100))
        }
    }

    static func faultyConfiguration() -> (EndpointClientConfiguration, RunEngine.Configuration) {
        var client = TestStack.clientConfiguration()
        client.defaultExecuteTimeout = .seconds(2)
        var runs = RunEngine.Configuration()
        runs.executionRetries = 3
        runs.executionRetryBase = 0.05
        return (client, runs)
    }

    @Test(arguments: Backend.available)
    func endpointFaultsRetryOrFailWithAMessage(_ backend: Backend) async throws {
        let (clientConfiguration, runConfiguration) = Self.faultyConfiguration()
        try await TestStack.run(backend, client: clientConfiguration, runs: runConfiguration) { stack, client in
            let env = try await stack.environment()
            let calls = Calls()
            let server = try await ScriptedEndpoint.start(stack, client, environment: env, jobs: [
                ScriptedEndpoint.job("flaky", event: "flaky"), ScriptedEndpoint.job("hangs", event: "hangs"),
                ScriptedEndpoint.job("garbage", event: "garbage"), ScriptedEndpoint.job("gone", event: "gone"),
                ScriptedEndpoint.job("odd", event: "odd"), ScriptedEndpoint.job("later", event: "later"),
            ]) { body in
                let attempt = calls.begin(body); defer { calls.end() }
                switch body["job"]?["id"]?.stringValue {
                case "flaky": return attempt < 3 ? .json(503, "{}") : Self.success("recovered")
                case "hangs": try await Task.sleep(for: .seconds(30)); return Self.success("late")
                case "garbage": return .init(status: 200, headers: [("content-type", "text/html")], body: Data("<html>oops".utf8))
                case "gone": return .json(404, #"{"message":"Job not found"}"#)
                case "odd": return .json(200, #"{"status":"MAYBE"}"#)
                default: return .json(200, #"{"status":"YIELD_EXECUTION","key":"k"}"#)
                }
            }
            defer { Task { await server.stop() } }
            for name in ["flaky", "hangs", "garbage", "gone", "odd", "later"] { try await stack.send(client, env, name) }
            let runs = Dictionary(uniqueKeysWithValues: try await stack.finishedRuns(env, count: 6, timeout: .seconds(60)).map { ($0.jobSlug, $0) })
            #expect(runs["flaky"]?.status == .success && (runs["flaky"]?.executionCount ?? 0) >= 3, "5xx is retried and the run recovers")
            #expect(runs["hangs"]?.status == .failure && runs["hangs"]?.executionCount == 4, "timeouts are retried, then fail")
            #expect(runs["hangs"]?.output?["message"]?.stringValue?.contains("no response within") == true)
            #expect(runs["garbage"]?.executionCount == 1 && runs["garbage"]?.output?["message"]?.stringValue?.hasPrefix("Endpoint responded with invalid JSON: <html>oops") == true)
            #expect(runs["gone"]?.executionCount == 1 && runs["gone"]?.output?["message"] == "Endpoint responded with 404 status code: Job not found",
                    "a 4xx fails at once")
            #expect(runs["odd"]?.output?["message"]?.stringValue?.contains("MAYBE") == true)
            #expect(runs["later"]?.output?["message"]?.stringValue?.contains("YIELD_EXECUTION") == true)
        }
    }

    @Test(arguments: Backend.available)
    func theTaskAPIIsIsolatedValidatedAndCapped(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let env = try await stack.environment()
            let other = try await stack.environment(organization: "Other")
            let gate = AsyncStream<Void>.makeStream()
            let server = try await ScriptedEndpoint.start(stack, client, environment: env, jobs: [ScriptedEndpoint.job("slow", event: "slow")]) { _ in
                for await _ in gate.stream { break }
                return Self.success("done")
            }
            defer { Task { await server.stop() } }
            try await stack.send(client, env, "slow")
            var run: JobRun? = nil
            #expect(try await eventually { run = try await stack.runs.runs(environment: env).first; return run?.status == .executing })
            let runId = try #require(run).id.lowercasedString
            let tasks = "/api/v1/runs/\(runId)/tasks"
            func post(_ path: String, key: String, body: String, idempotencyKey: String? = nil) async throws -> TestResponse {
                var headers: HTTPFields = [.authorization: "Bearer \(key)", .contentType: "application/json"]
                if let idempotencyKey { headers[HTTPField.Name("idempotency-key")!] = idempotencyKey }
                return try await client.executeRequest(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
            }
            let task = #"{"idempotencyKey":"k1","name":"Task","noop":false}"#
            #expect(try await post(tasks, key: env.apiKey, body: task).json == ["error": "Invalid or Missing idempotency key"])
            let invalid = try await post(tasks, key: env.apiKey, body: #"{"idempotencyKey":"k1","noop":"yes"}"#, idempotencyKey: "k1")
            #expect(invalid.status == .badRequest && invalid.json["error"]?.stringValue?.hasPrefix("Invalid request body") == true)
            #expect(try await post(tasks, key: env.apiKey, body: "{not json", idempotencyKey: "k1").status == .badRequest)
            // Another environment's key sees no such run, on every route.
            #expect(try await post(tasks, key: other.apiKey, body: task, idempotencyKey: "k1").status == .notFound)
            #expect(try await client.call(.get, "/api/v2/runs/\(runId)", key: other.apiKey).status == .notFound)
            #expect(try await client.call(.post, "/api/v1/runs/\(runId)/cancel", key: other.apiKey).status == .notFound)
            #expect(try await post("/api/v1/runs/not-a-uuid/tasks", key: env.apiKey, body: task, idempotencyKey: "k1").status == .notFound)
            // Insert or return: concurrent duplicates get one task.
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<10 { group.addTask { try await post(tasks, key: env.apiKey, body: task, idempotencyKey: "k1").json["id"]?.stringValue ?? "" } }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(ids.count == 1 && ids.first?.count == 26)
            let taskId = ids.first!
            #expect(try await post("\(tasks)/\(taskId)/complete", key: other.apiKey, body: "{}").status == .notFound)
            let wrongParent = try await post(tasks, key: env.apiKey, body: #"{"idempotencyKey":"k2","name":"c","parentId":"nope"}"#, idempotencyKey: "k2")
            #expect(wrongParent.status == .badRequest)
            // An output over the limit fails the task with a message instead of being lost silently.
            let huge = "{\"output\":\"" + String(repeating: "x", count: stack.runs.configuration.maximumPayloadBytes + 100_000) + "\"}"
            let failed = try await post("\(tasks)/\(taskId)/complete", key: env.apiKey, body: huge)
            #expect(failed.status == .ok && failed.json["status"] == "ERRORED", "\(failed.status) \(failed.text.prefix(300))")
            #expect(failed.json["error"]?.stringValue?.hasPrefix("Task output is too large") == true)
            // A finished task is returned as it is.
            #expect(try await post("\(tasks)/\(taskId)/complete", key: env.apiKey, body: #"{"output":1}"#).json["status"] == "ERRORED")
            // An event over the limit is 413 and stored nowhere.
            let bigEvent = #"{"event":{"name":"slow","payload":""# + String(repeating: "y", count: stack.runs.configuration.maximumPayloadBytes + 100_000) + #""}}"#
            #expect(try await post("/api/v1/events", key: env.apiKey, body: bigEvent).status == .contentTooLarge)
            #expect(try await stack.count("event_records") == 1)
            gate.continuation.finish()
            #expect(try await stack.finishedRuns(env, count: 1).first?.status == .success)
        }
    }

    @Test(arguments: Backend.available)
    func aCanceledRunStopsAndInvokeHonoursItsIdempotencyKey(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let env = try await stack.environment()
            let calls = Calls()
            let apiURL = "http://127.0.0.1:\(client.port!)"
            let server = try await ScriptedEndpoint.start(stack, client, environment: env, jobs: [ScriptedEndpoint.job("waiter", event: "wait")]) { body in
                _ = calls.begin(body); defer { calls.end() }
                // A wait of an hour, as io.wait asks for it.
                let runId = body["run"]?["id"]?.stringValue ?? ""
                var request = HTTPClientRequest(url: "\(apiURL)/api/v1/runs/\(runId)/tasks")
                request.method = .POST
                request.headers.add(name: "authorization", value: "Bearer \(env.apiKey)")
                request.headers.add(name: "idempotency-key", value: "wait-key")
                let until = ISODate.format(Date().addingTimeInterval(3600))
                request.body = .bytes(ByteBuffer(string: #"{"idempotencyKey":"wait-key","name":"wait","noop":true,"delayUntil":"\#(until)"}"#))
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                let task = try JSONValue.parse(Data(try await response.body.collect(upTo: 1 << 20).readableBytesView))
                return .json(200, JSONValue.object(["status": "RESUME_WITH_TASK", "task": task]).jsonString())
            }
            defer { Task { await server.stop() } }
            let invoked = try await client.executeRequest(uri: "/api/v1/jobs/waiter/invoke", method: .post,
                                                          headers: [.authorization: "Bearer \(env.apiKey)", HTTPField.Name("idempotency-key")!: "once"],
                                                          body: ByteBuffer(string: #"{"payload":{"x":1}}"#))
            #expect(invoked.status == .ok)
            let runId = try #require(invoked.json["id"]?.stringValue)
            let twice = try await client.executeRequest(uri: "/api/v1/jobs/waiter/invoke", method: .post,
                                                        headers: [.authorization: "Bearer \(env.apiKey)", HTTPField.Name("idempotency-key")!: "once"],
                                                        body: ByteBuffer(string: #"{"payload":{"x":2}}"#))
            #expect(twice.json["id"]?.stringValue == runId, "the same key returns the same run")
            #expect(try await client.call(.post, "/api/v1/jobs/nope/invoke", key: env.apiKey).status == .notFound)
            #expect(try await eventually {
                try await client.call(.get, "/api/v2/runs/\(runId)", key: env.apiKey).json["status"] == "WAITING_TO_CONTINUE"
            })
            let detail = try await client.call(.get, "/api/v2/runs/\(runId)", key: env.apiKey).json
            #expect(detail["tasks"]?[0]?["status"] == "WAITING" && detail["job"]?["id"] == "waiter")
            let canceled = try await client.call(.post, "/api/v1/runs/\(runId)/cancel", key: env.apiKey)
            #expect(canceled.json["status"] == "CANCELED")
            #expect(try await client.call(.get, "/api/v2/runs/\(runId)", key: env.apiKey).json["tasks"]?[0]?["status"] == "CANCELED")
            // Its pending execution, made due now, does nothing.
            try await stack.database.query("UPDATE kongflow_jobs SET run_at = \(Date().addingTimeInterval(-1))")
            #expect(try await eventually { try await stack.queue.jobs().isEmpty })
            #expect(calls.perRun.values.reduce(0, +) == 1)
            let list = try await client.call(.get, "/api/v1/jobs/waiter/runs", key: env.apiKey).json
            #expect(list["runs"]?.arrayValue?.count == 1 && list["runs"]?[0]?["status"] == "CANCELED")
            #expect(try await client.call(.get, "/api/v1/runs?status=bogus", key: env.apiKey).status == .badRequest)
        }
    }
}
