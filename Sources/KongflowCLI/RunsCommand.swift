import ArgumentParser
import Foundation
import JSON

struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Send events to a running server (what the SDK's client.sendEvent does).",
        subcommands: [Send.self, Show.self])

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send an event; matching jobs run (POST /api/v1/events).")
        @OptionGroup var api: APIClientOptions
        @Argument(help: "The event name, e.g. user.created.") var name: String
        @Option(help: "The payload as JSON.") var payload = "{}"
        @Option(help: "The event id (sending the same id twice starts nothing the second time).") var id: String?
        @Option(help: "Deliver this many seconds from now.") var deliverAfter: Int?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            guard let parsed = try? JSONValue.parse(payload) else { throw ValidationError("--payload is not JSON: \(payload)") }
            var event: [String: JSONValue] = ["name": .string(name), "payload": parsed]
            if let id { event["id"] = .string(id) }
            var body: [String: JSONValue] = ["event": .object(event)]
            if let deliverAfter { body["options"] = ["deliverAfter": .number(Double(deliverAfter))] }
            let sent = try await api.call(.POST, "/api/v1/events", body: .object(body))
            if json { printJSONValue(sent); return }
            print("Sent \(name) as event \(sent["id"]?.stringValue ?? "?"); `kongflow events show \(sent["id"]?.stringValue ?? "?")` lists its runs.")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An event and the runs it started.")
        @OptionGroup var api: APIClientOptions
        @Argument(help: "The event id.") var id: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let event = try await api.call(.GET, "/api/v2/events/\(RunsCommand.escape(id))")
            if json { printJSONValue(event); return }
            print("\(event["id"]?.stringValue ?? "?")  \(event["name"]?.stringValue ?? "?")  \(event["createdAt"]?.stringValue ?? "")")
            for run in event["runs"]?.arrayValue ?? [] {
                print("  run \(run["id"]?.stringValue ?? "?")  \(run["status"]?.stringValue ?? "?")")
            }
        }
    }
}

struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List, inspect, follow and cancel runs on a running server.",
        subcommands: [List.self, Show.self, Watch.self, Cancel.self])

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? text
    }

    static func line(_ run: JSONValue) -> String {
        let job = run["job"]?["id"]?.stringValue ?? "?"
        return "\(run["id"]?.stringValue ?? "?")  \(job) #\(run["number"]?.numberValue.map { String(Int($0)) } ?? "?")  "
            + "\(run["status"]?.stringValue ?? "?")  started \(run["startedAt"]?.stringValue ?? "-")  \(duration(run["startedAt"], run["completedAt"]))"
    }

    static func duration(_ start: JSONValue?, _ end: JSONValue?) -> String {
        guard let from = start?.stringValue.flatMap(ISODate.parse), let to = end?.stringValue.flatMap(ISODate.parse) else { return "" }
        let seconds = to.timeIntervalSince(from)
        return seconds < 1 ? "\(Int(seconds * 1000)) ms" : String(format: "%.1f s", seconds)
    }

    /// The run's tasks as a tree: status, name, attempts, duration.
    static func render(_ run: JSONValue) -> [String] {
        var lines = [line(run)]
        if let event = run["event"]?.stringValue { lines.append("  event \(event)") }
        func walk(_ tasks: [JSONValue], depth: Int) {
            for task in tasks {
                let indent = String(repeating: "  ", count: depth + 1)
                let attempts = Int(task["attempts"]?.numberValue ?? 1)
                var text = "\(indent)\(task["status"]?.stringValue ?? "?")  \(task["name"]?.stringValue ?? "?")"
                if let description = task["description"]?.stringValue, task["name"] == "log" { text += ": \(description)" }
                if attempts > 1 { text += "  (\(attempts) attempts)" }
                let took = duration(task["startedAt"], task["completedAt"])
                if !took.isEmpty { text += "  \(took)" }
                if let error = task["error"]?.stringValue { text += "  error: \(error)" }
                lines.append(text)
                walk(task["subtasks"]?.arrayValue ?? [], depth: depth + 1)
            }
        }
        walk(run["tasks"]?.arrayValue ?? [], depth: 0)
        if let output = run["output"], output != .null { lines.append("  output: \(output.jsonString())") }
        return lines
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Runs, newest first.")
        @OptionGroup var api: APIClientOptions
        @Option(help: "Only runs of this job.") var job: String?
        @Option(help: "Only runs with this status (SUCCESS, FAILURE, EXECUTING, …).") var status: String?
        @Option(help: "At most this many.") var limit = 20
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            var query = ["limit=\(limit)"]
            if let job { query.append("job=\(RunsCommand.escape(job))") }
            if let status { query.append("status=\(RunsCommand.escape(status))") }
            let page = try await api.call(.GET, "/api/v1/runs?" + query.joined(separator: "&"))
            if json { printJSONValue(page["runs"] ?? []); return }
            let runs = page["runs"]?.arrayValue ?? []
            if runs.isEmpty { print("No runs yet. Send an event: kongflow events send user.created --payload '{\"userId\":\"u_1\"}'") }
            for run in runs { print(RunsCommand.line(run)) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A run with its tasks as a tree.")
        @OptionGroup var api: APIClientOptions
        @Argument(help: "The run id.") var id: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let run = try await api.call(.GET, "/api/v2/runs/\(RunsCommand.escape(id))")
            if json { printJSONValue(run); return }
            for line in RunsCommand.render(run) { print(line) }
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Follow a run until it finishes; exits 0 on SUCCESS, 1 otherwise.")
        @OptionGroup var api: APIClientOptions
        @Argument(help: "The run id.") var id: String
        @Option(help: "Seconds between polls.") var interval = 0.5
        @Option(help: "Give up after this many seconds.") var timeout = 600.0

        func run() async throws {
            let deadline = Date().addingTimeInterval(timeout)
            var shown: [String] = []
            while true {
                let run = try await api.call(.GET, "/api/v2/runs/\(RunsCommand.escape(id))")
                let lines = RunsCommand.render(run)
                // Print what changed since the last poll: the first line (status) and new task lines.
                if lines != shown {
                    for line in lines where !shown.contains(line) { print(line) }
                    shown = lines
                }
                let status = run["status"]?.stringValue ?? ""
                if ["SUCCESS", "FAILURE", "CANCELED", "TIMED_OUT"].contains(status) {
                    if status != "SUCCESS" { throw ExitCode(1) }
                    return
                }
                guard Date() < deadline else { throw CLIError("Run \(id) is still \(status) after \(Int(timeout)) s") }
                try await Task.sleep(for: .milliseconds(Int64(max(0.05, interval) * 1000)))
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a run that has not finished.")
        @OptionGroup var api: APIClientOptions
        @Argument(help: "The run id.") var id: String

        func run() async throws {
            let run = try await api.call(.POST, "/api/v1/runs/\(RunsCommand.escape(id))/cancel")
            print(RunsCommand.line(run))
        }
    }
}

struct SchedulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedules",
        abstract: "The environment's schedules: interval and cron triggers, and schedules registered at run time.",
        subcommands: [List.self, Show.self])

    static func describe(_ schedule: JSONValue) -> String {
        switch schedule["type"]?.stringValue {
        case "cron": return "cron \(schedule["options"]?["cron"]?.stringValue ?? "?")"
        case "interval": return "every \(Int(schedule["options"]?["seconds"]?.numberValue ?? 0)) s"
        default: return schedule.jsonString()
        }
    }

    static func line(_ item: JSONValue) -> String {
        let owner = item["job"]?.stringValue ?? item["dynamicSchedule"]?.stringValue.map { "dynamic \($0)" } ?? "-"
        return "\(item["key"]?.stringValue ?? "?")  \(owner)  \(describe(item["schedule"] ?? .null))  next \(item["nextRunAt"]?.stringValue ?? "-")  "
            + "last \(item["lastRunAt"]?.stringValue ?? "-")  \(item["active"] == true ? "active" : "inactive")"
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every schedule: key, job, kind and expression, next run, last run, active.")
        @OptionGroup var api: APIClientOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let schedules = try await api.call(.GET, "/api/v1/schedules")
            if json { printJSONValue(schedules); return }
            let items = schedules.arrayValue ?? []
            if items.isEmpty { print("No schedules. Jobs with intervalTrigger or cronTrigger get one when their endpoint is indexed.") }
            for item in items { print(SchedulesCommand.line(item)) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One schedule by key (a job's slug, or a registered key).")
        @OptionGroup var api: APIClientOptions
        @Argument(help: "The schedule's key.") var key: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let schedules = try await api.call(.GET, "/api/v1/schedules")
            guard let item = schedules.arrayValue?.first(where: { $0["key"]?.stringValue == key }) else { throw CLIError("Schedule \(key) not found") }
            if json { printJSONValue(item); return }
            print(SchedulesCommand.line(item))
            if let metadata = item["metadata"], metadata != .null { print("  metadata: \(metadata.jsonString())") }
        }
    }
}
