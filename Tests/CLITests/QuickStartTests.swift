import Foundation
import Testing
import TestSupport

/// The README quick start, as real processes: server, example endpoint, `endpoints create`,
/// `endpoints index --wait`, then the read commands.
@Suite struct QuickStartTests {
    @Test(arguments: Backend.available)
    func quickStartRoundTrip(_ backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        let server = try KongflowProcess.start(["serve", "--port", "0", "--database-url", url, "--poll-interval", "0.2"])
        let port = try await server.waitFor(#"address=http://127\.0\.0\.1:(\d+)"#)
        let key = try await server.waitFor(#"API key \(shown once.*\): (tr_dev_[A-Za-z0-9]{20})"#)
        let example = try KongflowProcess.start(["example-endpoint", "--port", "0", "--api-key", key, "--id", "my-endpoint"])
        let endpointURL = try await example.waitFor(#"url=(http://127\.0\.0\.1:\d+/api/trigger)"#)
        let env = ["KONGFLOW_API_URL": "http://127.0.0.1:\(port)", "KONGFLOW_API_KEY": key]

        let created = try await KongflowProcess.run(["endpoints", "create", "--id", "my-endpoint", "--url", endpointURL], environment: env)
        #expect(created.status == 0 && created.stdout.hasPrefix("Registered my-endpoint"), "\(created.stderr)")
        let indexed = try await KongflowProcess.run(["endpoints", "index", "my-endpoint", "--wait", "--reason", "quick start"], environment: env)
        #expect(indexed.status == 0, "\(indexed.stderr)")
        #expect(indexed.stdout.contains(": SUCCESS") && indexed.stdout.contains("jobs 8, sources 1, dynamic triggers 1, dynamic schedules 1"))
        let listed = try await KongflowProcess.run(["endpoints", "list", "--json"], environment: env)
        #expect(listed.stdout.contains("\"slug\":\"my-endpoint\""))
        let shown = try await KongflowProcess.run(["endpoints", "show", "my-endpoint"], environment: env)
        #expect(shown.stdout.contains("deploy hook: http://127.0.0.1:\(port)/api/v1/endpoints/") && shown.stdout.contains("MANUAL  SUCCESS"))
        // Registration finishes shortly after the index; the jobs appear.
        #expect(try await eventually {
            let jobs = try await KongflowProcess.run(["registered-jobs", "list"], environment: env)
            return jobs.stdout.contains("nightly-cleanup  1.0.0  ACTIVE  scheduled: cron 0 3 * * *  my-endpoint")
        })
        let job = try await KongflowProcess.run(["registered-jobs", "show", "hourly-report"], environment: env)
        #expect(job.stdout.contains("\"latestVersion\":\"1.0.0\""))

        let wrong = try await KongflowProcess.run(["endpoints", "create", "--id", "other", "--url", endpointURL], environment: env)
        #expect(wrong.status != 0 && wrong.stderr.contains("Endpoint ID mismatch error. Expected my-endpoint, got other"))
        let noKey = try await KongflowProcess.run(["endpoints", "list"], environment: ["KONGFLOW_API_URL": "http://127.0.0.1:\(port)"])
        #expect(noKey.status != 0 && noKey.stderr.contains("An API key is required"))
        let badKey = try await KongflowProcess.run(["endpoints", "list"], environment: ["KONGFLOW_API_URL": "http://127.0.0.1:\(port)", "KONGFLOW_API_KEY": "tr_dev_nope"])
        #expect(badKey.status != 0 && badKey.stderr.contains("Invalid or Missing API key"))
        let deleted = try await KongflowProcess.run(["endpoints", "delete", "my-endpoint"], environment: env)
        #expect(deleted.status == 0)
        let gone = try await KongflowProcess.run(["endpoints", "show", "my-endpoint"], environment: env)
        #expect(gone.status != 0 && gone.stderr.contains("Endpoint not found"))
        let down = try await KongflowProcess.run(["endpoints", "list"], environment: ["KONGFLOW_API_URL": "http://127.0.0.1:\(try TestHTTPServer.closedPort())", "KONGFLOW_API_KEY": key])
        #expect(down.status != 0 && down.stderr.contains("Could not reach the Kongflow server"))

        #expect(await example.terminate() == 0)
        #expect(await server.terminate() == 0)
    }
}
