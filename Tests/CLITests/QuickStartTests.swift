import Foundation
import JSON
import Testing
import TestSupport

/// The README quick start, as real processes: server, example endpoint, `endpoints create`,
/// `endpoints index --wait`, then the read commands.
@Suite struct QuickStartTests {
    @Test(arguments: Backend.available)
    func quickStartRoundTrip(_ backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        let keyDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("kongflow-quickstart-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: keyDirectory) }
        let keyFile = keyDirectory.appendingPathComponent("encryption.key").path
        let server = try KongflowProcess.start(["serve", "--port", "0", "--database-url", url, "--poll-interval", "0.2"],
                                               environment: ["KONGFLOW_ENCRYPTION_KEY_FILE": keyFile])
        let port = try await server.waitFor(#"address=http://127\.0\.0\.1:(\d+)"#)
        let key = try await server.waitFor(#"API key \(shown once.*\): (tr_dev_[A-Za-z0-9]{20})"#)
        let example = try KongflowProcess.start(["example-endpoint", "--port", "0", "--api-key", key, "--id", "my-endpoint",
                                                 "--api-url", "http://127.0.0.1:\(port)"])
        let endpointURL = try await example.waitFor(#"url=(http://127\.0\.0\.1:\d+/api/trigger)"#)
        let env = ["KONGFLOW_API_URL": "http://127.0.0.1:\(port)", "KONGFLOW_API_KEY": key]

        let created = try await KongflowProcess.run(["endpoints", "create", "--id", "my-endpoint", "--url", endpointURL], environment: env)
        #expect(created.status == 0 && created.stdout.hasPrefix("Registered my-endpoint"), "\(created.stderr)")
        let indexed = try await KongflowProcess.run(["endpoints", "index", "my-endpoint", "--wait", "--reason", "quick start"], environment: env)
        #expect(indexed.status == 0, "\(indexed.stderr)")
        #expect(indexed.stdout.contains(": SUCCESS") && indexed.stdout.contains("jobs 10, sources 1, dynamic triggers 1, dynamic schedules 1"))
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

        // The example endpoint runs its jobs: send an event, watch the run succeed.
        let sent = try await KongflowProcess.run(["events", "send", "user.created", "--payload", #"{"userId":"u_42","plan":"pro"}"#, "--json"],
                                                 environment: env)
        #expect(sent.status == 0, "\(sent.stderr)")
        let eventId = try #require(try? JSONValue.parse(sent.stdout.trimmingCharacters(in: .whitespacesAndNewlines))["id"]?.stringValue)
        var runId = ""
        #expect(try await eventually {
            let event = try await KongflowProcess.run(["events", "show", eventId, "--json"], environment: env)
            runId = (try? JSONValue.parse(event.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))?["runs"]?[0]?["id"]?.stringValue ?? ""
            return !runId.isEmpty
        })
        let watched = try await KongflowProcess.run(["runs", "watch", runId, "--interval", "0.1"], environment: env)
        #expect(watched.status == 0, "\(watched.stdout)\(watched.stderr)")
        #expect(watched.stdout.contains("SUCCESS") && watched.stdout.contains("COMPLETED  Load user"), "\(watched.stdout)")
        let shownRun = try await KongflowProcess.run(["runs", "show", runId], environment: env)
        #expect(shownRun.stdout.contains("COMPLETED  log: Hello u_42") && shownRun.stdout.contains("COMPLETED  wait"), "\(shownRun.stdout)")
        #expect(shownRun.stdout.contains(#"output: {"ok":true,"user":{"id":"u_42","plan":"pro"}}"#), "\(shownRun.stdout)")
        // The example's webhook source registered itself through its generated job.
        #expect(try await eventually {
            try await KongflowProcess.run(["runs", "list", "--job", "github.repo-http-acmeweb-github"], environment: env).stdout.contains("SUCCESS")
        })
        let runs = try await KongflowProcess.run(["runs", "list", "--job", "send-welcome-email"], environment: env)
        #expect(runs.stdout.contains("send-welcome-email #1  SUCCESS"), "\(runs.stdout)")

        let schedules = try await KongflowProcess.run(["schedules", "list"], environment: env)
        #expect(schedules.stdout.contains("hourly-report  hourly-report  every 3600 s") && schedules.stdout.contains("nightly-cleanup  nightly-cleanup  cron 0 3 * * *"),
                "\(schedules.stdout)\(schedules.stderr)")
        let nightly = try await KongflowProcess.run(["schedules", "show", "nightly-cleanup", "--json"], environment: env)
        #expect(nightly.stdout.contains(#""nextRunAt":""#) && nightly.stdout.contains("T03:00:00.000Z"), "\(nightly.stdout)")

        // An integration: the token goes in on standard input and never comes back out.
        let token = "gho_quickstart_\(UUID().uuidString.prefix(8))"
        let noToken = try await KongflowProcess.run(["integrations", "create", "github"], environment: env)
        #expect(noToken.status != 0 && noToken.stderr.contains("No token"), "\(noToken.stderr)")
        let connected = try await KongflowProcess.run(["integrations", "create", "github", "--scopes", "repo"], environment: env, input: token + "\n")
        #expect(connected.status == 0 && connected.stdout.contains("Integration github (github, oauth2) is connected"), "\(connected.stdout)\(connected.stderr)")
        let integrations = try await KongflowProcess.run(["integrations", "list"], environment: env)
        #expect(integrations.stdout.contains("github  github  oauth2") && integrations.stdout.contains("scopes: repo") && !integrations.stdout.contains(token))
        let integrationsJSON = try await KongflowProcess.run(["integrations", "list", "--json"], environment: env)
        #expect(integrationsJSON.status == 0 && !integrationsJSON.stdout.contains(token))
        let keyAttributes = try FileManager.default.attributesOfItem(atPath: keyFile)
        #expect((keyAttributes[.posixPermissions] as? NSNumber)?.intValue == 0o600, "serve created its key file, owner-only")
        let reencrypted = try await KongflowProcess.run(["secrets", "reencrypt", "--database-url", url], environment: ["KONGFLOW_ENCRYPTION_KEY_FILE": keyFile])
        #expect(reencrypted.status == 0 && reencrypted.stdout.contains("Re-sealed 0 secrets"), "\(reencrypted.stdout)\(reencrypted.stderr)")
        let removed = try await KongflowProcess.run(["integrations", "delete", "github"], environment: env)
        #expect(removed.status == 0)
        let removedAgain = try await KongflowProcess.run(["integrations", "delete", "github"], environment: env)
        #expect(removedAgain.status != 0 && removedAgain.stderr.contains("Integration github not found"))

        // A one-time dashboard link, printed as a URL on this server.
        let link = try await KongflowProcess.run(["dashboard-link"], environment: env)
        #expect(link.status == 0 && link.stdout.hasPrefix("\(env["KONGFLOW_API_URL"] ?? "?")/login/link?token=kfl_"), "\(link.stdout)\(link.stderr)")
        let linkJSON = try JSONValue.parse(Data(try await KongflowProcess.run(["dashboard-link", "--json"], environment: env).stdout.utf8))
        #expect(linkJSON["url"]?.stringValue?.contains("/login/link?token=kfl_") == true && linkJSON["expiresAt"]?.stringValue != nil)

        // Every id any command prints, as text or JSON, is lowercase.
        for arguments in [["endpoints", "list"], ["endpoints", "list", "--json"], ["endpoints", "show", "my-endpoint"], ["endpoints", "show", "my-endpoint", "--json"],
                          ["registered-jobs", "list"], ["registered-jobs", "show", "send-welcome-email"], ["runs", "list"], ["runs", "list", "--json"],
                          ["runs", "show", runId], ["runs", "show", runId, "--json"], ["events", "show", eventId], ["events", "show", eventId, "--json"],
                          ["runs", "show", runId.uppercased(), "--json"]] {
            let result = try await KongflowProcess.run(arguments, environment: env)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            #expect(!UUIDText.uppercase(in: result.stdout), "\(arguments): \(result.stdout)")
        }
        for arguments in [["jobs", "list", "--json"], ["jobs", "queues", "--json"], ["env", "list", "--json"]] {
            let result = try await KongflowProcess.run(arguments + ["--database-url", url])
            #expect(result.status == 0 && !UUIDText.uppercase(in: result.stdout), "\(arguments): \(result.stdout)\(result.stderr)")
        }

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
