import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import JSON
import Runs
import Storage
import Testing
import TestSupport

/// Every run conversation captured from the real SDK 2.0.0-next.3 and 2.3.18, replayed against the real
/// server on both backends: the event goes in through the API, dispatch makes the run, and each
/// EXECUTE_JOB and each of the SDK's calls must match what was captured (`SDKConversation`). The
/// endpoint reports its SDK's version as captured, and Kongflow picks the run protocol from it.
/// Serialized: 38 stacks (each a fresh database) started at once starve the rest of the suite on a
/// 2-core machine, and one conversation takes about a second.
@Suite(.serialized) struct RunFixtureTests {
    struct Expected: Sendable, CustomStringConvertible {
        let file: String
        let status: RunStatus
        let executions: Int
        /// Task name → (status, attempt statuses).
        let tasks: [String: (String, [String])]
        let output: @Sendable (JSONValue?) -> Bool
        var deliberate: (Int, Int)? = nil
        var sdk: SDKConversation.SDK = .v20
        var answerAsCaptured = false
        var description: String { "\(sdk.rawValue)/\(file)" }
    }

    static let scenarios: [Expected] = [
        Expected(file: "hello-world", status: .success, executions: 1,
                 tasks: ["log": ("COMPLETED", ["PENDING"]), "Compute": ("COMPLETED", ["COMPLETED"])],
                 output: { $0 == ["ok": true, "doubled": 42] }),
        Expected(file: "task-fails", status: .failure, executions: 1, tasks: ["Explode": ("ERRORED", ["ERRORED"])],
                 output: { $0?["message"] == "boom" && $0?["name"] == "Error" }),
        Expected(file: "job-throws", status: .failure, executions: 1, tasks: [:], output: { $0?["message"] == "job failed" }),
        Expected(file: "waits", status: .success, executions: 2,
                 tasks: ["log": ("COMPLETED", ["PENDING"]), "wait": ("COMPLETED", ["PENDING"])], output: { $0 == ["waited": true] }),
        Expected(file: "retries", status: .success, executions: 2, tasks: ["Flaky": ("COMPLETED", ["ERRORED", "COMPLETED"])],
                 output: { $0 == ["ok": true, "attempt": 2] }),
        Expected(file: "nested", status: .success, executions: 1,
                 tasks: ["Parent": ("COMPLETED", ["COMPLETED"]), "Child 1": ("COMPLETED", ["COMPLETED"]), "Child 2": ("COMPLETED", ["COMPLETED"])],
                 output: { $0 == ["sum": 3] }),
        Expected(file: "sends-event", status: .success, executions: 1, tasks: ["sendEvent": ("COMPLETED", ["COMPLETED"])],
                 output: { $0?["sentEventId"]?.stringValue?.count == 26 }),
        // The capturing server answered one call wrongly on purpose; Kongflow answers it rightly, so the
        // conversation is compared up to that call and the run must end as the SDK's ERROR says.
        Expected(file: "bad-answer-status-201", status: .failure, executions: 1, tasks: [:],
                 output: { $0?["message"]?.stringValue?.contains("got status code 201") == true }, deliberate: (0, 1)),
        Expected(file: "bad-answer-unknown-task-status", status: .failure, executions: 1, tasks: [:],
                 output: { $0?["name"] == "ZodError" }, deliberate: (0, 1)),
        Expected(file: "bad-answer-404-message", status: .failure, executions: 1, tasks: [:],
                 output: { $0?["message"] == "" }, deliberate: (0, 2)),
    ] + scenarios23

    /// SDK 2.3.18 (the 2023-09-29 protocol): the same jobs, and the two 4xx answers that fail a run at once with the SDK's error.
    static let scenarios23: [Expected] = [
        Expected(file: "hello-world", status: .success, executions: 1,
                 tasks: ["log": ("COMPLETED", ["PENDING"]), "Compute": ("COMPLETED", ["COMPLETED"])],
                 output: { $0 == ["ok": true, "doubled": 42] }, sdk: .v23),
        Expected(file: "task-fails", status: .failure, executions: 1, tasks: ["Explode": ("ERRORED", ["ERRORED"])],
                 output: { $0?["message"] == "boom" && $0?["name"] == "Error" }, sdk: .v23),
        Expected(file: "job-throws", status: .failure, executions: 1, tasks: [:], output: { $0?["message"] == "job failed" }, sdk: .v23),
        Expected(file: "waits", status: .success, executions: 2,
                 tasks: ["log": ("COMPLETED", ["PENDING"]), "wait": ("COMPLETED", ["PENDING"])], output: { $0 == ["waited": true] }, sdk: .v23),
        Expected(file: "retries", status: .success, executions: 2, tasks: ["Flaky": ("COMPLETED", ["ERRORED", "COMPLETED"])],
                 output: { $0 == ["ok": true, "attempt": 2] }, sdk: .v23),
        Expected(file: "nested", status: .success, executions: 1,
                 tasks: ["Parent": ("COMPLETED", ["COMPLETED"]), "Child 1": ("COMPLETED", ["COMPLETED"]), "Child 2": ("COMPLETED", ["COMPLETED"])],
                 output: { $0 == ["sum": 3] }, sdk: .v23),
        Expected(file: "sends-event", status: .success, executions: 1, tasks: ["Send Event": ("COMPLETED", ["COMPLETED"])],
                 output: { $0?["sentEventId"]?.stringValue?.count == 26 }, sdk: .v23),
        Expected(file: "execute-wrong-api-key", status: .failure, executions: 1, tasks: [:],
                 output: { $0 == ["message": "Forbidden: client apiKey mismatch: Make sure you are using the correct API Key for your environment"] },
                 sdk: .v23, answerAsCaptured: true),
        Expected(file: "execute-unknown-job", status: .failure, executions: 1, tasks: [:],
                 output: { $0 == ["message": "Job not found"] }, sdk: .v23, answerAsCaptured: true),
    ]

    @Test(arguments: Backend.available, scenarios)
    func conversationReplays(_ backend: Backend, _ expected: Expected) async throws {
        try await TestStack.run(backend) { stack, client in
            Watchdog.describe(expected.description)
            // The captures' organization and project, so their names compare as sent.
            let env = try await stack.environment(project: "Acme App")
            let conversation = try SDKConversation(expected.file, apiKey: env.apiKey, sdk: expected.sdk, deliberate: expected.deliberate,
                                                   answerAsCaptured: expected.answerAsCaptured)
            await conversation.connect(apiURL: "http://127.0.0.1:\(client.port!)")
            let endpoint = try await TestHTTPServer.start { await conversation.handle($0) }
            defer { Task { await endpoint.stop() } }
            let created = try await client.call(.post, "/api/v1/endpoints", key: env.apiKey,
                                                body: #"{"id":"my-endpoint","url":"\#(endpoint.baseURL)/api/trigger"}"#)
            #expect(created.status == .ok, "\(created.text)")
            let indexId = try #require(created.json["endpointIndex"]?["id"]?.stringValue.flatMap(UUID.init(uuidString:)))
            #expect(try await stack.settledIndex(indexId, environment: env).status == .success)
            let stored = try await client.call(.get, "/api/v1/endpoints/my-endpoint", key: env.apiKey)
            #expect(stored.json["version"] == (expected.sdk == .v23 ? "2023-09-29" : "unknown"), "\(stored.text)")

            let event = await conversation.event
            let sent = try await client.call(.post, "/api/v1/events", key: env.apiKey,
                                             body: JSONValue.object(["event": ["name": event["name"] ?? .null, "payload": event["payload"] ?? .null]]).jsonString())
            #expect(sent.status == .ok, "\(sent.text)")
            let eventId = try #require(sent.json["id"]?.stringValue)

            var run: JobRun? = nil
            #expect(try await eventually(timeout: .seconds(30)) {
                let runs = try await stack.runs.runs(environment: env)
                run = runs.first
                return runs.count == 1 && runs[0].status.isFinished
            }, "\(String(describing: run))")
            let issues = await conversation.issues
            #expect(issues.isEmpty, "\(issues.joined(separator: "\n"))")
            let finished = try #require(run)
            #expect(finished.status == expected.status, "\(String(describing: finished.output))")
            #expect(finished.executionCount == expected.executions)
            #expect(await conversation.executionsServed == expected.executions)
            #expect(expected.output(finished.output), "\(finished.output?.jsonString() ?? "nil")")
            if expected.deliberate == nil {
                let tasks = try await stack.runs.tasks(runId: finished.id)
                var seen: [String: (String, [String])] = [:]
                for task in tasks {
                    let attempts = try await stack.database.query("""
                        SELECT status FROM task_attempts WHERE task_id = \(task.id) ORDER BY number
                        """).map { try $0.decode("status", as: String.self) }
                    #expect(task.attempts == attempts.count)
                    seen[task.name] = (task.status.rawValue, attempts)
                }
                #expect(seen.mapValues { "\($0.0) \($0.1)" } == expected.tasks.mapValues { "\($0.0) \($0.1)" })
            }
            // The event reads back with its run (later v2's getEvent).
            let read = try await client.call(.get, "/api/v2/events/\(eventId)", key: env.apiKey)
            #expect(read.json["runs"]?[0]?["id"] == .string(finished.id.lowercasedString))
        }
    }
}
