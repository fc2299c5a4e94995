import Foundation
import Testing
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
        #expect(try RunJobResponse.decode(["status": "YIELD_EXECUTION", "key": "k"]) == .unsupported(status: "YIELD_EXECUTION"))
        for bad: JSONValue in [["status": "MAYBE"], ["status": "ERROR"], ["status": "RESUME_WITH_TASK"], [], "SUCCESS"] {
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
}
