import Foundation
import Storage
import StorageDrivers
import Testing
import TestSupport

/// `kill -9` of the server in the middle of registering a 1,000-job endpoint: after a restart every
/// item registers exactly once and the index is terminal (RELIABILITY.md).
@Suite struct CrashRecoveryTests {
    @Test(arguments: Backend.available)
    func killedWorkerMidRegistrationConverges(_ backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        let serveArguments = ["serve", "--port", "0", "--database-url", url, "--heartbeat-timeout", "2", "--poll-interval", "0.2"]
        let first = try KongflowProcess.start(serveArguments)
        let port = try await first.waitFor(#"address=http://127\.0\.0\.1:(\d+)"#)
        let key = try await first.waitFor(#"API key \(shown once.*\): (tr_dev_[A-Za-z0-9]{20})"#)
        let example = try KongflowProcess.start(["example-endpoint", "--port", "0", "--api-key", key, "--id", "big", "--extra-jobs", "992"])
        let endpointURL = try await example.waitFor(#"url=(http://127\.0\.0\.1:\d+/api/trigger)"#)
        let env = ["KONGFLOW_API_URL": "http://127.0.0.1:\(port)", "KONGFLOW_API_KEY": key]
        let created = try await KongflowProcess.run(["endpoints", "create", "--id", "big", "--url", endpointURL, "--json"], environment: env)
        #expect(created.status == 0, "\(created.stderr)")

        let db = try await DatabaseURL(url).open(logger: TestDatabase.testLogger)
        defer { Task { await db.close() } }
        func count(_ sql: String) async throws -> Int { try await db.queryFirst(SQLQuery(unsafeSQL: sql))!.decode("n") }
        // Let registration get going, then kill the process without any chance to clean up.
        #expect(try await eventually(timeout: .seconds(120)) { try await count("SELECT COUNT(*) AS n FROM job_versions") >= 50 })
        #expect(await first.terminate(signal: SIGKILL) == SIGKILL)
        let registeredAtKill = try await count("SELECT COUNT(*) AS n FROM job_versions")
        #expect(registeredAtKill < 1000, "the kill landed mid-registration")
        let committedAtKill = Set(try await db.query("SELECT id FROM job_versions").map { try $0.decode("id", as: UUID.self) })

        let second = try KongflowProcess.start(serveArguments)
        _ = try await second.waitFor(#"address=http://127\.0\.0\.1:(\d+)"#)
        #expect(try await eventually(timeout: .seconds(240)) {
            try await count("SELECT COUNT(*) AS n FROM kongflow_jobs") == 0
        })
        #expect(try await count("SELECT COUNT(*) AS n FROM jobs") == 1000)
        #expect(try await count("SELECT COUNT(*) AS n FROM job_versions") == 1000)
        let afterRestart = Set(try await db.query("SELECT id FROM job_versions").map { try $0.decode("id", as: UUID.self) })
        #expect(committedAtKill.isSubset(of: afterRestart), "what was committed before the kill survived it, unchanged")
        #expect(try await count("SELECT COUNT(*) AS n FROM job_aliases") == 1000)
        #expect(try await count("SELECT COUNT(*) AS n FROM endpoint_index_registrations WHERE status = 'REGISTERED'") == 1003)
        #expect(try await count("SELECT COUNT(*) AS n FROM endpoint_indexes WHERE status NOT IN ('SUCCESS', 'FAILURE')") == 0)
        #expect(try await count("SELECT COUNT(*) AS n FROM endpoint_indexes WHERE status = 'SUCCESS'") == 1)
        #expect(await second.terminate() == 0)
        #expect(await example.terminate() == 0)
    }
}
