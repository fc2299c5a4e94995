import Foundation
import JSON

extension ExampleClient {
    /// EXECUTE_JOB as `TriggerClient.#executeJob` answers it: the job's function runs with an `io`
    /// against the server; it returns (SUCCESS), throws (ERROR) or reaches a wait (RESUME_WITH_TASK).
    func execute(_ body: Data) async -> (Int, String) {
        guard let request = try? JSONValue.parse(body), let jobId = request["job"]?["id"]?.stringValue,
              let runId = request["run"]?["id"]?.stringValue else { return (400, #"{"message":"Invalid execution"}"#) }
        guard let job = Self.jobs[jobId] else { return (404, #"{"message":"Job not found"}"#) }
        let io = IO(apiURL: apiURL, apiKey: apiKey, runId: runId, parentId: nil, clientId: id)
        let answer: JSONValue
        do {
            answer = ["status": "SUCCESS", "output": try await job(request["event"]?["payload"] ?? [:], io)]
        } catch let resume as IO.Resume {
            answer = ["status": "RESUME_WITH_TASK", "task": resume.task]
        } catch {
            answer = ["status": "ERROR", "error": ["message": .string("\(error)"), "name": "Error"]]
        }
        return (200, answer.jsonString())
    }

    typealias Job = @Sendable (_ payload: JSONValue, _ io: IO) async throws -> JSONValue

    /// What the example jobs do when they run.
    static let jobs: [String: Job] = [
        // The quick start's job: a log, a task, a one-second wait, then the output.
        "send-welcome-email": { payload, io in
            try await io.log("Hello \(payload["userId"]?.stringValue ?? "there")")
            let user = try await io.runTask("load-user", name: "Load user") { _ in
                ["id": payload["userId"] ?? "u_1", "plan": payload["plan"] ?? "free"]
            }
            try await io.wait("pause", seconds: 1)
            return ["ok": true, "user": user]
        },
        // A task that takes `seconds` (crash tests kill the server while it runs).
        "slow-task": { payload, io in
            let seconds = payload["seconds"]?.numberValue ?? 5
            let slept = try await io.runTask("sleep", name: "Sleep") { _ in
                try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                return ["slept": .number(seconds)]
            }
            return ["done": true, "task": slept]
        },
        // One log and one task: the benchmark's job.
        "log-and-task": { payload, io in
            try await io.log("Run \(payload["n"]?.numberValue.map { String(Int($0)) } ?? "")")
            return try await io.runTask("work", name: "Work") { _ in ["n": payload["n"] ?? .null] }
        },
        "hourly-report": { _, io in try await io.log("Hourly report"); return ["ok": true] },
        "nightly-cleanup": { _, io in try await io.log("Nightly cleanup"); return ["ok": true] },
        "remind-user": { _, io in try await io.log("Reminder"); return ["ok": true] },
        // The webhook source's registration job, as the SDK generates it: register the webhook with the
        // third party (nothing to call here), then tell the server which events it gets.
        "github.repo-http-acmeweb-github": { payload, io in
            let events = payload["events"]?.arrayValue?.compactMap(\.stringValue) ?? []
            _ = try await io.runTask("register-source", name: "Register source") { _ in ["registeredEvents": .array(events.map(JSONValue.string))] }
            return try await io.updateSource(key: payload["source"]?["key"]?.stringValue ?? "", registeredEvents: events,
                                             secret: payload["source"]?["secret"]?.stringValue)
        },
    ]
}
