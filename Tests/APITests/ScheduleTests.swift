import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import JSON
import NIOConcurrencyHelpers
import Runs
import Storage
import Testing
import TestSupport

/// Schedules fire on a clock the test moves by hand: static interval and cron triggers, dynamic
/// schedules registered at run time, catch-up after an outage, and the chain's end.
@Suite struct ScheduleTests {
    /// What the endpoint was asked to run: job, the tick's payload and the source.
    final class Executions: Sendable {
        private let state = NIOLockedValueBox<[JSONValue]>([])
        func record(_ body: JSONValue) { state.withLockedValue { $0.append(body) } }
        func of(_ job: String) -> [JSONValue] { state.withLockedValue { $0.filter { $0["job"]?["id"]?.stringValue == job } } }
        var count: Int { state.withLockedValue { $0.count } }
    }

    /// An index the test can change between indexes.
    actor Declared {
        var jobs: [JSONValue]
        init(_ jobs: [JSONValue]) { self.jobs = jobs }
        func set(_ jobs: [JSONValue]) { self.jobs = jobs }
        func index() -> String {
            JSONValue.object(["jobs": .array(jobs), "sources": [], "dynamicTriggers": [],
                              "dynamicSchedules": [["id": "reminders", "jobs": [["id": "remind", "version": "1.0.0"]]]]]).jsonString()
        }
    }

    static func scheduled(_ id: String, _ schedule: JSONValue) -> JSONValue {
        ["id": .string(id), "name": .string(id), "version": "1.0.0",
         "event": ["name": "trigger.scheduled", "title": "Schedule", "source": "trigger.dev", "icon": "schedule"],
         "trigger": ["type": "scheduled", "schedule": schedule], "integrations": [:], "startPosition": "latest", "enabled": true, "preprocessRuns": false]
    }

    static let dynamicJob: JSONValue = [
        "id": "remind", "name": "remind", "version": "1.0.0",
        "event": ["name": "trigger.scheduled", "title": "Dynamic", "source": "trigger.dev", "icon": "schedule"],
        "trigger": ["type": "dynamic", "id": "reminders"], "integrations": [:], "startPosition": "latest", "enabled": true, "preprocessRuns": false,
    ]

    @Test(arguments: Backend.available)
    func schedulesFireOncePerTickAndResumeAfterAnOutage(_ backend: Backend) async throws {
        let clock = TestClock(ISODate.parse("2026-01-01T16:00:00.000Z")!)
        try await TestStack.run(backend, now: clock.function) { stack, client in
            let env = try await stack.environment()
            let executions = Executions()
            let declared = Declared([Self.scheduled("every-minute", ["type": "interval", "options": ["seconds": 60]]),
                                     Self.scheduled("at-five", ["type": "cron", "options": ["cron": "*/5 * * * *"]]), Self.dynamicJob])
            let key = env.apiKey
            let server = try await TestHTTPServer.start { request in
                guard request.headers["x-trigger-api-key"] == key else { return .json(401, "{}") }
                switch request.headers["x-trigger-action"] {
                case "PING": return .json(200, #"{"ok":true}"#)
                case "INDEX_ENDPOINT": return .json(200, await declared.index())
                default:
                    executions.record((try? JSONValue.parse(request.body)) ?? .null)
                    return .json(200, #"{"status":"SUCCESS"}"#)
                }
            }
            defer { Task { await server.stop() } }
            func index() async throws {
                let indexed = try await client.call(.post, "/api/v1/endpoints/my-endpoint/index", key: key)
                _ = try await stack.settledIndex(try #require(indexed.json["id"]?.stringValue.flatMap(UUID.init(uuidString:))), environment: env)
            }
            let created = try await client.call(.post, "/api/v1/endpoints", key: key, body: #"{"id":"my-endpoint","url":"\#(server.baseURL)/api/trigger"}"#)
            _ = try await stack.settledIndex(try #require(created.json["endpointIndex"]?["id"]?.stringValue.flatMap(UUID.init(uuidString:))), environment: env)
            let minute = try await client.call(.get, "/api/v1/jobs/every-minute", key: key).json
            #expect(minute["schedule"]?["nextRunAt"] == "2026-01-01T16:01:00.000Z" && minute["schedule"]?["lastRunAt"] == .null)

            // A schedule registered at run time (io.registerInterval), with the routes' errors.
            let registration = #"{"id":"user-1","type":"interval","options":{"seconds":120},"metadata":{"user":1}}"#
            let registered = try await client.call(.post, "/api/v1/my-endpoint/schedules/reminders/registrations", key: key, body: registration)
            #expect(registered.status == .ok && registered.json == ["id": "user-1", "schedule": ["type": "interval", "options": ["seconds": 120]],
                                                                    "metadata": ["user": 1], "active": true], "\(registered.text)")
            let other = try await stack.environment(organization: "Other")
            for (path, body, status, message) in [
                ("/api/v1/nope/schedules/reminders/registrations", registration, HTTPResponse.Status.notFound, "Endpoint nope not found"),
                ("/api/v1/my-endpoint/schedules/nope/registrations", registration, .notFound, "Dynamic schedule nope not found on endpoint my-endpoint"),
                ("/api/v1/my-endpoint/schedules/reminders/registrations", #"{"id":"x","type":"interval","options":{"seconds":5}}"#, .badRequest, nil),
                ("/api/v1/my-endpoint/schedules/reminders/registrations", #"{"id":"x","type":"cron","options":{"cron":"99 * * * *"}}"#, .badRequest, nil),
            ] {
                let response = try await client.call(.post, path, key: key, body: body)
                #expect(response.status == status, "\(path) \(body): \(response.text)")
                if let message { #expect(response.json["error"] == .string(message)) }
            }
            #expect(try await client.call(.post, "/api/v1/my-endpoint/schedules/reminders/registrations", key: other.apiKey, body: registration).status == .notFound)

            // 16:01:00: the interval's first tick, one interval after registration.
            clock.advance(by: 61)
            #expect(try await eventually { executions.of("every-minute").count == 1 })
            let first = executions.of("every-minute")[0]
            #expect(first["event"]?["payload"] == ["ts": "2026-01-01T16:01:00.000Z"] && first["event"]?["name"] == "dev.trigger.scheduled")
            #expect(first["source"] == ["id": "every-minute", "metadata": .null])

            // Down until 16:05:01: each schedule fires one catch-up, not one run per missed tick.
            clock.advance(by: 240)
            #expect(try await eventually { executions.of("every-minute").count == 2 && executions.of("at-five").count == 1 && executions.of("remind").count == 1 })
            #expect(executions.of("every-minute")[1]["event"]?["payload"] == ["ts": "2026-01-01T16:02:00.000Z", "lastTimestamp": "2026-01-01T16:01:00.000Z"])
            #expect(executions.of("at-five")[0]["event"]?["payload"] == ["ts": "2026-01-01T16:05:00.000Z"])
            #expect(executions.of("remind")[0]["source"] == ["id": "user-1", "metadata": ["user": 1]])
            let afterOutage = try await client.call(.get, "/api/v1/jobs/every-minute", key: key).json["schedule"]
            #expect(afterOutage?["nextRunAt"] == "2026-01-01T16:06:00.000Z" && afterOutage?["lastRunAt"] == "2026-01-01T16:02:00.000Z")

            // A stale tick (the schedule moved on) fires nothing.
            let scheduleId: UUID = try await stack.database.queryFirst("SELECT id FROM schedule_sources WHERE key = 'every-minute'")!.decode("id")
            try await stack.queue.enqueue("fireSchedule", payload: ["id": .string(scheduleId.lowercasedString), "ts": "2026-01-01T16:02:00.000Z"] as JSONValue)

            // Unregistered, the dynamic schedule stops; registered again, it comes back.
            let removed = try await client.call(.delete, "/api/v1/my-endpoint/schedules/reminders/registrations/user-1", key: key)
            #expect(removed.json == ["ok": true])
            #expect(try await client.call(.delete, "/api/v1/my-endpoint/schedules/reminders/registrations/user-2", key: key).status == .notFound)
            clock.advance(by: 300)  // 16:10:01
            #expect(try await eventually { executions.of("every-minute").count == 3 && executions.of("at-five").count == 2 })
            #expect(executions.of("remind").count == 1)
            #expect(try await client.call(.post, "/api/v1/my-endpoint/schedules/reminders/registrations", key: key, body: registration).json["active"] == true)

            // A job no longer declared stops firing; declared again, it resumes.
            await declared.set([Self.scheduled("at-five", ["type": "cron", "options": ["cron": "*/5 * * * *"]]), Self.dynamicJob])
            try await index()
            clock.advance(by: 300)  // 16:15:01
            #expect(try await eventually { executions.of("at-five").count == 3 && executions.of("remind").count == 2 })
            #expect(executions.of("every-minute").count == 3)
            // A changed schedule is re-planned.
            await declared.set([Self.scheduled("every-minute", ["type": "interval", "options": ["seconds": 60]]),
                                Self.scheduled("at-five", ["type": "cron", "options": ["cron": "0 17 * * *"]]), Self.dynamicJob])
            try await index()
            let atFive = try await client.call(.get, "/api/v1/jobs/at-five", key: key).json["schedule"]
            #expect(atFive?["nextRunAt"] == "2026-01-01T17:00:00.000Z", "\(String(describing: atFive))")
            clock.advance(by: 61)  // 16:16:02
            #expect(try await eventually { executions.of("every-minute").count == 4 })
            #expect(executions.of("at-five").count == 3)

            // Every tick once: one event and one run per fired tick.
            var ticks = 0, runs = 0
            #expect(try await eventually {
                ticks = try await stack.count("event_records", "name = 'dev.trigger.scheduled'")
                runs = try await stack.count("job_runs", "status = 'SUCCESS'")
                return ticks == executions.count && ticks == runs
            }, "\(ticks) ticks, \(runs) runs, \(executions.count) executions")
            let list = try await client.call(.get, "/api/v1/schedules", key: key).json.arrayValue ?? []
            #expect(Set(list.compactMap { $0["key"]?.stringValue }) == ["every-minute", "at-five", "user-1"])
            #expect(list.first { $0["key"] == "user-1" }?["dynamicSchedule"] == "reminders")
            let metrics = try await client.call(.get, "/metrics").text
            #expect(metrics.contains(#"kongflow_schedule_ticks_total{outcome="stale"} 1"#), "\(metrics)")

            // Deleting the endpoint stops its schedules.
            #expect(try await client.call(.delete, "/api/v1/endpoints/my-endpoint", key: key).status == .ok)
            let before = executions.count
            clock.advance(by: 3600)
            #expect(try await eventually { try await stack.count("schedule_sources", "active = \(backend == .postgres ? "true" : "1")") == 0 })
            #expect(executions.count == before)
        }
    }
}
