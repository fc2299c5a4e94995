import Foundation
import JSON
import Storage
import StorageDrivers
import Testing
import TestSupport

/// `kill -9` of the server in the middle of indexing a 1,000-job endpoint: after a restart every
/// item registers exactly once and the index is terminal (RELIABILITY.md). The endpoint answers
/// its first INDEX_ENDPOINT after 12 s (within the 15 s call timeout) and says when it got the request;
/// the kill follows that line at once, so it lands while the index job is running, every time.
@Suite struct CrashRecoveryTests {
    @Test(arguments: Backend.available)
    func killedWorkerMidIndexingConverges(_ backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        let serveArguments = ["serve", "--port", "0", "--database-url", url, "--heartbeat-timeout", "2", "--poll-interval", "0.2"]
        let first = try KongflowProcess.start(serveArguments)
        let port = try await first.waitFor(#"address=http://127\.0\.0\.1:(\d+)"#)
        let key = try await first.waitFor(#"API key \(shown once.*\): (tr_dev_[A-Za-z0-9]{20})"#)
        let example = try KongflowProcess.start(["example-endpoint", "--port", "0", "--api-key", key, "--id", "big", "--extra-jobs", "990",
                                                 "--index-delay", "12"])
        let endpointURL = try await example.waitFor(#"url=(http://127\.0\.0\.1:\d+/api/trigger)"#)
        let env = ["KONGFLOW_API_URL": "http://127.0.0.1:\(port)", "KONGFLOW_API_KEY": key]
        let created = try await KongflowProcess.run(["endpoints", "create", "--id", "big", "--url", endpointURL, "--json"], environment: env)
        #expect(created.status == 0, "\(created.stderr)")

        let db = try await DatabaseURL(url).open(logger: TestDatabase.testLogger)
        defer { Task { await db.close() } }
        func count(_ sql: String) async throws -> Int { try await db.queryFirst(SQLQuery(unsafeSQL: sql))!.decode("n") }
        func ids(_ table: String) async throws -> Set<UUID> {
            Set(try await db.query(SQLQuery(unsafeSQL: "SELECT id FROM \(table)")).map { try $0.decode("id", as: UUID.self) })
        }
        // The worker has claimed the index job and is waiting for the endpoint: kill it, no clean-up.
        _ = try await example.waitFor("delaying INDEX_ENDPOINT")
        #expect(await first.terminate(signal: SIGKILL) == SIGKILL)
        #expect(try await count("SELECT COUNT(*) AS n FROM endpoint_indexes WHERE status = 'STARTED'") == 1)
        #expect(try await count("SELECT COUNT(*) AS n FROM kongflow_jobs WHERE locked_at IS NOT NULL") == 1, "the dead worker holds the index job")
        #expect(try await count("SELECT COUNT(*) AS n FROM job_versions") == 0)
        let (endpointsAtKill, indexesAtKill) = (try await ids("endpoints"), try await ids("endpoint_indexes"))

        let second = try KongflowProcess.start(serveArguments)
        _ = try await second.waitFor(#"address=http://127\.0\.0\.1:(\d+)"#)
        #expect(try await eventually(timeout: .seconds(240)) {
            try await count("SELECT COUNT(*) AS n FROM kongflow_jobs WHERE task_identifier <> 'fireSchedule'") == 0
        })
        #expect(try await ids("endpoints") == endpointsAtKill, "what was committed before the kill survived it")
        #expect(try await ids("endpoint_indexes") == indexesAtKill, "the index was resumed, not replaced")
        #expect(try await count("SELECT COUNT(*) AS n FROM jobs") == 1000)
        #expect(try await count("SELECT COUNT(*) AS n FROM job_versions") == 1000)
        #expect(try await count("SELECT COUNT(*) AS n FROM job_aliases") == 1000)
        #expect(try await count("SELECT COUNT(*) AS n FROM endpoint_index_registrations WHERE status = 'REGISTERED'") == 1003)
        #expect(try await count("SELECT COUNT(*) AS n FROM endpoint_indexes WHERE status = 'SUCCESS'") == 1)
        #expect(await second.terminate() == 0)
        #expect(await example.terminate() == 0)
    }

    /// `kill -9` of the server while a run's task is running on the endpoint: after a restart the
    /// execution runs again (the stalled job is released), the replay finishes the task, and the run
    /// ends SUCCESS exactly once.
    @Test(arguments: Backend.available)
    func killedServerMidRunFinishesTheRunOnce(_ backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        let port = try TestHTTPServer.freePort()
        let serveArguments = ["serve", "--port", "\(port)", "--database-url", url, "--heartbeat-timeout", "2", "--poll-interval", "0.2"]
        let first = try KongflowProcess.start(serveArguments)
        _ = try await first.waitFor(#"address=http://127\.0\.0\.1:(\d+)"#)
        let key = try await first.waitFor(#"API key \(shown once.*\): (tr_dev_[A-Za-z0-9]{20})"#)
        let api = "http://127.0.0.1:\(port)"
        let example = try KongflowProcess.start(["example-endpoint", "--port", "0", "--api-key", key, "--id", "my-endpoint", "--api-url", api])
        let endpointURL = try await example.waitFor(#"url=(http://127\.0\.0\.1:\d+/api/trigger)"#)
        let env = ["KONGFLOW_API_URL": api, "KONGFLOW_API_KEY": key]
        let created = try await KongflowProcess.run(["endpoints", "index", "my-endpoint", "--wait"], environment: env)
        #expect(created.status != 0, "not registered yet")
        #expect(try await KongflowProcess.run(["endpoints", "create", "--id", "my-endpoint", "--url", endpointURL], environment: env).status == 0)
        #expect(try await eventually {
            try await KongflowProcess.run(["registered-jobs", "list"], environment: env).stdout.contains("slow-task")
        })
        let sent = try await KongflowProcess.run(["events", "send", "example.slow", "--payload", #"{"seconds":20}"#, "--id", "slow-1"], environment: env)
        #expect(sent.status == 0, "\(sent.stderr)")
        // The endpoint is inside the run's task: kill the server, no clean-up.
        _ = try await example.waitFor("job=slow-task.*executing job")
        #expect(await first.terminate(signal: SIGKILL) == SIGKILL)

        let second = try KongflowProcess.start(serveArguments)
        _ = try await second.waitFor(#"address=http://127\.0\.0\.1:(\d+)"#)
        var run: JSONValue = .null
        #expect(try await eventually(timeout: .seconds(120)) {
            let event = try await KongflowProcess.run(["events", "show", "slow-1", "--json"], environment: env)
            let runs = (try? JSONValue.parse(event.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))?["runs"]?.arrayValue ?? []
            guard runs.count == 1, let id = runs[0]["id"]?.stringValue else { return false }
            let shown = try await KongflowProcess.run(["runs", "show", id, "--json"], environment: env)
            run = (try? JSONValue.parse(shown.stdout.trimmingCharacters(in: .whitespacesAndNewlines))) ?? .null
            return ["SUCCESS", "FAILURE", "CANCELED"].contains(run["status"]?.stringValue ?? "")
        }, "\(run.jsonString())")
        #expect(run["status"] == "SUCCESS" && run["output"]?["done"] == true, "\(run.jsonString())")
        #expect((run["executions"]?.numberValue ?? 0) >= 2, "the execution ran again after the crash")
        #expect(run["tasks"]?.arrayValue?.count == 1 && run["tasks"]?[0]?["status"] == "COMPLETED")
        let db = try await DatabaseURL(url).open(logger: TestDatabase.testLogger)
        // One run of the event (the other runs are the example's webhook source registering itself).
        #expect(try await db.queryFirst("""
            SELECT COUNT(*) AS n FROM job_runs r JOIN event_records e ON e.id = r.event_id WHERE e.event_id = 'slow-1'
            """)?.decode("n", as: Int.self) == 1)
        await db.close()
        #expect(await second.terminate() == 0)
        #expect(await example.terminate() == 0)
    }
}
