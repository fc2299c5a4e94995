import Foundation
import Testing
import JSON
import TestSupport
@testable import TriggerProtocol

/// The run protocol's pure parts: filter matching (spec §3.2, without upstream's crash), the SDK's
/// bodies as zod parses them, and EXECUTE_JOB answers.
@Suite struct RunProtocolTests {
    @Test(arguments: [
        // (payload, filter, matches)
        (#"{"plan":"pro"}"#, #"{"plan":["pro","team"]}"#, true),
        (#"{"plan":"free"}"#, #"{"plan":["pro","team"]}"#, false),
        (#"{}"#, #"{"plan":["pro","team"]}"#, false),
        (#"{}"#, #"{"plan":[]}"#, true),
        (#"{"n":1}"#, #"{"n":["1"]}"#, false),
        (#"{"n":1}"#, #"{"n":[1,2]}"#, true),
        (#"{"ok":true}"#, #"{"ok":[true]}"#, true),
        (#"{"tags":["a"]}"#, #"{"tags":["a"]}"#, false),
        (#"{"repository":{"full_name":"a/b"},"action":"opened"}"#, #"{"repository":{"full_name":["a/b"]},"action":["opened"]}"#, true),
        (#"{"action":"opened"}"#, #"{"repository":{"full_name":["a/b"]},"action":["opened"]}"#, false),
        (#"{"repository":null}"#, #"{"repository":{"full_name":["a/b"]}}"#, false),
        (#"{"labels":[{"name":"x"},{"name":"bug"}]}"#, #"{"labels":{"name":["bug"]}}"#, true),
        (#"{"labels":[{"name":"x"}]}"#, #"{"labels":{"name":["bug"]}}"#, false),
        (#"{"a":{"b":{"c":"d"}}}"#, #"{"a":{"b":{"c":["d"]}}}"#, true),
        (#"{"email":"Ann@Example.com"}"#, #"{"email":[{"$endsWith":"@Example.com"}]}"#, true),
        (#"{"email":"ann@x.com"}"#, #"{"email":[{"$ignoreCaseEquals":"ANN@X.COM"}]}"#, true),
        (#"{"n":5}"#, #"{"n":[{"$gt":3,"$lt":10}]}"#, true),
        (#"{"n":50}"#, #"{"n":[{"$between":[1,10]}]}"#, false),
        (#"{}"#, #"{"n":[{"$exists":false}]}"#, true),
        (#"{"plan":"pro"}"#, #"{"plan":[{"$anythingBut":["free"]}]}"#, true),
    ])
    func filters(_ payload: String, _ filter: String, _ matches: Bool) throws {
        let pattern = try #require(try JSONValue.parse(filter).objectValue)
        #expect(EventFilterMatcher.matches(try JSONValue.parse(payload), pattern) == matches, "\(payload) ~ \(filter)")
    }

    @Test func sendEventBodies() throws {
        let full = try SendEventBody.decode(try JSONValue.parse(#"""
            {"event":{"id":"e1","name":"user.created","source":"app","payload":{"a":1},"context":{"c":2},"timestamp":"2023-06-28T15:00:00.000Z"},
             "options":{"deliverAfter":30,"accountId":"acc"},"unknown":true}
            """#))
        #expect(full.id == "e1" && full.source == "app" && full.deliverAfter == 30 && full.accountId == "acc")
        #expect(full.timestamp == Date(timeIntervalSince1970: 1_687_964_400))
        let minimal = try SendEventBody.decode(try JSONValue.parse(#"{"event":{"name":"x"}}"#))
        #expect(minimal.id == nil && minimal.payload == nil && minimal.deliverAt == nil)
        for bad in [#"{}"#, #"{"event":{"name":1}}"#, #"{"event":{"name":""}}"#, #"{"event":{"name":"x","timestamp":"yesterday"}}"#,
                    #"{"event":{"name":"x"},"options":{"deliverAfter":-1}}"#, #"{"event":{"name":"x","id":null}}"#] {
            #expect(throws: ValidationError.self, "\(bad)") { try SendEventBody.decode(try JSONValue.parse(bad)) }
        }
    }

    @Test func runTaskBodies() throws {
        let wait = try RunTaskBody.decode(try JSONValue.parse(#"""
            {"idempotencyKey":"k","displayKey":"pause","noop":true,"name":"wait","icon":"clock","params":{"seconds":1},
             "delayUntil":"2023-06-28T15:00:01.000Z","style":{"style":"minimal"},"retry":{"limit":3}}
            """#))
        #expect(wait.noop && wait.name == "wait" && wait.delayUntil != nil && wait.style == TaskStyle(style: "minimal"))
        #expect(try RunTaskBody.decode(try JSONValue.parse(#"{"idempotencyKey":"k"}"#)).name == "Task", "later SDKs' default")
        #expect(try RunTaskBody.decode(try JSONValue.parse(#"{"idempotencyKey":"k","params":null}"#)).params == .null, "params is nullable")
        for bad in [#"{"name":"x"}"#, #"{"idempotencyKey":"k","noop":"yes"}"#, #"{"idempotencyKey":"k","style":{"style":"loud"}}"#,
                    #"{"idempotencyKey":"k","properties":[{"label":1}]}"#, #"{"idempotencyKey":"k","description":null}"#] {
            #expect(throws: ValidationError.self, "\(bad)") { try RunTaskBody.decode(try JSONValue.parse(bad)) }
        }
    }

    @Test func executeJobAnswers() throws {
        #expect(try RunJobResponse.decode(["status": "SUCCESS"]) == .success(output: nil))
        #expect(try RunJobResponse.decode(["status": "ERROR", "error": ["message": "boom", "name": "Error"]])
                == .error(ErrorWithStack(message: "boom", name: "Error"), task: nil))
        #expect(try RunJobResponse.decode(["status": "RESUME_WITH_TASK", "task": ["id": "t", "operation": nil]])
                == .resumeWithTask(.init(id: "t", operation: nil)))
        let retry = try RunJobResponse.decode(["status": "RETRY_WITH_TASK", "task": ["id": "t"], "error": ["message": "x"], "retryAt": "2023-06-28T15:00:00.150Z"])
        #expect(retry == .retryWithTask(.init(id: "t", operation: nil), error: ErrorWithStack(message: "x"), retryAt: Date(timeIntervalSince1970: 1_687_964_400.15)))
        // SDK 2.3's variants.
        #expect(try RunJobResponse.decode(["status": "YIELD_EXECUTION", "key": "k"]) == .yieldExecution(key: "k"))
        #expect(try RunJobResponse.decode(["status": "AUTO_YIELD_EXECUTION", "location": "beforeExecuteTask", "timeRemaining": 1200,
                                           "timeElapsed": 58_450, "limit": 59_650]) == .autoYield(location: "beforeExecuteTask"))
        #expect(try RunJobResponse.decode(["status": "AUTO_YIELD_EXECUTION_WITH_COMPLETED_TASK", "id": "t", "output": #"{"a":1}"#,
                                           "data": ["location": "afterCompleteTask", "timeRemaining": 100, "timeElapsed": 59_000]])
                == .autoYieldWithCompletedTask(taskId: "t", output: #"{"a":1}"#, properties: nil, location: "afterCompleteTask"))
        #expect(try RunJobResponse.decode(["status": "AUTO_YIELD_RATE_LIMIT", "reset": 1_687_964_400_150]) == .autoYieldRateLimit(reset: Date(timeIntervalSince1970: 1_687_964_400.15)))
        #expect(try RunJobResponse.decode(["status": "CANCELED", "task": ["id": "t"]]) == .canceled)
        #expect(try RunJobResponse.decode(["status": "UNRESOLVED_AUTH_ERROR", "issues": ["github": ["id": "github", "error": "x"]]]).status == "UNRESOLVED_AUTH_ERROR")
        #expect(try RunJobResponse.decode(["status": "INVALID_PAYLOAD", "errors": [["path": ["a"], "message": "Required"]]]).status == "INVALID_PAYLOAD")
        #expect(try RunJobResponse.decode(["status": "RESUME_WITH_PARALLEL_TASK", "task": ["id": "t"], "childErrors": []]) == .resumeWithParallelTask(.init(id: "t", operation: nil)))
        for bad: JSONValue in [["status": "MAYBE"], ["status": "ERROR"], ["status": "RESUME_WITH_TASK"], [], "SUCCESS", ["status": "YIELD_EXECUTION"],
                               ["status": "AUTO_YIELD_EXECUTION_WITH_COMPLETED_TASK", "id": "t"], ["status": "AUTO_YIELD_RATE_LIMIT", "reset": "soon"],
                               ["status": "RESUME_WITH_PARALLEL_TASK"]] {
            #expect(throws: ValidationError.self, "\(bad)") { try RunJobResponse.decode(bad) }
        }
        #expect(ErrorWithStack(message: "boom", name: "Error").formatted == "Error: boom")
        #expect(ErrorWithStack(message: "boom").formatted == "boom")
    }

    /// The SDK rejects EXECUTE_JOB bodies with null optional objects (`execute-invalid-body` fixture):
    /// Kongflow's omits what it does not have.
    @Test func runJobBodiesOmitWhatIsAbsent() throws {
        let body = RunJobBody(
            event: ApiEventLog(id: "e", name: "n", payload: [:], context: [:], timestamp: Date(timeIntervalSince1970: 0), deliverAt: nil, deliveredAt: nil),
            job: .init(slug: "j", version: "1"), run: .init(id: UUID(), isTest: false, startedAt: Date()),
            environment: .init(id: UUID(), slug: "dev", type: "DEVELOPMENT"), organization: .init(id: UUID(), title: "Acme", slug: "acme"), tasks: [])
        let json = try JSONValue(encoding: body)
        #expect(json["account"] == nil && json["source"] == nil && json["connections"] == [:] && json["tasks"] == [])
        #expect(json["event"]?["deliverAt"] == .null && json["event"]?["timestamp"] == "1970-01-01T00:00:00.000Z")
        #expect(json["run"]?["startedAt"]?.stringValue?.hasSuffix("Z") == true)
    }

    /// The noop task filter against the values the 2.3 capture documents (README: `waits.json`, second
    /// EXECUTE_JOB) and against the filter the webapp sent there, byte for byte.
    @Test func noopTaskSetMatchesTheSDKsBloomFilter() throws {
        let log = "dd36118fff0fc72ab94ba4972eae37ae4a0f3adb31a3b44f680b69e9d9bd1832"
        let wait = "2db5ff8201d847c773229f6d52cf2fa5e084945993c6b4525b3d8946cf8d2d13"
        #expect(NoopTaskSet.index(of: log) == 7829)
        #expect(NoopTaskSet.index(of: wait) == 29966)
        let set = NoopTaskSet([log, wait])
        #expect(set.bytes[978] == 32 && set.bytes[3745] == 64)
        #expect(set.bytes.reduce(0) { $0 + $1.nonzeroBitCount } == 2)
        #expect(set.contains(log) && set.contains(wait) && !set.contains("abc"))
        #expect(set.base64.count == 5464)
        #expect(NoopTaskSet().base64 == String(repeating: "A", count: 5460) + "AA==")
        #expect(NoopTaskSet(base64: set.base64) == set)
        #expect(NoopTaskSet(base64: "AAAA") == nil)

        let capture = try JSONValue.parse(Data(contentsOf: Fixtures.directory23.appendingPathComponent("runs/waits.json")))
        let executions = (capture["exchange"]?.arrayValue ?? []).filter { $0["direction"] == "server->endpoint" }
        #expect(executions.count == 2)
        #expect(executions.last?["request"]?["body"]?["noopTasksSet"]?.stringValue == set.base64)
        // Non-ASCII keys hash by UTF-16 code unit, as JavaScript's charCodeAt.
        #expect(NoopTaskSet.hash("é") != NoopTaskSet.hash("e"))
    }
}
