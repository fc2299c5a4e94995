import Foundation
import Testing
import TestSupport
@testable import TriggerProtocol

/// zod semantics: strip unknown keys, reject null for optional fields, defaults, exact discriminators.
@Suite struct ValidationTests {
    static func indexWithJob(_ mutate: (inout [String: JSONValue]) -> Void) throws -> JSONValue {
        guard case .object(var root) = try JSONValue.parse(Fixtures.body("index-ok")),
              case .array(var jobs) = root["jobs"], case .object(var job) = jobs[2] else { fatalError("fixture shape") }
        mutate(&job)
        jobs[2] = .object(job)
        root["jobs"] = .array(jobs)
        return .object(root)
    }

    func message(_ document: JSONValue) -> String? {
        do {
            _ = try IndexEndpointResponse.decode(document)
            return nil
        } catch let error as IndexValidationError {
            return error.message
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test func unknownKeysAreStripped() throws {
        let doc = try Self.indexWithJob { job in job["someFutureField"] = ["x": 1] }
        let response = try IndexEndpointResponse.decode(doc)
        #expect(try !JSONValue.print(response).contains("someFutureField"))
    }

    @Test func nullIsRejectedForOptionalFields() throws {
        let doc = try Self.indexWithJob { job in job["queue"] = .null }
        #expect(message(doc) == "Your Jobs have issues:\n- Job \"scheduled-interval\": Invalid input at \"queue\".")
        let doc2 = try Self.indexWithJob { job in job["internal"] = .null }
        #expect(message(doc2) == "Your Jobs have issues:\n- Job \"scheduled-interval\": Expected boolean, received null at \"internal\".")
    }

    @Test func requiredFieldsAndTypes() throws {
        let doc = try Self.indexWithJob { job in
            job.removeValue(forKey: "name")
            job["enabled"] = "yes"
        }
        #expect(message(doc) == """
            Your Jobs have issues:
            - Job "scheduled-interval": Required at "name".
            - Job "scheduled-interval": Expected boolean, received string at "enabled".
            """)
    }

    @Test func oneBadIntervalNamesThatJob() throws {
        func withSeconds(_ seconds: JSONValue) throws -> JSONValue {
            try Self.indexWithJob { job in
                job["trigger"] = ["type": "scheduled", "schedule": ["type": "interval", "options": ["seconds": seconds]]]
            }
        }
        #expect(message(try withSeconds(10)) == "Your Jobs have issues:\n- Job \"scheduled-interval\": Number must be greater than or equal to 20 at \"trigger.schedule.options.seconds\".")
        #expect(message(try withSeconds(3_000_000)) == "Your Jobs have issues:\n- Job \"scheduled-interval\": Number must be less than or equal to 2592000 at \"trigger.schedule.options.seconds\".")
        #expect(message(try withSeconds(30.5)) == "Your Jobs have issues:\n- Job \"scheduled-interval\": Expected integer, received float at \"trigger.schedule.options.seconds\".")
        #expect(message(try withSeconds(-5)) == "Your Jobs have issues:\n- Job \"scheduled-interval\": Number must be greater than 0 at \"trigger.schedule.options.seconds\".")
        // The c5d bounds (60…86400) and the later ones (20…2592000) both pass.
        #expect(message(try withSeconds(20)) == nil)
        #expect(message(try withSeconds(2_592_000)) == nil)
    }

    @Test func discriminatorsAndEnumsAreExact() throws {
        let doc = try Self.indexWithJob { job in job["trigger"] = ["type": "Static"] }
        #expect(message(doc) == "Your Jobs have issues:\n- Job \"scheduled-interval\": Invalid discriminator value. Expected 'dynamic' | 'static' | 'scheduled' | 'invoke' at \"trigger.type\".")
        let doc2 = try Self.indexWithJob { job in job["startPosition"] = "LATEST" }
        #expect(message(doc2) == "Your Jobs have issues:\n- Job \"scheduled-interval\": Invalid enum value. Expected 'initial' | 'latest', received 'LATEST' at \"startPosition\".")
        let doc3 = try Self.indexWithJob { job in job["integrations"] = ["gh": ["id": "github", "metadata": ["id": "github", "name": "GitHub"], "authSource": "OAUTH"]] }
        #expect(message(doc3) == "Your Jobs have issues:\n- Job \"scheduled-interval\": Invalid enum value. Expected 'HOSTED' | 'LOCAL' | 'RESOLVER', received 'OAUTH' at \"integrations.gh.authSource\".")
    }

    @Test func issuesOutsideJobsUseTheGeneralWording() throws {
        guard case .object(var root) = try JSONValue.parse(Fixtures.body("index-ok")) else { return }
        root.removeValue(forKey: "sources")
        root["dynamicSchedules"] = [["id": "x", "jobs": [["id": 1, "version": "1"]]]]
        let error = try #require(throws: IndexValidationError.self) { try IndexEndpointResponse.decode(.object(root)) }
        #expect(error.message == "There's an issue with the format of your Jobs: Required at \"sources\"; Expected string, received number at \"dynamicSchedules[0].jobs[0].id\"")
        #expect(error.raw == [["message": "Required", "path": ["sources"]], ["message": "Expected string, received number", "path": ["dynamicSchedules", 0, "jobs", 0, "id"]]])
        #expect(throws: IndexValidationError.self) { try IndexEndpointResponse.decode(["jobs": "nope"]) }
        #expect(throws: IndexValidationError.self) { try IndexEndpointResponse.decode(.array([])) }
    }

    @Test func laterSDKShapesAreAccepted() throws {
        let doc = try Self.indexWithJob { job in
            job["event"] = ["name": ["a.b", "c.d"], "title": "Event", "source": "trigger.dev", "icon": "custom-event",
                            "filter": ["amount": [["$gt": 10]], "nested": ["flag": [true]]]]
            job["trigger"] = ["type": "invoke"]
        }
        guard case .object(var root) = doc else { return }
        root["sources"] = [["version": "2", "channel": "HTTP", "key": "k", "params": .null,
                            "options": ["event": ["push"]], "integration": ["id": "gh", "metadata": ["id": "gh", "name": "GH"], "authSource": "RESOLVER"],
                            "registerSourceJob": ["id": "reg", "version": "1.0.0"]]]
        root["webhooks"] = [["key": "w"]]
        root["httpEndpoints"] = []
        let response = try IndexEndpointResponse.decode(.object(root))
        #expect(response.jobs[2].event.name == .many(["a.b", "c.d"]))
        #expect(response.jobs[2].trigger == .invoke)
        #expect(response.sources[0].eventNames == ["push"] && response.sources[0].version == "2")
        #expect(response.webhooks?.count == 1)
        #expect(try PongResponse.decode(["ok": false, "error": "new style"]) == .failure("new style"))
        #expect(try PongResponse.decode(["ok": true, "triggerVersion": "2023-09-29", "triggerSdkVersion": "2.3.0"])
                == .success(triggerVersion: "2023-09-29", triggerSdkVersion: "2.3.0"))
        #expect(throws: ValidationError.self) { try PongResponse.decode(["ok": "true"]) }
        #expect(throws: ValidationError.self) { try PongResponse.decode(["ok": false]) }
    }

    @Test func filtersAreValidatedAndBounded() throws {
        let mixed = try Self.indexWithJob { job in
            job["event"] = ["name": "x", "title": "t", "source": "s", "icon": "i", "filter": ["a": ["x", 1]]]
        }
        #expect(message(mixed) == "Your Jobs have issues:\n- Job \"scheduled-interval\": Invalid input at \"event.filter.a\".")
        var deep: JSONValue = ["leaf": ["x"]]
        for _ in 0..<200 { deep = ["n": deep] }
        let nested = try Self.indexWithJob { job in
            job["event"] = ["name": "x", "title": "t", "source": "s", "icon": "i", "filter": deep]
        }
        #expect(message(nested)?.contains("nested more than 32 levels deep") == true)
    }

    @Test func withoutExamplesDropsOnlyExamples() throws {
        let response = try IndexEndpointResponse.decode(try JSONValue.parse(Fixtures.body("index-ok")))
        let event = response.jobs[2].event
        #expect(event.examples?.count == 1)
        let stripped = event.withoutExamples
        #expect(stripped.examples == nil && stripped.properties == event.properties && stripped.name == event.name)
    }

    @Test func pathsPrintLikeZodValidationError() {
        #expect(JSONPath([.key("jobs"), .index(3), .key("trigger")]).description == "jobs[3].trigger")
        #expect(ValidationError(issues: [ValidationIssue(path: .root, message: "Expected object, received array")]).message() == "Validation error: Expected object, received array")
    }
}
