import Foundation
import Testing
import TestSupport
@testable import TriggerProtocol

@Suite struct FixtureDecodingTests {
    @Test func repositoryCopyMatchesSharedFixtures() throws {
        #expect(Fixtures.names.count == 15)
        for (ours, shared) in [(Fixtures.directory, Fixtures.sharedDirectory), (Fixtures.directory23, Fixtures.sharedDirectory23)] {
            guard FileManager.default.fileExists(atPath: shared.path) else { continue }
            let names = try FileManager.default.subpathsOfDirectory(atPath: shared.path).sorted()
            #expect(try FileManager.default.subpathsOfDirectory(atPath: ours.path).sorted() == names)
            for name in names where !name.hasSuffix("runs") {
                let mine = try Data(contentsOf: ours.appendingPathComponent(name))
                let theirs = try Data(contentsOf: shared.appendingPathComponent(name))
                #expect(mine == theirs, "\(name) differs from \(shared.path)")
            }
        }
    }

    @Test(arguments: ["index-ok", "index-no-id-header", "index-wrong-id"])
    func fullIndexDecodes(_ name: String) throws {
        let response = try IndexEndpointResponse.decode(try JSONValue.parse(Fixtures.body(name)))
        #expect(response.jobs.map(\.id) == [
            "event-1", "user-created", "scheduled-interval", "scheduled-cron", "register-dynamic-trigger-github-issue-opened",
            "user-on-issue-opened", "use-dynamic-interval", "github-on-issue-opened", "github.repo-http-triggerdotdevempty-github",
            "on-missing-connection",
        ])
        #expect(response.stats == IndexStats(jobs: 10, sources: 1, dynamicTriggers: 1, dynamicSchedules: 1, disabledJobs: 0))
        let userCreated = response.jobs[1]
        #expect(userCreated.queue == .options(name: "user-queue", maxConcurrent: 5))
        #expect(userCreated.startPosition == .initial && userCreated.version == "1.2.3" && !userCreated.internal)
        #expect(userCreated.event.source == "my-app")
        guard case .static(_, _, let rule, _, _) = userCreated.trigger else { Issue.record("not static"); return }
        #expect(rule.source == "trigger.dev")
        #expect(rule.payload?.value == ["plan": ["pro", "enterprise"]])
        guard case .scheduled(.interval(let seconds, _, _)) = response.jobs[2].trigger else { Issue.record("not interval"); return }
        #expect(seconds == 60)
        guard case .scheduled(.cron(let cron, _, _)) = response.jobs[3].trigger else { Issue.record("not cron"); return }
        #expect(cron == "*/5 * * * *")
        #expect(response.jobs[4].internal && response.jobs[8].internal)
        #expect(response.jobs[4].integrations["integration"]?.authSource == .hosted)
        #expect(response.jobs[5].trigger == .dynamic(id: "github-issue-opened"))
        #expect(response.sources[0].key == "github.repo-http-triggerdotdevempty-github" && response.sources[0].eventNames == ["issues"])
        #expect(response.sources[0].params == ["owner": "triggerdotdev", "repo": "empty"])
        #expect(response.dynamicTriggers[0].jobs == [JobReference(id: "user-on-issue-opened", version: "0.1.1")])
        #expect(response.dynamicSchedules[0].id == "dynamic-interval")
    }

    @Test func reEncodingGivesTheStrippedDefaultedValue() throws {
        let input = try JSONValue.parse(Fixtures.body("index-ok"))
        let response = try IndexEndpointResponse.decode(input)
        let encoded = try JSONValue.parse(JSONValue.print(response))
        // What trigger.dev stores: the input with `internal: false` defaulted onto user jobs.
        guard case .object(var expected) = input, case .array(let jobs) = input["jobs"] else { Issue.record("shape"); return }
        expected["jobs"] = .array(jobs.map { job in
            guard case .object(var object) = job else { return job }
            if object["internal"] == nil { object["internal"] = false }
            return .object(object)
        })
        #expect(encoded == .object(expected))
        // Stable: decoding the stored form again gives the same bytes.
        #expect(try JSONValue.print(IndexEndpointResponse.decode(encoded)) == JSONValue.print(response))
    }

    @Test func singleJobAndPingAndErrorBodiesDecode() throws {
        let job = try JobMetadata.decode(try JSONValue.parse(Fixtures.body("index-job-ok")))
        #expect(job.id == "event-1" && job.name == "Run when the foo.bar event happens" && job.integrations.isEmpty)
        #expect(try PongResponse.decode(try JSONValue.parse(Fixtures.body("ping-ok"))) == .success(triggerVersion: nil, triggerSdkVersion: nil))
        #expect(try PongResponse.decode(try JSONValue.parse(Fixtures.body("ping-wrong-id")))
                == .failure("Endpoint ID mismatch error. Expected my-endpoint, got wrong-endpoint"))
        #expect(try PongResponse.decode(try JSONValue.parse(Fixtures.body("ping-missing-id"))) == .failure("Missing endpoint ID"))
        for name in ["ping-wrong-key", "ping-missing-key", "index-wrong-key", "get-method-wrong-key"] {
            #expect(try ErrorWithStack.decode(try JSONValue.parse(Fixtures.body(name))).message == "Unauthorized")
        }
        #expect(try ErrorWithStack.decode(try JSONValue.parse(Fixtures.body("missing-action"))).message == "Missing x-trigger-action header")
        #expect(try ErrorWithStack.decode(try JSONValue.parse(Fixtures.body("index-job-missing"))).message == "Job not found")
        for name in ["unknown-action", "get-method"] {
            #expect(try ErrorWithStack.decode(try JSONValue.parse(Fixtures.body(name))).message == "Method not allowed")
        }
    }

    @Test func everyFixtureBodyParsesAsJSON() throws {
        for name in Fixtures.names {
            _ = try JSONValue.parse(Fixtures.body(name))
        }
    }
}
