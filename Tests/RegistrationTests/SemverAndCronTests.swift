import Foundation
import Registration
import Testing

@Suite struct SemverTests {
    @Test func ordersAsSemverNotAsStrings() {
        let ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0", "9.0.0", "10.0.0", "10.1.0", "10.1.10"]
        for (a, b) in zip(ordered, ordered.dropFirst()) {
            #expect(Semver.isOrderedBefore(a, b), "\(a) < \(b)")
            #expect(!Semver.isOrderedBefore(b, a), "\(b) > \(a)")
        }
        #expect(Semver("1.0.0+build.5") == Semver("1.0.0"))
        #expect(Semver.isOrderedBefore("not-a-version", "0.0.1"), "invalid versions never become latest")
        #expect(!Semver.isOrderedBefore("0.0.1", "garbage"))
        #expect(Semver.isOrderedBefore("a", "b"))
        for invalid in ["1.0", "1.0.0.0", "v1.0.0", "1.0.x", "", "1.0.0-", "1..0", "-1.0.0", "1.0.0-a..b"] {
            #expect(Semver(invalid) == nil, "\(invalid)")
        }
        #expect(Semver("1.2.3")?.description == "1.2.3")
    }
}

@Suite struct CronTests {
    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    static func date(_ text: String) -> Date {
        ISO8601DateFormatter().date(from: text)!
    }

    @Test(arguments: [
        ("*/5 * * * *", "2026-11-25T12:03:30Z", "2026-11-25T12:05:00Z"),
        ("0 9 * * *", "2026-11-25T09:00:00Z", "2026-11-26T09:00:00Z"),
        ("0 9 * * MON-FRI", "2026-11-28T10:00:00Z", "2026-11-30T09:00:00Z"),
        ("30 2 1 * *", "2026-11-25T00:00:00Z", "2026-12-01T02:30:00Z"),
        ("0 0 1 JAN *", "2026-11-25T00:00:00Z", "2027-01-01T00:00:00Z"),
        ("15,45 */6 * * *", "2026-11-25T06:20:00Z", "2026-11-25T06:45:00Z"),
        ("0 12 13 * 5", "2026-11-25T00:00:00Z", "2026-11-27T12:00:00Z"),
        ("0 0 * * 7", "2026-11-25T00:00:00Z", "2026-11-29T00:00:00Z"),
        ("0 0 29 2 *", "2026-11-25T00:00:00Z", "2028-02-29T00:00:00Z"),
        ("10-20/5 1 * * *", "2026-11-25T01:16:00Z", "2026-11-25T01:20:00Z"),
    ])
    func nextRunTimes(_ expression: String, _ after: String, _ expected: String) throws {
        let cron = try CronExpression(expression)
        #expect(cron.next(after: Self.date(after)) == Self.date(expected))
    }

    @Test(arguments: ["61 * * * *", "* * *", "* * * * * *", "*/0 * * * *", "5-1 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8", "* * * FOO *", "1,,2 * * * *", "a b c d e"])
    func invalidExpressionsAreClearErrors(_ expression: String) {
        #expect(throws: CronExpression.ParseError.self) { try CronExpression(expression) }
        do { _ = try CronExpression(expression) } catch {
            #expect("\(error)".hasPrefix("Invalid cron expression \"\(expression)\""))
        }
    }

    @Test func impossibleDatesNeverMatch() throws {
        #expect(try CronExpression("0 0 30 2 *").next(after: Self.date("2026-01-01T00:00:00Z")) == nil)
    }
}
