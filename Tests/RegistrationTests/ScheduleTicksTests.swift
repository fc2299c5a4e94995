import Foundation
import JSON
import Registration
import Testing
import TriggerProtocol

/// Tick arithmetic in UTC: cron sequences, intervals, and what happens after an outage.
@Suite struct ScheduleTicksTests {
    static func at(_ text: String) -> Date { ISODate.parse(text)! }
    static func cron(_ expression: String) -> ScheduleMetadata { .cron(expression: expression, metadata: nil, accountId: nil) }

    @Test(arguments: [
        ("*/5 * * * *", "2026-01-31T23:57:00.000Z", ["2026-02-01T00:00:00.000Z", "2026-02-01T00:05:00.000Z", "2026-02-01T00:10:00.000Z"]),
        ("0,30 9-10 * * 1-5", "2026-11-27T10:45:00.000Z", ["2026-11-30T09:00:00.000Z", "2026-11-30T09:30:00.000Z", "2026-11-30T10:00:00.000Z"]),
        ("0 0 31 * *", "2026-01-31T00:00:00.000Z", ["2026-03-31T00:00:00.000Z", "2026-05-31T00:00:00.000Z", "2026-07-31T00:00:00.000Z"]),
        ("0 12 29 2 *", "2026-03-01T00:00:00.000Z", ["2028-02-29T12:00:00.000Z", "2032-02-29T12:00:00.000Z"]),
        ("15 3 * * *", "2026-03-29T01:00:00.000Z", ["2026-03-29T03:15:00.000Z", "2026-03-30T03:15:00.000Z"]),
    ])
    func cronSequences(_ expression: String, _ start: String, _ expected: [String]) throws {
        var ticks: [String] = []
        var current = Self.at(start)
        for _ in expected {
            current = try ScheduleTicks.next(Self.cron(expression), after: current)
            ticks.append(ISODate.format(current))
        }
        #expect(ticks == expected)
    }

    @Test func afterAnOutageTheNextTickIsAheadAndKeepsItsPhase() throws {
        let interval = ScheduleMetadata.interval(seconds: 600, metadata: nil, accountId: nil)
        // On time: the next tick is one interval later.
        #expect(try ScheduleTicks.following(interval, tick: Self.at("2026-01-01T10:00:00.000Z"), now: Self.at("2026-01-01T10:00:00.200Z"))
                == Self.at("2026-01-01T10:10:00.000Z"))
        // Down from 10:05 to 10:35: the 10:00 tick fires late, once; 10:10, 10:20 and 10:30 are skipped.
        #expect(try ScheduleTicks.following(interval, tick: Self.at("2026-01-01T10:00:00.000Z"), now: Self.at("2026-01-01T10:35:00.000Z"))
                == Self.at("2026-01-01T10:40:00.000Z"))
        #expect(try ScheduleTicks.following(interval, tick: Self.at("2026-01-01T10:00:00.000Z"), now: Self.at("2026-01-01T10:40:00.000Z"))
                == Self.at("2026-01-01T10:50:00.000Z"), "a tick exactly at now is not ahead")
        #expect(try ScheduleTicks.following(Self.cron("0 * * * *"), tick: Self.at("2026-01-01T10:00:00.000Z"), now: Self.at("2026-01-01T13:20:00.000Z"))
                == Self.at("2026-01-01T14:00:00.000Z"))
        #expect(throws: RegistrationError.self) { try ScheduleTicks.next(Self.cron("0 0 30 2 *"), after: Self.at("2026-01-01T00:00:00.000Z")) }
    }
}
