import Foundation
import JSON
import Queue
import Storage
import TriggerProtocol

/// A schedule fires through the queue: each active schedule has one pending `fireSchedule` job, due
/// at its next tick and keyed by the schedule, so re-planning replaces it and an idle schedule costs
/// nothing between ticks (no polling). The run engine handles the job (`RunEngine.fireSchedule`);
/// registration and the schedule routes plan it.
public enum ScheduleTicks {
    public static let task = "fireSchedule"
    /// Ticks that fail are retried with the queue's backoff for days before the job gives up; the
    /// rescuer's sweep re-plans any active schedule left without a pending tick.
    public static let attempts = 100

    public static func key(scheduleId: UUID) -> String { "schedule-\(scheduleId.lowercasedString)" }

    public struct Payload: Codable, Sendable, Equatable {
        public let id: UUID
        /// The tick this job fires.
        public let ts: Date

        public init(id: UUID, ts: Date) {
            self.id = id
            self.ts = ts
        }
    }

    /// Plans (or re-plans) the schedule's next tick inside `tx`.
    public static func plan(scheduleId: UUID, environmentId: UUID, at tick: Date, queue: JobQueue, in tx: any Transaction) async throws {
        try await queue.enqueue(task, payload: Payload(id: scheduleId, ts: tick),
                                options: JobOptions(runAt: tick, maxAttempts: attempts, jobKey: key(scheduleId: scheduleId),
                                                    scope: environmentId.lowercasedString), in: tx)
    }

    /// The first tick strictly after `date`.
    public static func next(_ schedule: ScheduleMetadata, after date: Date) throws -> Date {
        switch schedule {
        case .interval(let seconds, _, _):
            return date.addingTimeInterval(TimeInterval(seconds))
        case .cron(let expression, _, _):
            guard let next = try CronExpression(expression).next(after: date) else {
                throw RegistrationError("Invalid cron expression \"\(expression)\": it never matches")
            }
            return next
        }
    }

    /// The tick after `tick` that is still ahead of `now`: ticks missed while nothing ran are skipped,
    /// not back-filled (the one that was due has just fired as the catch-up). An interval keeps its
    /// phase; a cron expression its calendar.
    public static func following(_ schedule: ScheduleMetadata, tick: Date, now: Date) throws -> Date {
        switch schedule {
        case .interval(let seconds, _, _):
            let step = TimeInterval(seconds)
            let missed = max(0, (now.timeIntervalSince(tick) / step).rounded(.down))
            var next = tick.addingTimeInterval((missed + 1) * step)
            if next <= now { next = next.addingTimeInterval(step) }
            return next
        case .cron:
            return try next(schedule, after: max(tick, now))
        }
    }
}
