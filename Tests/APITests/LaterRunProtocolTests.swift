import AsyncHTTPClient
import Foundation
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
import TriggerProtocol

/// The 2023-09-29 run protocol (SDK 2.3) beyond what the captured conversations exercise: yields and
/// auto-yields continue in a new execution without losing work, the later answers end a run with a
/// message that names them, a serverless timeout shrinks the execution budget, cached tasks page
/// through the cursor, and an endpoint that upgrades its SDK is spoken to in its new protocol.
@Suite struct LaterRunProtocolTests {
    /// Every EXECUTE_JOB body an endpoint got, per job.
    final class Bodies: Sendable {
        private let state = NIOLockedValueBox<[String: [JSONValue]]>([:])
        /// Records `body`; returns which execution of its run this is (1, 2, …).
        func record(_ body: JSONValue) -> Int {
            state.withLockedValue { s in
                let key = body["run"]?["id"]?.stringValue ?? "?"
                s[key, default: []].append(body)
                return s[key]!.count
            }
        }
        func of(run: String) -> [JSONValue] { state.withLockedValue { $0[run] ?? [] } }
    }

    static func answer(_ value: JSONValue, headers: [(String, String)] = []) -> TestHTTPServer.Reply {
        TestHTTPServer.Reply(status: 200, headers: [("content-type", "application/json")] + headers, body: Data(value.jsonString().utf8))
    }

    /// Calls `POST …/tasks` as SDK 2.3 does; returns the answer's `task` (and the whole answer).
    static func runTask(_ apiURL: String, _ apiKey: String, run: String, key: String, body: JSONValue, cursor: String = "")
        async throws -> (task: JSONValue, answer: JSONValue, version: String?) {
        var request = HTTPClientRequest(url: "\(apiURL)/api/v1/runs/\(run)/tasks")
        request.method = .POST
        request.headers.add(name: "authorization", value: "Bearer \(apiKey)")
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "idempotency-key", value: key)
        request.headers.add(name: "trigger-version", value: "2023-09-29")
        request.headers.add(name: "x-cached-tasks-cursor", value: cursor)
        var object = body.objectValue ?? [:]
        object["idempotencyKey"] = .string(key)
        request.body = .bytes(ByteBuffer(bytes: JSONValue.object(object).jsonBytes()))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let answer = try JSONValue.parse(Data(try await response.body.collect(upTo: 16 << 20).readableBytesView))
        return (answer["task"] ?? .null, answer, response.headers.first(name: "trigger-version"))
    }

    static func complete(_ apiURL: String, _ apiKey: String, run: String, task: String, output: JSONValue) async throws {
        var request = HTTPClientRequest(url: "\(apiURL)/api/v1/runs/\(run)/tasks/\(task)/complete")
        request.method = .POST
        request.headers.add(name: "authorization", value: "Bearer \(apiKey)")
        request.headers.add(name: "trigger-version", value: "2023-11-01")
        request.body = .bytes(ByteBuffer(bytes: JSONValue.object(["output": .string(output.jsonString())]).jsonBytes()))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 16 << 20)
    }

    @Test(arguments: Backend.available)
    func yieldsContinueInANewExecutionWithoutLosingWork(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let env = try await stack.environment()
            let apiURL = "http://127.0.0.1:\(client.port!)", key = env.apiKey
            let bodies = Bodies()
            let taskB = NIOLockedValueBox<String>("")
            let server = try await ScriptedEndpoint.start(stack, client, environment: env, jobs: [ScriptedEndpoint.job("yielder", event: "go")],
                                                          sdkVersion: "2.3.18") { body in
                let run = body["run"]?["id"]?.stringValue ?? ""
                switch bodies.record(body) {
                case 1:
                    let a = try await Self.runTask(apiURL, key, run: run, key: "key-a", body: ["name": "A", "noop": false])
                    try await Self.complete(apiURL, key, run: run, task: a.task["id"]?.stringValue ?? "", output: ["a": 1])
                    _ = try await Self.runTask(apiURL, key, run: run, key: "key-log", body: ["name": "log", "noop": true, "description": "hi"])
                    return Self.answer(["status": "YIELD_EXECUTION", "key": "y1"])
                case 2:
                    let b = try await Self.runTask(apiURL, key, run: run, key: "key-b", body: ["name": "B", "noop": false])
                    taskB.withLockedValue { $0 = b.task["id"]?.stringValue ?? "" }
                    return Self.answer(["status": "AUTO_YIELD_EXECUTION_WITH_COMPLETED_TASK", "id": b.task["id"] ?? .null, "output": #"{"b":2}"#,
                                        "data": ["location": "afterCompleteTask", "timeRemaining": 500, "timeElapsed": 59_000]])
                case 3:
                    let reset = (Date().timeIntervalSince1970 + 0.2) * 1000
                    return Self.answer(["status": "AUTO_YIELD_RATE_LIMIT", "reset": .number(reset.rounded())])
                case 4:
                    return Self.answer(["status": "AUTO_YIELD_EXECUTION", "location": "beforeExecuteTask", "timeRemaining": 1000, "timeElapsed": 58_650])
                default:
                    return Self.answer(["status": "SUCCESS", "output": ["done": true]])
                }
            }
            defer { Task { await server.stop() } }
            try await stack.send(client, env, "go")
            let run = try #require(try await stack.finishedRuns(env, count: 1).first)
            #expect(run.status == .success && run.executionCount == 5 && run.output == ["done": true])
            let sent = bodies.of(run: run.id.lowercasedString)
            try #require(sent.count == 5)
            // Every body is the 2023-09-29 one.
            for body in sent {
                #expect(body["run"]?["isRetry"] == false && body["project"]?["name"] == "Web" && body["event"]?["cancelledAt"] == .null)
                #expect(body["runChunkExecutionLimit"] == 59_650 && body["autoYieldConfig"]?["startTaskThreshold"] == 750)
                #expect(body["event"]?.objectValue?.keys.contains("cancelledAt") == true)
            }
            #expect(sent[0]["tasks"] == [] && sent[0]["yieldedExecutions"] == [] && sent[0]["noopTasksSet"] == .string(NoopTaskSet().base64))
            // X2: A is cached under its key with its output, the log is in the noop set, y1 is remembered.
            #expect(sent[1]["tasks"] == [["id": "key-a", "status": "COMPLETED", "idempotencyKey": "key-a", "noop": false, "output": ["a": 1], "parentId": nil]])
            #expect(sent[1]["noopTasksSet"] == .string(NoopTaskSet(["key-log"]).base64))
            #expect(sent[1]["yieldedExecutions"] == ["y1"])
            // X3 on: B was completed from the auto-yield answer, with its output parsed.
            // Ordered by task id, which grows with creation.
            #expect(sent[2]["tasks"]?.arrayValue?.map { $0["idempotencyKey"] } == ["key-a", "key-b"])
            #expect(sent[2]["tasks"]?.arrayValue?.first { $0["id"] == "key-b" }?["output"] == ["b": 2])
            #expect(sent[4]["yieldedExecutions"] == ["y1"])
            let b = try #require(try await stack.runs.tasks(runId: run.id).first { $0.id == taskB.withLockedValue { $0 } })
            #expect(b.status == .completed && b.output == ["b": 2])
            let attempts = try await stack.database.query("SELECT status FROM task_attempts WHERE task_id = \(b.id)").map { try $0.decode("status", as: String.self) }
            #expect(attempts == ["COMPLETED"])
        }
    }

    @Test(arguments: Backend.available)
    func laterAnswersEndTheRunWithAMessageThatNamesThem(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let env = try await stack.environment()
            let apiURL = "http://127.0.0.1:\(client.port!)", key = env.apiKey
            let bodies = Bodies()
            let canceledTask = NIOLockedValueBox<(JSONValue, String?)>((.null, nil))
            let jobs = ["canceled", "auth", "payload", "parallel", "forbidden", "timeout", "forever"]
            let server = try await ScriptedEndpoint.start(stack, client, environment: env, jobs: jobs.map { ScriptedEndpoint.job($0, event: $0) },
                                                          sdkVersion: "2.3.18") { body in
                let run = body["run"]?["id"]?.stringValue ?? ""
                let execution = bodies.record(body)
                switch body["job"]?["id"]?.stringValue {
                case "canceled":
                    // Canceled while running: the next task the SDK starts comes back CANCELED.
                    var request = HTTPClientRequest(url: "\(apiURL)/api/v1/runs/\(run)/cancel")
                    request.method = .POST
                    request.headers.add(name: "authorization", value: "Bearer \(key)")
                    _ = try await HTTPClient.shared.execute(request, timeout: .seconds(10)).body.collect(upTo: 1 << 20)
                    let task = try await Self.runTask(apiURL, key, run: run, key: "after-cancel", body: ["name": "late", "noop": false])
                    canceledTask.withLockedValue { $0 = (task.answer, task.version) }
                    return Self.answer(["status": "CANCELED", "task": task.task])
                case "auth":
                    return Self.answer(["status": "UNRESOLVED_AUTH_ERROR", "issues": ["github": ["id": "github", "error": "Missing auth"]]])
                case "payload":
                    return Self.answer(["status": "INVALID_PAYLOAD", "errors": [["path": ["userId"], "message": "Required"]]])
                case "parallel":
                    return Self.answer(["status": "RESUME_WITH_PARALLEL_TASK", "task": ["id": "t"], "childErrors": []])
                case "forbidden":
                    return .json(403, #"{"message":"Forbidden: client apiKey mismatch"}"#)
                case "timeout":
                    guard execution == 1 else { return Self.answer(["status": "SUCCESS", "output": ["second": true]]) }
                    return TestHTTPServer.Reply(status: 504, headers: [("content-type", "text/plain"), ("x-vercel-error", "FUNCTION_INVOCATION_TIMEOUT")],
                                                body: Data("An error occurred with your deployment".utf8))
                default:
                    return Self.answer(["status": "AUTO_YIELD_EXECUTION", "location": "beforeExecuteTask", "timeRemaining": 1, "timeElapsed": 2])
                }
            }
            defer { Task { await server.stop() } }
            for job in jobs { try await stack.send(client, env, job) }
            let runs = Dictionary(uniqueKeysWithValues: try await stack.finishedRuns(env, count: jobs.count, timeout: .seconds(120)).map { ($0.jobSlug, $0) })
            #expect(runs["canceled"]?.status == .canceled)
            let (answer, version) = canceledTask.withLockedValue { $0 }
            #expect(answer["task"]?["status"] == "CANCELED" && version == "2023-09-29", "\(answer.jsonString())")
            #expect(answer["task"]?["childExecutionMode"] == "SEQUENTIAL" && answer["task"]?["forceYield"] == false && answer["cachedTasks"] == nil)
            #expect(runs["auth"]?.status == .failure && runs["auth"]?.output?["message"]?.stringValue?.hasPrefix("UNRESOLVED_AUTH_ERROR") == true)
            #expect(runs["auth"]?.output?["issues"]?["github"]?["error"] == "Missing auth")
            #expect(runs["payload"]?.status == .failure && runs["payload"]?.output?["message"]?.stringValue?.hasPrefix("INVALID_PAYLOAD") == true)
            #expect(runs["payload"]?.output?["errors"]?[0]?["message"] == "Required")
            #expect(runs["parallel"]?.status == .failure && runs["parallel"]?.output?["message"]?.stringValue?.hasPrefix("RESUME_WITH_PARALLEL_TASK") == true)
            // A 4xx that is the SDK's own error fails the run at once, with that error as its output.
            #expect(runs["forbidden"]?.status == .failure && runs["forbidden"]?.executionCount == 1)
            #expect(runs["forbidden"]?.output == ["message": "Forbidden: client apiKey mismatch"])
            // The platform cut the first execution off: the run resumes with a smaller budget.
            let timedOut = try #require(runs["timeout"])
            #expect(timedOut.status == .success && timedOut.executionCount == 2)
            let limits = bodies.of(run: timedOut.id.lowercasedString).map { $0["runChunkExecutionLimit"]?.numberValue ?? 0 }
            #expect(limits.count == 2 && limits[1] < limits[0] && limits[1] >= 10_000 - 350, "\(limits)")
            let stored = try await stack.database.queryFirst("SELECT run_chunk_execution_limit FROM endpoints")
            #expect(try stored?.decode("run_chunk_execution_limit", as: Int.self) == Int(limits[1]) + 350)
            // A run that yields forever ends at the limit of executions.
            let forever = try #require(runs["forever"])
            #expect(forever.status == .failure && forever.executionCount == RunEngine.maximumExecutions)
            #expect(forever.output?["message"]?.stringValue?.contains("\(RunEngine.maximumExecutions) times") == true)
            #expect(bodies.of(run: forever.id.lowercasedString).count == RunEngine.maximumExecutions)
        }
    }

    /// More completed tasks than one EXECUTE_JOB body may carry: the body stops at its bound with a
    /// cursor, and `runTask` with `x-cached-tasks-cursor` pages through the rest.
    @Test(arguments: Backend.available)
    func cachedTasksBeyondTheBodyBoundPageThroughTheCursor(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let env = try await stack.environment()
            let apiURL = "http://127.0.0.1:\(client.port!)", key = env.apiKey
            let bodies = Bodies()
            let pages = NIOLockedValueBox<[JSONValue]>([])
            let big = String(repeating: "x", count: 12_000)
            let count = 300
            let server = try await ScriptedEndpoint.start(stack, client, environment: env, jobs: [ScriptedEndpoint.job("many", event: "many")],
                                                          sdkVersion: "2.3.18") { body in
                let run = body["run"]?["id"]?.stringValue ?? ""
                guard bodies.record(body) == 1 else {
                    var cursor = body["cachedTaskCursor"]?.stringValue ?? ""
                    var n = 0
                    while !cursor.isEmpty, n < 10 {
                        let answer = try await Self.runTask(apiURL, key, run: run, key: "page-\(n)", body: ["name": "page", "noop": true], cursor: cursor).answer
                        pages.withLockedValue { $0.append(answer) }
                        cursor = answer["cachedTasks"]?["cursor"]?.stringValue ?? ""
                        n += 1
                    }
                    return Self.answer(["status": "SUCCESS"])
                }
                let environment = try #require(try await stack.tenancy.authenticate(authorization: "Bearer \(key)"))
                let runId = try #require(UUID(uuidString: run))
                for n in 0..<count {
                    let task = try await stack.runs.runTask(runId: runId, idempotencyKey: String(format: "key-%03d", n),
                                                            body: try RunTaskBody.decode(["idempotencyKey": "k", "name": "T", "noop": false]), environment: environment)
                    _ = try await stack.runs.completeTask(runId: runId, taskId: task.id, output: .string(big), environment: environment)
                }
                return Self.answer(["status": "YIELD_EXECUTION", "key": "more"])
            }
            defer { Task { await server.stop() } }
            try await stack.send(client, env, "many")
            let run = try #require(try await stack.finishedRuns(env, count: 1, timeout: .seconds(120)).first)
            #expect(run.status == .success, "\(run.output?.jsonString() ?? "")")
            let second = try #require(bodies.of(run: run.id.lowercasedString).last)
            let inBody = second["tasks"]?.arrayValue ?? []
            #expect(inBody.count > 0 && inBody.count < count && second["cachedTaskCursor"]?.stringValue != nil)
            #expect(second.jsonString().utf8.count < RunEngine.cachedTasksBodyLimit + 200_000)
            let paged = pages.withLockedValue { $0 }.flatMap { $0["cachedTasks"]?["tasks"]?.arrayValue ?? [] }
            let keys = (inBody + paged).compactMap { $0["idempotencyKey"]?.stringValue }
            #expect(keys == (0..<count).map { String(format: "key-%03d", $0) }, "every completed task once, in order")
            #expect((inBody + paged).allSatisfy { $0["output"] == .string(big) && $0["id"] == $0["idempotencyKey"] })
            #expect(pages.withLockedValue { $0 }.last?["cachedTasks"]?["cursor"] == nil)
        }
    }

    /// An app that moves from SDK 2.0 to 2.3 reports the new version on its EXECUTE_JOB answers: the
    /// next execution already speaks the later protocol, and the endpoint shows the version.
    @Test(arguments: Backend.available)
    func anEndpointThatUpgradesGetsTheLaterProtocolFromItsNextExecution(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let env = try await stack.environment()
            let apiURL = "http://127.0.0.1:\(client.port!)", key = env.apiKey
            let bodies = Bodies()
            let server = try await ScriptedEndpoint.start(stack, client, environment: env, jobs: [ScriptedEndpoint.job("upgraded", event: "up")]) { body in
                let run = body["run"]?["id"]?.stringValue ?? ""
                guard bodies.record(body) == 1 else { return Self.answer(["status": "SUCCESS"]) }
                let wait = try await Self.runTask(apiURL, key, run: run, key: "w", body: ["name": "wait", "noop": true,
                                                                                           "delayUntil": .string(ISODate.format(Date().addingTimeInterval(0.3)))])
                return Self.answer(["status": "RESUME_WITH_TASK", "task": wait.task],
                                   headers: [("trigger-version", "2023-09-29"), ("trigger-sdk-version", "2.3.18")])
            }
            defer { Task { await server.stop() } }
            #expect(try await client.call(.get, "/api/v1/endpoints/my-endpoint", key: key).json["version"] == "unknown")
            try await stack.send(client, env, "up")
            let run = try #require(try await stack.finishedRuns(env, count: 1).first)
            #expect(run.status == .success && run.executionCount == 2)
            let sent = bodies.of(run: run.id.lowercasedString)
            #expect(sent.first?["noopTasksSet"] == nil && sent.first?["project"] == nil && sent.first?["event"]?.objectValue?["cancelledAt"] == nil)
            #expect(sent.last?["noopTasksSet"] == .string(NoopTaskSet(["w"]).base64) && sent.last?["tasks"] == [])
            let endpoint = try await client.call(.get, "/api/v1/endpoints/my-endpoint", key: key).json
            #expect(endpoint["version"] == "2023-09-29" && endpoint["sdkVersion"] == "2.3.18", "\(endpoint.jsonString())")
        }
    }
}
