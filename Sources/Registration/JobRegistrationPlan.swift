import Foundation
import JSON
import TriggerProtocol

/// What registering a batch of jobs will write, decided without a database (docs/spec/trigger-v2-endpoints.md §5.3): the rounds
/// the jobs go in, each job's first scheduled run (or the error that keeps it out), its queue and
/// limit, its dispatcher and its schedule. `JobRegistration` writes the plan; what needs the database
/// (integrations, the stored versions that decide `latest`) is resolved there.
public struct JobRegistrationPlan: Sendable {
    public struct Item: Sendable {
        /// Where the job was in the batch: outcomes are reported by position.
        public let position: Int
        public let job: JobMetadata
        /// When a scheduled job first fires.
        public let firstRun: Date?
        public var queueName: String { job.queue?.name ?? "default" }
    }

    /// Rounds to write one after the other: no slug twice in a round (one multi-row upsert may not
    /// touch a row twice), at most `rowsPerStatement` jobs each.
    public let rounds: [[Item]]
    /// Jobs that cannot register (an invalid cron expression), by position; they write nothing.
    public let failures: [Int: RegistrationError]

    public init(jobs: [JobMetadata], now: Date, rowsPerStatement: Int = 500) {
        var failures: [Int: RegistrationError] = [:]
        var seen: [String: Int] = [:]
        var rounds: [[Item]] = []
        for (position, job) in jobs.enumerated() {
            let firstRun: Date?
            do {
                firstRun = try Self.firstRun(of: job, after: now)
            } catch let error as RegistrationError {
                failures[position] = error
                continue
            } catch {
                failures[position] = RegistrationError("\(error)")
                continue
            }
            // A slug declared twice registers twice, in order, as one job after the other would.
            let round = seen[job.id, default: 0]
            seen[job.id] = round + 1
            if round == rounds.count { rounds.append([]) }
            rounds[round].append(Item(position: position, job: job, firstRun: firstRun))
        }
        self.rounds = rounds.flatMap { round in
            stride(from: 0, to: round.count, by: rowsPerStatement).map { Array(round[$0..<min($0 + rowsPerStatement, round.count)]) }
        }
        self.failures = failures
    }

    static func firstRun(of job: JobMetadata, after now: Date) throws -> Date? {
        guard case .scheduled(let schedule) = job.trigger else { return nil }
        return try firstRun(schedule, after: now)
    }

    /// When a schedule first fires after `now`: one interval after registration (as upstream), or
    /// the cron expression's next match in UTC. An invalid expression is that job's error.
    public static func firstRun(_ schedule: ScheduleMetadata, after now: Date) throws -> Date {
        switch schedule {
        case .interval(let seconds, _, _):
            return now.addingTimeInterval(TimeInterval(seconds))
        case .cron(let expression, _, _):
            let cron: CronExpression
            do { cron = try CronExpression(expression) } catch let error as CronExpression.ParseError {
                throw RegistrationError(error.description)
            }
            guard let next = cron.next(after: now) else {
                throw RegistrationError("Invalid cron expression \"\(expression)\": it never matches")
            }
            return next
        }
    }

    /// Queue limits by name for a round: a queue declared with `maxConcurrent` sets its limit; one
    /// referenced by name only keeps the limit it has (nil here, 100 when new).
    public static func queueLimits(_ items: [Item]) -> [String: Int?] {
        var limits: [String: Int?] = [:]
        for item in items {
            if case .options(let name, let maxConcurrent?)? = item.job.queue {
                limits[name] = Int(maxConcurrent)
            } else if limits[item.queueName] == nil {
                limits[item.queueName] = .some(nil)
            }
        }
        return limits
    }

    /// The dispatcher a job's trigger needs, pointing at `versionId`: static triggers match events by
    /// name, source and filters; scheduled ones are invoked directly (`manual`); dynamic and invoke
    /// triggers have none of their own.
    public static func dispatcher(for job: JobMetadata, jobId: UUID, versionId: UUID) throws -> Dispatcher? {
        let dispatchable: JSONValue = ["type": "JOB_VERSION", "id": .string(versionId.lowercasedString)]
        switch job.trigger {
        case .static(_, _, let rule, _, _):
            return Dispatcher(dispatchableId: jobId.lowercasedString, dispatchable: dispatchable, event: try JSONValue(encoding: rule.event),
                              source: rule.source, payloadFilter: try rule.payload.map { try JSONValue(encoding: $0) },
                              contextFilter: try rule.context.map { try JSONValue(encoding: $0) }, manual: false)
        case .scheduled:
            return Dispatcher(dispatchableId: jobId.lowercasedString, dispatchable: dispatchable, event: "dev.trigger.scheduled", source: "trigger.dev",
                              payloadFilter: [:], contextFilter: [:], manual: true)
        case .dynamic, .invoke:
            return nil
        }
    }

    /// The version that becomes `latest`: the highest by semver among a job's versions in the environment.
    public static func latest(_ versions: [(id: UUID, version: String)]) -> (id: UUID, version: String)? {
        versions.max { Semver.isOrderedBefore($0.version, $1.version) }
    }

    /// A row of `event_dispatchers`, before its id is known.
    public struct Dispatcher: Sendable, Equatable {
        public let dispatchableId: String
        public let dispatchable: JSONValue
        public let event: JSONValue
        public let source: String
        public let payloadFilter: JSONValue?
        public let contextFilter: JSONValue?
        public let manual: Bool
    }
}

/// A lookup that must succeed: a missing key is a bug in the writer, reported with what was missing
/// instead of a crash.
func require<Key: Hashable, Value>(_ map: [Key: Value], _ key: Key, _ what: String) throws -> Value {
    guard let value = map[key] else { throw RegistrationError("internal error: no \(what) for \(key)") }
    return value
}
