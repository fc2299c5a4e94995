import Foundation
import JSON

/// A TriggerClient written in Swift: answers PING, INDEX_ENDPOINT and EXECUTE_JOB the way the
/// trigger.dev v2 SDK's `TriggerClient.handleRequest` does, declaring a few jobs of each trigger kind
/// and running them (logs, tasks, waits) against Kongflow's API. It lets the quick start, the tests and
/// the benchmarks use an endpoint without a JavaScript app.
public struct ExampleClient: Sendable {
    let apiKey: String
    let id: String
    let indexJSON: String
    /// Where the jobs' `io` calls go (the SDK's `TRIGGER_API_URL`).
    let apiURL: String

    public init(apiKey: String, id: String, index: JSONValue, apiURL: String = "http://127.0.0.1:3030") {
        self.apiKey = apiKey
        self.id = id
        self.indexJSON = index.jsonString()
        self.apiURL = apiURL.hasSuffix("/") ? String(apiURL.dropLast()) : apiURL
    }

    /// The SDK's order of checks: key, method, action; then the action itself.
    public func respond(method: String, headers: [String: String], body: Data = Data()) async -> (Int, String) {
        if headers["x-trigger-action"] == "EXECUTE_JOB", headers["x-trigger-api-key"] == apiKey, method == "POST" {
            return await execute(body)
        }
        return answer(method: method, headers: headers)
    }

    /// PING and INDEX_ENDPOINT (and every refusal), which need no I/O.
    public func answer(method: String, headers: [String: String]) -> (Int, String) {
        guard let key = headers["x-trigger-api-key"], key == apiKey else { return (401, #"{"message":"Unauthorized"}"#) }
        guard method == "POST" else { return (405, #"{"message":"Method not allowed"}"#) }
        guard let action = headers["x-trigger-action"] else { return (400, #"{"message":"Missing x-trigger-action header"}"#) }
        switch action {
        case "PING":
            guard let endpointId = headers["x-trigger-endpoint-id"] else { return (200, #"{"ok":false,"error":"Missing endpoint ID"}"#) }
            guard endpointId == id else {
                return (200, JSONValue.object(["ok": false, "error": .string("Endpoint ID mismatch error. Expected \(id), got \(endpointId)")]).jsonString())
            }
            return (200, #"{"ok":true}"#)
        case "INDEX_ENDPOINT":
            return (200, indexJSON)
        default:
            return (405, #"{"message":"Method not allowed"}"#)
        }
    }

    /// An index like the SDK builds: an event job, interval and cron jobs, a dynamic trigger with
    /// its internal job, a dynamic schedule, and an external source with its internal job. LOCAL
    /// integrations, so registration needs no pre-configured integration.
    public static func index(clientId: String, extraJobs: Int = 0) -> JSONValue {
        let now: JSONValue = ["id": "now", "name": "Now", "icon": "clock", "payload": ["ts": "__CURRENT_DATE__", "lastTimestamp": "__CURRENT_DATE__"]]
        let github: JSONValue = ["id": "github", "metadata": ["id": "github", "name": "GitHub"], "authSource": "LOCAL"]
        let sourceKey = "github.repo-http-acmeweb-github"
        func eventJob(_ id: String, _ event: String, version: String = "1.0.0", queue: JSONValue? = nil) -> JSONValue {
            var job: [String: JSONValue] = ["id": .string(id), "name": .string("On \(event)"), "version": .string(version),
             "event": ["name": .string(event), "title": "Event", "source": "trigger.dev", "icon": "custom-event"],
             "trigger": ["type": "static", "title": .string(event), "rule": ["event": .string(event), "source": "trigger.dev", "payload": [:]]],
             "integrations": [:], "startPosition": "latest", "enabled": true, "preprocessRuns": false]
            if let queue { job["queue"] = queue }
            return .object(job)
        }
        var jobs: [JSONValue] = [
            eventJob("send-welcome-email", "user.created"),
            eventJob("slow-task", "example.slow"),
            eventJob("log-and-task", "example.bench", queue: ["name": "bench", "maxConcurrent": 1000]),
            ["id": "hourly-report", "name": "Hourly report", "version": "1.0.0",
             "event": ["name": "trigger.scheduled", "title": "Schedule", "source": "trigger.dev", "icon": "schedule-interval", "examples": [now],
                       "properties": [["label": "Interval", "text": "3600s"]]],
             "trigger": ["type": "scheduled", "schedule": ["type": "interval", "options": ["seconds": 3600]]],
             "integrations": [:], "startPosition": "latest", "enabled": true, "preprocessRuns": false],
            ["id": "nightly-cleanup", "name": "Nightly cleanup", "version": "1.0.0",
             "event": ["name": "trigger.scheduled", "title": "Cron Schedule", "source": "trigger.dev", "icon": "schedule-cron", "examples": [now],
                       "properties": [["label": "Expression", "text": "0 3 * * *"]]],
             "trigger": ["type": "scheduled", "schedule": ["type": "cron", "options": ["cron": "0 3 * * *"]]],
             "integrations": [:], "startPosition": "latest", "enabled": true, "preprocessRuns": false],
            ["id": "register-dynamic-trigger-new-issue", "name": "Register dynamic trigger new-issue", "version": "0.1.1",
             "event": ["name": "dev.trigger.source.register", "title": "Register Source", "source": "internal", "icon": "register-source"],
             "trigger": ["type": "static", "title": "Register Source",
                         "rule": ["event": "dev.trigger.source.register", "source": "trigger.dev", "payload": ["dynamicTriggerId": ["new-issue"]]]],
             "integrations": ["integration": github], "startPosition": "latest", "enabled": true, "preprocessRuns": false, "internal": true],
            ["id": "triage-issue", "name": "Triage a new issue", "version": "1.0.0",
             "event": ["name": "issues", "title": "On issue opened", "source": "github.com", "icon": "github", "filter": ["action": ["opened"]]],
             "trigger": ["type": "dynamic", "id": "new-issue"],
             "integrations": ["github": github], "startPosition": "latest", "enabled": true, "preprocessRuns": true],
            ["id": "remind-user", "name": "Per-user reminder", "version": "1.0.0",
             "event": ["name": "trigger.scheduled", "title": "Dynamic Schedule", "source": "trigger.dev", "icon": "schedule-dynamic", "examples": [now]],
             "trigger": ["type": "dynamic", "id": "user-reminders"],
             "integrations": [:], "startPosition": "latest", "enabled": true, "preprocessRuns": false],
            ["id": "on-push", "name": "On push to acme/web", "version": "1.0.0",
             "event": ["name": "push", "title": "On push", "source": "github.com", "icon": "github"],
             "trigger": ["type": "static", "title": "External Source",
                         "rule": ["event": "push", "source": "github.com", "payload": ["repository": ["full_name": ["acme/web"]]]],
                         "properties": [["label": "Repo", "text": "acme/web"]]],
             "integrations": ["github": github], "startPosition": "latest", "enabled": true, "preprocessRuns": true],
            ["id": .string(sourceKey), "name": .string(sourceKey), "version": "0.1.1",
             "event": ["name": "dev.trigger.source.register", "title": "Register Source", "source": "internal", "icon": "register-source"],
             "trigger": ["type": "static", "title": "Register Source",
                         "rule": ["event": "dev.trigger.source.register", "source": "trigger.dev", "payload": ["source": ["key": [.string(sourceKey)]]]]],
             "integrations": ["integration": github], "queue": ["name": .string(sourceKey), "maxConcurrent": 1],
             "startPosition": "initial", "enabled": true, "preprocessRuns": false, "internal": true],
        ]
        for n in 0..<extraJobs { jobs.append(eventJob("generated-\(n)", "generated.event.\(n % 50)")) }
        return [
            "jobs": .array(jobs),
            "sources": [["channel": "HTTP", "key": .string(sourceKey), "params": ["owner": "acme", "repo": "web"], "events": ["push"], "integration": github]],
            "dynamicTriggers": [["id": "new-issue", "jobs": [["id": "triage-issue", "version": "1.0.0"]]]],
            "dynamicSchedules": [["id": "user-reminders", "jobs": [["id": "remind-user", "version": "1.0.0"]]]],
        ]
    }
}
