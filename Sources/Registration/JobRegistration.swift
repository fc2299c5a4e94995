import Foundation
import Storage
import TriggerProtocol

extension RegistrationService {
    /// RegisterJobService (spec 5.3) with its bugs fixed: the `latest` alias compares semver, the
    /// dispatcher always points at the `latest` version, a queue referenced by name keeps its
    /// limit, schedules are re-planned when they change, and `enabled: false` disables the job.
    func upsertJob(_ job: JobMetadata, owner: Owner, now: Date, in tx: any Transaction) async throws {
        let integrationIds = try await resolveIntegrations(job.integrations, owner: owner, missing: { "Could not find Integration with id \($0)" }, now: now, in: tx)
        let jobId: UUID = try await tx.queryFirst("""
            INSERT INTO jobs (id, slug, title, internal, organization_id, project_id, created_at, updated_at)
            VALUES (\(UUID()), \(job.id), \(job.name), \(job.internal), \(owner.organizationId), \(owner.projectId), \(now), \(now))
            ON CONFLICT (project_id, slug) DO UPDATE SET title = excluded.title, internal = excluded.internal, updated_at = excluded.updated_at
            RETURNING id
            """)!.decode("id")

        let (queueName, maxJobs, setsLimit): (String, Int, Bool) = switch job.queue {
        case .options(let name, let maxConcurrent)?: (name, maxConcurrent.map { Int($0) } ?? 100, maxConcurrent != nil)
        case .named(let name)?: (name, 100, false)
        case nil: ("default", 100, false)
        }
        let queueId: UUID = try await tx.queryFirst("""
            INSERT INTO job_queues (id, name, environment_id, max_jobs, created_at, updated_at)
            VALUES (\(UUID()), \(queueName), \(owner.environmentId), \(maxJobs), \(now), \(now))
            ON CONFLICT (environment_id, name) DO UPDATE
            SET max_jobs = CASE WHEN \(setsLimit) THEN excluded.max_jobs ELSE job_queues.max_jobs END, updated_at = excluded.updated_at
            RETURNING id
            """)!.decode("id")

        var properties: [DisplayProperty]? = nil
        if case .static(_, let triggerProperties, _, _, _) = job.trigger { properties = triggerProperties }
        let versionId: UUID = try await tx.queryFirst("""
            INSERT INTO job_versions (id, version, event_specification, trigger, properties, job_id, endpoint_id, environment_id,
                                      organization_id, project_id, queue_id, start_position, preprocess_runs, status, created_at, updated_at)
            VALUES (\(UUID()), \(job.version), \(Self.json(job.event.withoutExamples)), \(Self.json(job.trigger)), \(properties.map(Self.json)),
                    \(jobId), \(owner.endpointId), \(owner.environmentId), \(owner.organizationId), \(owner.projectId), \(queueId),
                    \(job.startPosition == .initial ? "INITIAL" : "LATEST"), \(job.preprocessRuns), \(job.enabled ? "ACTIVE" : "DISABLED"), \(now), \(now))
            ON CONFLICT (job_id, version, environment_id) DO UPDATE
            SET event_specification = excluded.event_specification, trigger = excluded.trigger, properties = excluded.properties,
                endpoint_id = excluded.endpoint_id, queue_id = excluded.queue_id, start_position = excluded.start_position,
                preprocess_runs = excluded.preprocess_runs, status = excluded.status, updated_at = excluded.updated_at
            RETURNING id
            """)!.decode("id")

        let examples = job.event.examples ?? []
        for example in examples {
            try await tx.query("""
                INSERT INTO event_examples (id, slug, name, icon, payload, job_version_id, created_at, updated_at)
                VALUES (\(UUID()), \(example.id), \(example.name), \(example.icon), \(example.payload.map(Self.json)), \(versionId), \(now), \(now))
                ON CONFLICT (slug, job_version_id) DO UPDATE
                SET name = excluded.name, icon = excluded.icon, payload = excluded.payload, updated_at = excluded.updated_at
                """)
        }
        try await tx.query("DELETE FROM event_examples WHERE job_version_id = \(versionId) AND slug NOT IN (\(list: examples.map(\.id)))")

        for (key, integrationId) in integrationIds.sorted(by: { $0.key < $1.key }) {
            try await tx.query("""
                INSERT INTO job_integrations (id, key, version_id, job_id, integration_id, created_at, updated_at)
                VALUES (\(UUID()), \(key), \(versionId), \(jobId), \(integrationId), \(now), \(now))
                ON CONFLICT (version_id, key) DO UPDATE SET integration_id = excluded.integration_id, updated_at = excluded.updated_at
                """)
        }
        try await tx.query("DELETE FROM job_integrations WHERE version_id = \(versionId) AND key NOT IN (\(list: Array(integrationIds.keys)))")

        guard job.enabled else {
            try await Self.disable(jobId: jobId, environmentId: owner.environmentId, now: now, in: tx)
            return
        }

        // `latest` is the highest version (semver) registered in this environment.
        let versions = try await tx.query("SELECT id, version FROM job_versions WHERE job_id = \(jobId) AND environment_id = \(owner.environmentId)")
            .map { (id: try $0.decode("id", as: UUID.self), version: try $0.decode("version", as: String.self)) }
        let latest = versions.max { Semver.isOrderedBefore($0.version, $1.version) }!
        try await tx.query("""
            INSERT INTO job_aliases (id, name, value, version_id, job_id, environment_id, created_at, updated_at)
            VALUES (\(UUID()), 'latest', \(latest.version), \(latest.id), \(jobId), \(owner.environmentId), \(now), \(now))
            ON CONFLICT (job_id, environment_id, name) DO UPDATE
            SET value = excluded.value, version_id = excluded.version_id, updated_at = excluded.updated_at
            """)
        // An older version registered after a newer one leaves the dispatcher with the newer one.
        guard latest.id == versionId else { return }

        let dispatchable: JSONValue = ["type": "JOB_VERSION", "id": .string(versionId.uuidString.lowercased())]
        switch job.trigger {
        case .static(_, _, let rule, _, _):
            try await upsertDispatcher(dispatchableId: jobId.uuidString.lowercased(), dispatchable: dispatchable,
                                       event: rule.event.jsonValue(), source: rule.source,
                                       payloadFilter: rule.payload?.jsonValue(), contextFilter: rule.context?.jsonValue(),
                                       manual: false, environmentId: owner.environmentId, now: now, in: tx)
        case .scheduled(let schedule):
            let nextRun = try Self.firstRun(schedule, after: now)
            let dispatcherId = try await upsertDispatcher(
                dispatchableId: jobId.uuidString.lowercased(), dispatchable: dispatchable, event: "dev.trigger.scheduled", source: "trigger.dev",
                payloadFilter: [:], contextFilter: [:], manual: true, environmentId: owner.environmentId, now: now, in: tx)
            try await upsertScheduleSource(key: job.id, schedule: schedule, nextRun: nextRun, dispatcherId: dispatcherId,
                                           environmentId: owner.environmentId, now: now, in: tx)
        case .dynamic, .invoke:
            break
        }
    }

    /// Marks every version of a job in an environment DISABLED and switches its dispatcher off.
    static func disable(jobId: UUID, environmentId: UUID, now: Date, in tx: any Transaction) async throws {
        try await tx.query("""
            UPDATE job_versions SET status = 'DISABLED', updated_at = \(now)
            WHERE job_id = \(jobId) AND environment_id = \(environmentId) AND status = 'ACTIVE'
            """)
        try await tx.query("""
            UPDATE event_dispatchers SET enabled = \(false), updated_at = \(now)
            WHERE dispatchable_id = \(jobId.uuidString.lowercased()) AND environment_id = \(environmentId)
            """)
        try await tx.query("""
            UPDATE schedule_sources SET active = \(false), updated_at = \(now)
            WHERE environment_id = \(environmentId)
              AND dispatcher_id IN (SELECT id FROM event_dispatchers WHERE dispatchable_id = \(jobId.uuidString.lowercased()) AND environment_id = \(environmentId))
            """)
    }

    /// When a schedule first fires after `now`; an invalid cron expression is that job's error.
    static func firstRun(_ schedule: ScheduleMetadata, after now: Date) throws -> Date {
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

    @discardableResult
    func upsertDispatcher(dispatchableId: String, dispatchable: JSONValue, event: JSONValue, source: String, payloadFilter: JSONValue?,
                          contextFilter: JSONValue?, manual: Bool, environmentId: UUID, now: Date, in tx: any Transaction) async throws -> UUID {
        try await tx.queryFirst("""
            INSERT INTO event_dispatchers (id, event, source, payload_filter, context_filter, manual, dispatchable_id, dispatchable, enabled,
                                           environment_id, created_at, updated_at)
            VALUES (\(UUID()), \(Self.json(event)), \(source), \(payloadFilter.map(Self.json)), \(contextFilter.map(Self.json)), \(manual),
                    \(dispatchableId), \(Self.json(dispatchable)), \(true), \(environmentId), \(now), \(now))
            ON CONFLICT (dispatchable_id, environment_id) DO UPDATE
            SET event = excluded.event, source = excluded.source, payload_filter = excluded.payload_filter,
                context_filter = excluded.context_filter, manual = excluded.manual, dispatchable = excluded.dispatchable,
                enabled = excluded.enabled, updated_at = excluded.updated_at
            RETURNING id
            """)!.decode("id")
    }

    /// The schedule is re-planned only when it changed (trigger.dev kept stale plans, #611).
    func upsertScheduleSource(key: String, schedule: ScheduleMetadata, nextRun: Date, dispatcherId: UUID, environmentId: UUID,
                              now: Date, in tx: any Transaction) async throws {
        let scheduleJSON = schedule.jsonValue()
        var plain = scheduleJSON
        var metadata: JSONValue? = nil
        if case .object(var object) = scheduleJSON {
            metadata = object.removeValue(forKey: "metadata")
            object.removeValue(forKey: "accountId")
            plain = .object(object)
        }
        let existing = try await tx.queryFirst("SELECT schedule, next_run_at FROM schedule_sources WHERE key = \(key) AND environment_id = \(environmentId)")
        var next = nextRun
        if let existing, let stored = try existing.decodeIfPresent("schedule", as: SQLJSON.self),
           (try? JSONValue.parse(stored.text)) == plain, let kept = try existing.decodeIfPresent("next_run_at", as: Date.self) {
            next = kept
        }
        try await tx.query("""
            INSERT INTO schedule_sources (id, key, schedule, environment_id, dispatcher_id, next_run_at, active, metadata, created_at, updated_at)
            VALUES (\(UUID()), \(key), \(Self.json(plain)), \(environmentId), \(dispatcherId), \(next), \(true), \(metadata.map(Self.json)), \(now), \(now))
            ON CONFLICT (key, environment_id) DO UPDATE
            SET schedule = excluded.schedule, dispatcher_id = excluded.dispatcher_id, next_run_at = excluded.next_run_at,
                active = excluded.active, metadata = excluded.metadata, updated_at = excluded.updated_at
            """)
    }

    /// Integration ids by job-local key. LOCAL (and RESOLVER) integrations are created on the fly;
    /// HOSTED ones must already exist in the organization.
    func resolveIntegrations(_ configs: [String: IntegrationConfig], owner: Owner, missing: (String) -> String, now: Date,
                             in tx: any Transaction) async throws -> [String: UUID] {
        var ids: [String: UUID] = [:]
        for (key, config) in configs.sorted(by: { $0.key < $1.key }) {
            if let row = try await tx.queryFirst("SELECT id FROM integrations WHERE organization_id = \(owner.organizationId) AND slug = \(config.id)") {
                ids[key] = try row.decode("id")
                continue
            }
            guard config.authSource != .hosted else { throw RegistrationError(missing(config.id)) }
            try await tx.query("""
                INSERT INTO integration_definitions (id, name, instructions, created_at, updated_at)
                VALUES (\(config.metadata.id), \(config.metadata.name), \(config.metadata.instructions), \(now), \(now))
                ON CONFLICT (id) DO NOTHING
                """)
            ids[key] = try await tx.queryFirst("""
                INSERT INTO integrations (id, slug, title, auth_source, connection_type, definition_id, organization_id, created_at, updated_at)
                VALUES (\(UUID()), \(config.id), \(config.metadata.name), \(config.authSource.rawValue), 'DEVELOPER', \(config.metadata.id),
                        \(owner.organizationId), \(now), \(now))
                ON CONFLICT (organization_id, slug) DO UPDATE SET updated_at = excluded.updated_at
                RETURNING id
                """)!.decode("id")
        }
        return ids
    }
}
