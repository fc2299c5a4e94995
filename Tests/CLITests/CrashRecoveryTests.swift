import Foundation
import Storage
import StorageDrivers
import Testing
import TestSupport

/// `kill -9` of the server in the middle of indexing a 1,000-job endpoint: after a restart every
/// item registers exactly once and the index is terminal (RELIABILITY.md). The endpoint answers
/// INDEX_ENDPOINT after 10 s and says when it got the request, so the kill lands while the index job
/// is running, every time, however slow the machine.
@Suite struct CrashRecoveryTests {
    @Test(arguments: Backend.available)
    func killedWorkerMidIndexingConverges(_ backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        let serveArguments = ["serve", "--port", "0", "--database-url", url, "--heartbeat-timeout", "2", "--poll-interval", "0.2"]
        let first = try KongflowProcess.start(serveArguments)
        let port = try await first.waitFor(#"address=http://127\.0\.0\.1:(\d+)"#)
        let key = try await first.waitFor(#"API key \(shown once.*\): (tr_dev_[A-Za-z0-9]{20})"#)
        let example = try KongflowProcess.start(["example-endpoint", "--port", "0", "--api-key", key, "--id", "big", "--extra-jobs", "992",
                                                 "--index-delay", "10"])
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
        #expect(try await eventually(timeout: .seconds(60)) {
            try await count("SELECT COUNT(*) AS n FROM endpoint_indexes WHERE status = 'STARTED'") == 1
        })
        #expect(await first.terminate(signal: SIGKILL) == SIGKILL)
        #expect(try await count("SELECT COUNT(*) AS n FROM kongflow_jobs WHERE locked_at IS NOT NULL") == 1, "the dead worker holds the index job")
        #expect(try await count("SELECT COUNT(*) AS n FROM job_versions") == 0)
        let (endpointsAtKill, indexesAtKill) = (try await ids("endpoints"), try await ids("endpoint_indexes"))

        let second = try KongflowProcess.start(serveArguments)
        _ = try await second.waitFor(#"address=http://127\.0\.0\.1:(\d+)"#)
        #expect(try await eventually(timeout: .seconds(240)) {
            try await count("SELECT COUNT(*) AS n FROM kongflow_jobs") == 0
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
}
