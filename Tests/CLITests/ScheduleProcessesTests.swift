import Foundation
import JSON
import Storage
import StorageDrivers
import Testing
import TestSupport

/// Four processes (a server and three workers) on one PostgreSQL database fire 200 dynamic schedules
/// for two ticks each: every tick becomes exactly one event and one run, on the schedule's phase.
@Suite struct ScheduleProcessesTests {
    @Test(.enabled(if: Backend.available.contains(.postgres)))
    func fourProcessesFireEveryTickOnce() async throws {
        let url = try await TestDatabase.freshURL(.postgres)
        let server = try KongflowProcess.start(["serve", "--port", "0", "--database-url", url, "--poll-interval", "0.2"])
        let port = try await server.waitFor(#"address=http://127\.0\.0\.1:(\d+)"#)
        let key = try await server.waitFor(#"API key \(shown once.*\): (tr_dev_[A-Za-z0-9]{20})"#)
        let api = "http://127.0.0.1:\(port)"
        var workers: [RunningProcess] = []
        for _ in 0..<3 { workers.append(try KongflowProcess.start(["worker", "--database-url", url, "--poll-interval", "0.2"])) }
        let example = try KongflowProcess.start(["example-endpoint", "--port", "0", "--api-key", key, "--id", "my-endpoint", "--api-url", api])
        let endpointURL = try await example.waitFor(#"url=(http://127\.0\.0\.1:\d+/api/trigger)"#)
        let env = ["KONGFLOW_API_URL": api, "KONGFLOW_API_KEY": key]
        #expect(try await KongflowProcess.run(["endpoints", "create", "--id", "my-endpoint", "--url", endpointURL], environment: env).status == 0)
        let db = try await DatabaseURL(url).open(logger: TestDatabase.testLogger)
        #expect(try await eventually { try await db.queryFirst("SELECT COUNT(*) AS n FROM dynamic_triggers WHERE type = 'SCHEDULE'")!.decode("n", as: Int.self) == 1 })

        // 200 schedules of 20 s, registered as io.registerInterval does.
        try await withThrowingTaskGroup(of: Int.self) { group in
            for n in 0..<200 {
                group.addTask {
                    let body = #"{"id":"r-\#(n)","type":"interval","options":{"seconds":20},"metadata":{"n":\#(n)}}"#
                    return try await HTTP.request("POST", "\(api)/api/v1/my-endpoint/schedules/user-reminders/registrations",
                                                  headers: ["Authorization": "Bearer \(key)", "Content-Type": "application/json"], body: Data(body.utf8)).status
                }
            }
            for try await status in group { #expect(status == 200) }
        }
        func count(_ sql: String) async throws -> Int { try await db.queryFirst(SQLQuery(unsafeSQL: sql))!.decode("n") }
        let ticks = """
            SELECT COUNT(*) AS n FROM event_records WHERE name = 'dev.trigger.scheduled' AND source_context->>'id' LIKE 'r-%'
            """
        #expect(try await eventually(timeout: .seconds(120)) { try await count(ticks) >= 400 })
        #expect(try await eventually(timeout: .seconds(60)) {
            try await count("SELECT COUNT(*) AS n FROM job_runs WHERE status NOT IN ('SUCCESS', 'FAILURE')") == 0
        })
        // Ticks go on: a third round may begin before the processes stop, and its runs are not checked.
        let settled = try await db.queryFirst("SELECT MAX(created_at) AS at FROM job_runs")!.decode("at", as: Date.self)
        for process in workers + [server, example] { #expect(await process.terminate() == 0) }

        // Every tick once: one event per (schedule, tick), one run per event, all SUCCESS.
        #expect(try await count("""
            SELECT COUNT(*) AS n FROM (SELECT source_context->>'id', timestamp FROM event_records WHERE name = 'dev.trigger.scheduled'
                                       GROUP BY 1, 2 HAVING COUNT(*) > 1) d
            """) == 0)
        #expect(try await db.queryFirst("""
            SELECT COUNT(*) AS n FROM event_records e WHERE e.name = 'dev.trigger.scheduled' AND e.created_at <= \(settled)
              AND (SELECT COUNT(*) FROM job_runs r WHERE r.event_id = e.id) <> 1
            """)!.decode("n", as: Int.self) == 0, "one run per tick")
        let failed = try await db.query("SELECT output FROM job_runs WHERE status <> 'SUCCESS' AND created_at <= \(settled) LIMIT 3").map { try $0.decodeIfPresent("output", as: String.self) ?? "" }
        #expect(failed.isEmpty, "\(failed)")
        // Ticks keep the schedule's phase: consecutive ticks are 20 s apart, or a multiple of it when a
        // tick came so late (a loaded machine running the whole suite) that the one after was already
        // due: by design that one is not back-filled (README: Schedules, downtime).
        #expect(try await count("""
            SELECT COUNT(*) AS n FROM (
                SELECT EXTRACT(EPOCH FROM timestamp - LAG(timestamp) OVER (PARTITION BY source_context->>'id' ORDER BY timestamp)) AS gap
                FROM event_records WHERE name = 'dev.trigger.scheduled' AND source_context->>'id' LIKE 'r-%'
            ) g WHERE gap IS NOT NULL AND (gap < 20 OR MOD(gap::numeric, 20) <> 0)
            """) == 0)
        #expect(try await count("SELECT COUNT(DISTINCT source_context->>'id') AS n FROM event_records WHERE source_context->>'id' LIKE 'r-%'") == 200)
        await db.close()
    }
}
