import Foundation
import JSON
import Registration
import Testing
import TriggerProtocol

/// The registration plan, without a database: rounds, first runs, queue limits, dispatchers, latest.
@Suite struct JobRegistrationPlanTests {
    static let now = Date(timeIntervalSince1970: 1_764_000_000)  // 2025-11-24T16:00:00Z

    static func job(_ id: String, version: String = "1.0.0", trigger: JSONValue? = nil, queue: JSONValue? = nil) throws -> JobMetadata {
        var object: [String: JSONValue] = [
            "id": .string(id), "name": .string(id), "version": .string(version),
            "event": ["name": "e", "title": "Event", "source": "trigger.dev", "icon": "custom-event"],
            "trigger": trigger ?? ["type": "static", "title": "e", "rule": ["event": "e", "source": "trigger.dev", "payload": ["plan": ["pro"]]]],
            "integrations": [:], "startPosition": "latest", "enabled": true, "preprocessRuns": false,
        ]
        if let queue { object["queue"] = queue }
        return try JobMetadata.decode(.object(object))
    }

    static func cron(_ expression: String) -> JSONValue { ["type": "scheduled", "schedule": ["type": "cron", "options": ["cron": .string(expression)]]] }

    @Test func aSlugDeclaredTwiceGoesInTwoRoundsAndBigBatchesAreCut() throws {
        let jobs = try ["a", "b", "a", "c", "a"].map { try Self.job($0) }
        let plan = JobRegistrationPlan(jobs: jobs, now: Self.now)
        #expect(plan.rounds.map { $0.map(\.position) } == [[0, 1, 3], [2], [4]])
        #expect(plan.failures.isEmpty)
        let many = try (0..<1_201).map { try Self.job("job-\($0)") }
        #expect(JobRegistrationPlan(jobs: many, now: Self.now, rowsPerStatement: 500).rounds.map(\.count) == [500, 500, 201])
    }

    @Test func schedulesPlanTheirFirstRunAndABadCronFailsOnlyItsJob() throws {
        let jobs = [
            try Self.job("interval", trigger: ["type": "scheduled", "schedule": ["type": "interval", "options": ["seconds": 300]]]),
            try Self.job("nightly", trigger: Self.cron("0 3 * * *")),
            try Self.job("broken", trigger: Self.cron("61 * * * *")),
            try Self.job("event"),
        ]
        let plan = JobRegistrationPlan(jobs: jobs, now: Self.now)
        let items = plan.rounds.flatMap { $0 }
        #expect(items.map(\.job.id) == ["interval", "nightly", "event"])
        #expect(items[0].firstRun == Self.now.addingTimeInterval(300), "one interval after registration")
        #expect(items[1].firstRun.map(ISODate.format) == "2025-11-25T03:00:00.000Z")
        #expect(items[2].firstRun == nil)
        #expect(plan.failures[2]?.description.contains("61") == true)
    }

    @Test func aDeclaredLimitWinsOverANameOnlyReference() throws {
        let items = JobRegistrationPlan(jobs: [
            try Self.job("a", queue: "shared"), try Self.job("b", queue: ["name": "shared", "maxConcurrent": 3]), try Self.job("c"),
        ], now: Self.now).rounds[0]
        let expected: [String: Int?] = ["shared": .some(3), "default": Int?.none]
        #expect(JobRegistrationPlan.queueLimits(items) == expected)
    }

    @Test func dispatchersFollowTheTrigger() throws {
        let jobId = UUID(), versionId = UUID()
        let event = try #require(try JobRegistrationPlan.dispatcher(for: try Self.job("e"), jobId: jobId, versionId: versionId))
        #expect(event.event == "e" && event.source == "trigger.dev" && !event.manual && event.payloadFilter == ["plan": ["pro"]])
        #expect(event.dispatchable == ["type": "JOB_VERSION", "id": .string(versionId.lowercasedString)] && event.dispatchableId == jobId.lowercasedString)
        let scheduled = try #require(try JobRegistrationPlan.dispatcher(for: try Self.job("s", trigger: Self.cron("*/5 * * * *")), jobId: jobId, versionId: versionId))
        #expect(scheduled.manual && scheduled.event == "dev.trigger.scheduled")
        #expect(try JobRegistrationPlan.dispatcher(for: try Self.job("d", trigger: ["type": "dynamic", "id": "x"]), jobId: jobId, versionId: versionId) == nil)
    }

    @Test func latestIsTheHighestSemver() {
        let (a, b, c) = (UUID(), UUID(), UUID())
        #expect(JobRegistrationPlan.latest([(a, "9.0.0"), (b, "10.0.0"), (c, "10.0.0-rc.1")])?.id == b)
        #expect(JobRegistrationPlan.latest([]) == nil)
    }
}
