import Foundation
import JSON
import Queue
import Registration
import ServiceLifecycle
import Storage
import Tenancy
import TriggerProtocol

extension RunEngine {
    // MARK: Firing (the fireSchedule task)

    /// One tick of a schedule (docs/spec/trigger-v2-runs.md §6.2), in one transaction: the tick's event
    /// (id `<schedule id>:<tick in ms>`, so a tick fired twice is a no-op), a run per job the schedule
    /// dispatches to, and the next tick planned. An inactive schedule, a stale tick (the schedule was
    /// re-planned) or a deleted endpoint ends the chain.
    func fireSchedule(_ payload: ScheduleTicks.Payload, context: JobContext) async throws {
        let now = self.now()
        let outcome = try await database.transaction { tx -> String in
            let lock = tx.dialect == .postgres ? " FOR UPDATE OF s" : ""
            guard let row = try await tx.queryFirst("""
                SELECT s.id, s.key, s.schedule, s.environment_id, s.active, s.metadata, s.last_event_timestamp, s.next_run_at,
                       d.dispatchable, d.enabled AS dispatcher_enabled, env.organization_id, env.project_id
                FROM schedule_sources s
                JOIN event_dispatchers d ON d.id = s.dispatcher_id
                JOIN runtime_environments env ON env.id = s.environment_id
                WHERE s.id = \(payload.id)\(unsafeRaw: lock)
                """) else { return "gone" }
            guard try row.decode("active", as: Bool.self), try row.decode("dispatcher_enabled", as: Bool.self) else { return "inactive" }
            guard let next = try row.decodeIfPresent("next_run_at", as: Date.self), abs(next.timeIntervalSince(payload.ts)) < 0.001 else { return "stale" }
            let schedule = try ScheduleMetadata.decode(try row.json("schedule") ?? .null)
            let dispatchable = try row.json("dispatchable") ?? .null
            guard let versions = try await self.dispatchedVersions(dispatchable, environmentId: try row.decode("environment_id"), in: tx) else {
                try await tx.query("UPDATE schedule_sources SET active = \(false), updated_at = \(now) WHERE id = \(payload.id)")
                return "endpoint deleted"
            }
            let last: Date? = try row.decodeIfPresent("last_event_timestamp")
            var body: [String: JSONValue] = ["ts": .string(ISODate.format(payload.ts))]
            if let last { body["lastTimestamp"] = .string(ISODate.format(last)) }
            let sourceContext: JSONValue = ["id": .string(try row.decode("key")), "metadata": try row.json("metadata") ?? .null]
            let eventId = "\(payload.id.lowercasedString):\(Int64((payload.ts.timeIntervalSince1970 * 1000).rounded()))"
            let event = try await tx.queryFirst("""
                INSERT INTO event_records (id, event_id, name, source, timestamp, payload, context, source_context, organization_id, project_id,
                                           environment_id, deliver_at, delivered_at, is_test, created_at, updated_at)
                VALUES (\(UUID()), \(eventId), 'dev.trigger.scheduled', 'trigger.dev', \(payload.ts), \(SQLJSON(.object(body))), \(SQLJSON("{}")),
                        \(SQLJSON(sourceContext)), \(try row.decode("organization_id", as: UUID.self)), \(try row.decode("project_id", as: UUID.self)),
                        \(try row.decode("environment_id", as: UUID.self)), \(payload.ts), \(now), \(false), \(now), \(now))
                ON CONFLICT (environment_id, event_id) DO NOTHING
                RETURNING \(unsafeRaw: EventRecord.columns)
                """).map(EventRecord.init)
            if let event { _ = try await self.createRuns(versionIds: versions, event: event, now: now, in: tx) }
            let following = try ScheduleTicks.following(schedule, tick: payload.ts, now: now)
            try await tx.query("""
                UPDATE schedule_sources SET last_event_timestamp = \(payload.ts), next_run_at = \(following), updated_at = \(now) WHERE id = \(payload.id)
                """)
            try await ScheduleTicks.plan(scheduleId: payload.id, environmentId: try row.decode("environment_id"), at: following, queue: self.queue, in: tx)
            return event == nil ? "duplicate" : "fired"
        }
        metrics.tick(outcome: outcome, lag: now.timeIntervalSince(payload.ts))
        context.logger.debug("schedule tick", metadata: ["schedule": "\(payload.id.lowercasedString)", "outcome": "\(outcome)"])
    }

    /// The job versions a dispatcher runs: its job's version, or each job of a dynamic schedule or
    /// trigger at its `latest` version. Nil when the endpoint behind it was deleted.
    func dispatchedVersions(_ dispatchable: JSONValue, environmentId: UUID, in tx: any Transaction) async throws -> [UUID]? {
        guard let id = dispatchable["id"]?.stringValue.flatMap(UUID.init(uuidString:)) else { return [] }
        switch dispatchable["type"]?.stringValue {
        case "JOB_VERSION":
            guard let row = try await tx.queryFirst("""
                SELECT e.deleted_at FROM job_versions v JOIN endpoints e ON e.id = v.endpoint_id WHERE v.id = \(id)
                """), try row.decodeIfPresent("deleted_at", as: Date.self) == nil else { return nil }
            return [id]
        case "DYNAMIC_TRIGGER":
            guard let row = try await tx.queryFirst("""
                SELECT e.deleted_at FROM dynamic_triggers t JOIN endpoints e ON e.id = t.endpoint_id WHERE t.id = \(id)
                """), try row.decodeIfPresent("deleted_at", as: Date.self) == nil else { return nil }
            return try await tx.query("""
                SELECT a.version_id FROM dynamic_trigger_jobs dj JOIN job_aliases a ON a.job_id = dj.job_id
                WHERE dj.dynamic_trigger_id = \(id) AND a.environment_id = \(environmentId) AND a.name = 'latest'
                ORDER BY a.version_id
                """).map { try $0.decode("version_id") }
        default:
            return []
        }
    }

    // MARK: Registration at run time (io.registerInterval / registerCron / unregisterSchedule)

    /// `POST /api/v1/:client/schedules/:id/registrations`: creates or updates the schedule `key` of the
    /// endpoint's dynamic schedule `id`. Registering a key again reactivates it (upstream left it off).
    public func registerSchedule(environment: AuthenticatedEnvironment, client: String, dynamicScheduleId: String, key: String,
                                 schedule: ScheduleMetadata, metadata: JSONValue?) async throws -> ScheduleRegistration {
        let now = self.now()
        let first: Date
        do { first = try ScheduleTicks.next(schedule, after: now) } catch let error as RegistrationError {
            throw RunServiceError.invalidInput(error.description)
        } catch {
            throw RunServiceError.invalidInput("\(error)")
        }
        var plain = try JSONValue(encoding: schedule)
        if case .object(var object) = plain {
            object.removeValue(forKey: "metadata")
            object.removeValue(forKey: "accountId")
            plain = .object(object)
        }
        let stored = plain
        return try await database.transaction { tx in
            let dispatcherId = try await self.dynamicScheduleDispatcher(environment: environment, client: client, id: dynamicScheduleId, in: tx)
            let existing = try await tx.queryFirst("""
                SELECT schedule, next_run_at, active FROM schedule_sources WHERE key = \(key) AND environment_id = \(environment.id)
                """)
            var next = first
            if let existing, try existing.json("schedule") == stored, try existing.decode("active", as: Bool.self),
               let kept = try existing.decodeIfPresent("next_run_at", as: Date.self), kept > now {
                next = kept
            }
            guard let row = try await tx.queryFirst("""
                INSERT INTO schedule_sources (id, key, schedule, environment_id, dispatcher_id, next_run_at, active, metadata, created_at, updated_at)
                VALUES (\(UUID()), \(key), \(SQLJSON(stored)), \(environment.id), \(dispatcherId), \(next), \(true), \(metadata.map(SQLJSON.init)), \(now), \(now))
                ON CONFLICT (key, environment_id) DO UPDATE
                SET schedule = excluded.schedule, dispatcher_id = excluded.dispatcher_id, next_run_at = excluded.next_run_at,
                    active = excluded.active, metadata = excluded.metadata, updated_at = excluded.updated_at
                RETURNING id
                """) else { throw RunServiceError.invalidInput("could not store the schedule") }
            try await ScheduleTicks.plan(scheduleId: try row.decode("id"), environmentId: environment.id, at: next, queue: self.queue, in: tx)
            return ScheduleRegistration(id: key, schedule: stored, metadata: metadata ?? .null, active: true)
        }
    }

    /// `DELETE /api/v1/:client/schedules/:id/registrations/:key`: the schedule stops; its pending tick
    /// finds it inactive and does nothing.
    public func unregisterSchedule(environment: AuthenticatedEnvironment, client: String, dynamicScheduleId: String, key: String) async throws {
        let now = self.now()
        try await database.transaction { tx in
            let dispatcherId = try await self.dynamicScheduleDispatcher(environment: environment, client: client, id: dynamicScheduleId, in: tx)
            let updated = try await tx.query("""
                UPDATE schedule_sources SET active = \(false), updated_at = \(now)
                WHERE key = \(key) AND environment_id = \(environment.id) AND dispatcher_id = \(dispatcherId)
                RETURNING id
                """)
            guard !updated.isEmpty else { throw RunServiceError.notFound("Schedule \(key) is not registered on dynamic schedule \(dynamicScheduleId)") }
        }
    }

    /// The dispatcher of the endpoint's dynamic schedule, or a 404 that names what is missing.
    func dynamicScheduleDispatcher(environment: AuthenticatedEnvironment, client: String, id: String, in tx: any Transaction) async throws -> UUID {
        guard let endpoint = try await tx.queryFirst("""
            SELECT id FROM endpoints WHERE environment_id = \(environment.id) AND slug = \(client) AND deleted_at IS NULL
            """) else { throw RunServiceError.notFound("Endpoint \(client) not found") }
        guard let trigger = try await tx.queryFirst("""
            SELECT id FROM dynamic_triggers WHERE endpoint_id = \(try endpoint.decode("id", as: UUID.self)) AND slug = \(id) AND type = 'SCHEDULE'
            """) else { throw RunServiceError.notFound("Dynamic schedule \(id) not found on endpoint \(client)") }
        let triggerId: UUID = try trigger.decode("id")
        guard let dispatcher = try await tx.queryFirst("""
            SELECT id FROM event_dispatchers WHERE environment_id = \(environment.id) AND dispatchable_id = \(triggerId.lowercasedString)
            """) else { throw RunServiceError.notFound("Dynamic schedule \(id) has no dispatcher; re-index endpoint \(client)") }
        return try dispatcher.decode("id")
    }

    // MARK: Reads and repair

    /// The environment's schedules: static ones by job, dynamic ones by key.
    public func schedules(environment: AuthenticatedEnvironment) async throws -> [ScheduleSummary] {
        try await database.query("""
            SELECT s.key, s.schedule, s.next_run_at, s.last_event_timestamp, s.active, s.metadata, d.dispatchable,
                   j.slug AS job_slug, t.slug AS trigger_slug
            FROM schedule_sources s
            JOIN event_dispatchers d ON d.id = s.dispatcher_id
            LEFT JOIN jobs j ON \(unsafeRaw: database.dialect == .postgres ? "j.id::text" : "j.id") = d.dispatchable_id
            LEFT JOIN dynamic_triggers t ON \(unsafeRaw: database.dialect == .postgres ? "t.id::text" : "t.id") = d.dispatchable_id
            WHERE s.environment_id = \(environment.id)
            ORDER BY s.key
            """).map { row in
            let dynamic: String? = try row.decodeIfPresent("trigger_slug")
            return ScheduleSummary(key: try row.decode("key"), job: try row.decodeIfPresent("job_slug"), dynamicSchedule: dynamic,
                                   schedule: try row.json("schedule") ?? .null, metadata: try row.json("metadata"),
                                   nextRunAt: try row.decodeIfPresent("next_run_at"), lastRunAt: try row.decodeIfPresent("last_event_timestamp"),
                                   active: try row.decode("active"))
        }
    }

    /// Plans a tick for every active schedule that has none pending (its tick job ran out of attempts,
    /// or was deleted by hand). One statement finds them, however many schedules there are.
    @discardableResult
    public func replanSchedules() async throws -> Int {
        let now = self.now()
        return try await database.transaction { tx in
            let orphans = try await tx.query("""
                SELECT s.id, s.environment_id, s.next_run_at FROM schedule_sources s
                WHERE s.active = \(true) AND NOT EXISTS (
                    SELECT 1 FROM kongflow_jobs j WHERE j.key = 'schedule-' || \(unsafeRaw: tx.dialect == .postgres ? "s.id::text" : "s.id"))
                """)
            for row in orphans {
                let id: UUID = try row.decode("id")
                // A tick in the past fires at once, as the one catch-up; the chain goes on from there.
                let next: Date = try row.decodeIfPresent("next_run_at") ?? now
                try await tx.query("UPDATE schedule_sources SET next_run_at = \(next), updated_at = \(now) WHERE id = \(id)")
                try await ScheduleTicks.plan(scheduleId: id, environmentId: try row.decode("environment_id"), at: next, queue: self.queue, in: tx)
            }
            return orphans.count
        }
    }
}

/// A dynamic schedule registration, as `registerSchedule` answers it: `{id, schedule, metadata, active}`.
public struct ScheduleRegistration: Sendable, Equatable, Encodable {
    public let id: String
    public let schedule: JSONValue
    public let metadata: JSONValue
    public let active: Bool
}

public struct ScheduleSummary: Sendable, Equatable, Encodable {
    public let key: String
    /// The job of a static schedule.
    public let job: String?
    /// The dynamic schedule a registered key belongs to.
    public let dynamicSchedule: String?
    public let schedule: JSONValue
    public let metadata: JSONValue?
    public let nextRunAt: Date?
    public let lastRunAt: Date?
    public let active: Bool
}

/// Re-plans schedules left without a pending tick, every `interval`, in `serve` and `worker`.
public struct ScheduleKeeper: Service {
    let engine: RunEngine
    let interval: Duration

    public init(engine: RunEngine, interval: Duration = .seconds(60)) {
        self.engine = engine
        self.interval = interval
    }

    public func run() async throws {
        do { try await keep() } catch is CancellationError {}
    }

    private func keep() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let replanned = try await engine.replanSchedules()
                    if replanned > 0 { engine.logger.warning("re-planned schedules that had no pending tick", metadata: ["count": "\(replanned)"]) }
                } catch {
                    engine.logger.warning("schedule check failed", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: interval)
            }
        }
    }
}
