import Foundation
import JSON
import Queue
import Storage
import TriggerProtocol

extension RegistrationService {
    /// RegisterJobService (docs/spec/trigger-v2-endpoints.md §5.3) for many jobs at once, set-based: a fixed number of statements per
    /// batch instead of ~15 per job, which is what makes a 1,000-job endpoint register in well under a
    /// second (BENCHMARKS.md). trigger.dev's bugs are fixed: the `latest` alias compares semver, the
    /// dispatcher always points at the `latest` version, a queue referenced by name keeps its limit,
    /// schedules are re-planned only when they change, and `enabled: false` disables the job.
    ///
    /// Returns the error of every job that cannot register (a missing HOSTED integration, an invalid
    /// cron expression), by position; those jobs write nothing, the others register.
    func upsertJobs(_ jobs: [JobMetadata], owner: Owner, now: Date, in tx: any Transaction) async throws -> [Int: RegistrationError] {
        let plan = JobRegistrationPlan(jobs: jobs, now: now, rowsPerStatement: Self.rowsPerStatement)
        var failures = plan.failures
        for round in plan.rounds {
            failures.merge(try await upsertRound(round, owner: owner, now: now, in: tx)) { $1 }
        }
        return failures
    }

    /// One round of the plan: no two jobs share a slug. Returns the failures by position in the batch.
    private func upsertRound(_ round: [JobRegistrationPlan.Item], owner: Owner, now: Date, in tx: any Transaction) async throws -> [Int: RegistrationError] {
        var failures: [Int: RegistrationError] = [:]
        var items: [JobRegistrationPlan.Item] = []
        var integrationIds: [Int: [String: UUID]] = [:]
        let resolutions = try await resolveIntegrations(round.map(\.job.integrations), owner: owner, now: now, in: tx)
        for (item, resolution) in zip(round, resolutions) {
            switch resolution {
            case .resolved(let ids):
                items.append(item)
                integrationIds[item.position] = ids
            case .missing(let slug):
                failures[item.position] = RegistrationError("Could not find Integration with id \(slug)")
            }
        }
        guard !items.isEmpty else { return failures }

        let jobIds: [String: UUID] = try await Self.keyed(tx.query("""
            INSERT INTO jobs (id, slug, title, internal, organization_id, project_id, created_at, updated_at)
            VALUES \(SQLQuery.joined(items.map { item -> SQLQuery in
                "(\(UUID()), \(item.job.id), \(item.job.name), \(item.job.internal), \(owner.organizationId), \(owner.projectId), \(now), \(now))"
            }))
            ON CONFLICT (project_id, slug) DO UPDATE SET title = excluded.title, internal = excluded.internal, updated_at = excluded.updated_at
            RETURNING id, slug
            """), key: "slug")
        func jobId(_ job: JobMetadata) throws -> UUID { try require(jobIds, job.id, "job id") }
        let queueIds = try await upsertQueues(JobRegistrationPlan.queueLimits(items), owner: owner, now: now, in: tx)

        let versionRows = try items.map { item -> SQLQuery in
            let job = item.job
            var properties: [DisplayProperty]? = nil
            if case .static(_, let triggerProperties, _, _, _) = job.trigger { properties = triggerProperties }
            return """
                (\(UUID()), \(job.version), \(try Self.json(job.event.withoutExamples)), \(try Self.json(job.trigger)), \(try properties.map { try Self.json($0) }),
                 \(try jobId(job)), \(owner.endpointId), \(owner.environmentId), \(owner.organizationId), \(owner.projectId),
                 \(try require(queueIds, item.queueName, "queue id")), \(job.startPosition == .initial ? "INITIAL" : "LATEST"), \(job.preprocessRuns),
                 \(job.enabled ? "ACTIVE" : "DISABLED"), \(now), \(now))
                """
        }
        var versionIds: [UUID: UUID] = [:]
        for row in try await tx.query("""
            INSERT INTO job_versions (id, version, event_specification, trigger, properties, job_id, endpoint_id, environment_id,
                                      organization_id, project_id, queue_id, start_position, preprocess_runs, status, created_at, updated_at)
            VALUES \(SQLQuery.joined(versionRows))
            ON CONFLICT (job_id, version, environment_id) DO UPDATE
            SET event_specification = excluded.event_specification, trigger = excluded.trigger, properties = excluded.properties,
                endpoint_id = excluded.endpoint_id, queue_id = excluded.queue_id, start_position = excluded.start_position,
                preprocess_runs = excluded.preprocess_runs, status = excluded.status, updated_at = excluded.updated_at
            RETURNING id, job_id
            """) {
            versionIds[try row.decode("job_id")] = try row.decode("id")
        }
        func versionId(_ job: JobMetadata) throws -> UUID { try require(versionIds, try jobId(job), "version id") }

        // Examples and integration links: upsert what is declared, delete the rest of these versions'.
        var examples: [String: SQLQuery] = [:]
        for item in items {
            let version = try versionId(item.job)
            for example in item.job.event.examples ?? [] {
                examples["\(version)/\(example.id)"] = """
                    (\(UUID()), \(example.id), \(example.name), \(example.icon), \(try example.payload.map { try Self.json($0) }), \(version), \(now), \(now))
                    """
            }
        }
        let keptExamples: [UUID] = try await Self.chunked(examples.sorted { $0.key < $1.key }.map(\.value)) { rows in
            try await tx.query("""
                INSERT INTO event_examples (id, slug, name, icon, payload, job_version_id, created_at, updated_at)
                VALUES \(SQLQuery.joined(rows))
                ON CONFLICT (slug, job_version_id) DO UPDATE
                SET name = excluded.name, icon = excluded.icon, payload = excluded.payload, updated_at = excluded.updated_at
                RETURNING id
                """).map { try $0.decode("id") }
        }
        let allVersions = try items.map { try versionId($0.job) }
        try await tx.query("DELETE FROM event_examples WHERE job_version_id IN (\(list: allVersions)) AND \("id", notIn: keptExamples)")

        let links = try items.flatMap { item in
            try (integrationIds[item.position] ?? [:]).sorted { $0.key < $1.key }.map { key, integrationId -> SQLQuery in
                "(\(UUID()), \(key), \(try versionId(item.job)), \(try jobId(item.job)), \(integrationId), \(now), \(now))"
            }
        }
        let keptLinks: [UUID] = try await Self.chunked(links) { rows in
            try await tx.query("""
                INSERT INTO job_integrations (id, key, version_id, job_id, integration_id, created_at, updated_at)
                VALUES \(SQLQuery.joined(rows))
                ON CONFLICT (version_id, key) DO UPDATE SET integration_id = excluded.integration_id, updated_at = excluded.updated_at
                RETURNING id
                """).map { try $0.decode("id") }
        }
        try await tx.query("DELETE FROM job_integrations WHERE version_id IN (\(list: allVersions)) AND \("id", notIn: keptLinks)")

        try await Self.disable(jobIds: try items.filter { !$0.job.enabled }.map { try jobId($0.job) }, environmentId: owner.environmentId, now: now, in: tx)
        let enabled = items.filter(\.job.enabled)
        guard !enabled.isEmpty else { return failures }

        // `latest` is the highest version (semver) registered in this environment.
        var versionsByJob: [UUID: [(id: UUID, version: String)]] = [:]
        for row in try await tx.query("""
            SELECT id, job_id, version FROM job_versions
            WHERE environment_id = \(owner.environmentId) AND job_id IN (\(list: try enabled.map { try jobId($0.job) }))
            """) {
            versionsByJob[try row.decode("job_id"), default: []].append((try row.decode("id"), try row.decode("version")))
        }
        let latest = try enabled.map { item -> (id: UUID, version: String) in
            guard let latest = JobRegistrationPlan.latest(versionsByJob[try jobId(item.job)] ?? []) else {
                throw RegistrationError("internal error: no version of \(item.job.id)")
            }
            return latest
        }
        try await tx.query("""
            INSERT INTO job_aliases (id, name, value, version_id, job_id, environment_id, created_at, updated_at)
            VALUES \(SQLQuery.joined(try zip(enabled, latest).map { item, latest -> SQLQuery in
                "(\(UUID()), 'latest', \(latest.version), \(latest.id), \(try jobId(item.job)), \(owner.environmentId), \(now), \(now))"
            }))
            ON CONFLICT (job_id, environment_id, name) DO UPDATE
            SET value = excluded.value, version_id = excluded.version_id, updated_at = excluded.updated_at
            """)

        // An older version registered after a newer one leaves the dispatcher with the newer one.
        var dispatchers: [JobRegistrationPlan.Dispatcher] = []
        for (item, latest) in zip(enabled, latest) where latest.id == (try versionId(item.job)) {
            if let dispatcher = try JobRegistrationPlan.dispatcher(for: item.job, jobId: try jobId(item.job), versionId: latest.id) {
                dispatchers.append(dispatcher)
            }
        }
        let dispatcherIds = try await upsertDispatchers(dispatchers, environmentId: owner.environmentId, now: now, in: tx)
        var schedules: [ScheduleSource] = []
        for (item, latest) in zip(enabled, latest) where latest.id == (try versionId(item.job)) {
            guard case .scheduled(let schedule) = item.job.trigger, let firstRun = item.firstRun else { continue }
            schedules.append(ScheduleSource(key: item.job.id, schedule: schedule, nextRun: firstRun,
                                            dispatcherId: try require(dispatcherIds, try jobId(item.job).lowercasedString, "dispatcher id")))
        }
        try await upsertScheduleSources(schedules, environmentId: owner.environmentId, now: now, in: tx)
        return failures
    }

    /// Queue ids by name. A queue declared with `maxConcurrent` sets its limit; one referenced by
    /// name only keeps the limit it has (100 when new).
    private func upsertQueues(_ limits: [String: Int?], owner: Owner, now: Date, in tx: any Transaction) async throws -> [String: UUID] {
        var ids: [String: UUID] = [:]
        for setsLimit in [true, false] {
            let chosen = limits.filter { ($0.value != nil) == setsLimit }.sorted { $0.key < $1.key }
            guard !chosen.isEmpty else { continue }
            let update: SQLQuery = setsLimit ? "max_jobs = excluded.max_jobs, updated_at = excluded.updated_at" : "updated_at = excluded.updated_at"
            ids.merge(try await Self.keyed(tx.query("""
                INSERT INTO job_queues (id, name, environment_id, max_jobs, created_at, updated_at)
                VALUES \(SQLQuery.joined(chosen.map { name, limit -> SQLQuery in
                    "(\(UUID()), \(name), \(owner.environmentId), \(limit ?? 100), \(now), \(now))"
                }))
                ON CONFLICT (environment_id, name) DO UPDATE SET \(update)
                RETURNING id, name
                """), key: "name")) { $1 }
        }
        return ids
    }

    /// Marks every version of these jobs in an environment DISABLED and switches their dispatchers off.
    static func disable(jobIds: [UUID], environmentId: UUID, now: Date, in tx: any Transaction) async throws {
        guard !jobIds.isEmpty else { return }
        let dispatchableIds = jobIds.map { $0.lowercasedString }
        try await tx.query("""
            UPDATE job_versions SET status = 'DISABLED', updated_at = \(now)
            WHERE environment_id = \(environmentId) AND status = 'ACTIVE' AND job_id IN (\(list: jobIds))
            """)
        try await tx.query("""
            UPDATE event_dispatchers SET enabled = \(false), updated_at = \(now)
            WHERE environment_id = \(environmentId) AND dispatchable_id IN (\(list: dispatchableIds))
            """)
        try await tx.query("""
            UPDATE schedule_sources SET active = \(false), updated_at = \(now)
            WHERE environment_id = \(environmentId)
              AND dispatcher_id IN (SELECT id FROM event_dispatchers WHERE environment_id = \(environmentId) AND dispatchable_id IN (\(list: dispatchableIds)))
            """)
    }

    /// Dispatcher ids by dispatchable id; at most one dispatcher per dispatchable.
    func upsertDispatchers(_ dispatchers: [JobRegistrationPlan.Dispatcher], environmentId: UUID, now: Date, in tx: any Transaction) async throws -> [String: UUID] {
        guard !dispatchers.isEmpty else { return [:] }
        return try await Self.keyed(tx.query("""
            INSERT INTO event_dispatchers (id, event, source, payload_filter, context_filter, manual, dispatchable_id, dispatchable, enabled,
                                           environment_id, created_at, updated_at)
            VALUES \(SQLQuery.joined(dispatchers.map { d -> SQLQuery in
                """
                (\(UUID()), \(try Self.json(d.event)), \(d.source), \(try d.payloadFilter.map { try Self.json($0) }), \(try d.contextFilter.map { try Self.json($0) }), \(d.manual),
                 \(d.dispatchableId), \(try Self.json(d.dispatchable)), \(true), \(environmentId), \(now), \(now))
                """
            }))
            ON CONFLICT (dispatchable_id, environment_id) DO UPDATE
            SET event = excluded.event, source = excluded.source, payload_filter = excluded.payload_filter,
                context_filter = excluded.context_filter, manual = excluded.manual, dispatchable = excluded.dispatchable,
                enabled = excluded.enabled, updated_at = excluded.updated_at
            RETURNING id, dispatchable_id
            """), key: "dispatchable_id")
    }

    struct ScheduleSource {
        let key: String
        let schedule: ScheduleMetadata
        let nextRun: Date
        let dispatcherId: UUID
    }

    /// A schedule is re-planned only when it changed (trigger.dev kept stale plans, #611).
    func upsertScheduleSources(_ sources: [ScheduleSource], environmentId: UUID, now: Date, in tx: any Transaction) async throws {
        guard !sources.isEmpty else { return }
        var stored: [String: (schedule: JSONValue?, nextRun: Date?)] = [:]
        for row in try await tx.query("""
            SELECT key, schedule, next_run_at, active FROM schedule_sources WHERE environment_id = \(environmentId) AND key IN (\(list: sources.map(\.key)))
            """) {
            let schedule = try row.decodeIfPresent("schedule", as: SQLJSON.self).flatMap { try? JSONValue.parse($0.text) }
            // A schedule that was off (its job disabled or gone) starts afresh, one interval from now.
            let active: Bool = try row.decode("active")
            stored[try row.decode("key")] = (schedule, active ? try row.decodeIfPresent("next_run_at", as: Date.self) : nil)
        }
        let rows = try sources.map { source -> SQLQuery in
            var plain = try JSONValue(encoding: source.schedule)
            var metadata: JSONValue? = nil
            if case .object(var object) = plain {
                metadata = object.removeValue(forKey: "metadata")
                object.removeValue(forKey: "accountId")
                plain = .object(object)
            }
            var next = source.nextRun
            if let existing = stored[source.key], existing.schedule == plain, let kept = existing.nextRun { next = kept }
            return """
                (\(UUID()), \(source.key), \(try Self.json(plain)), \(environmentId), \(source.dispatcherId), \(next), \(true), \(try metadata.map { try Self.json($0) }), \(now), \(now))
                """
        }
        let planned = try await tx.query("""
            INSERT INTO schedule_sources (id, key, schedule, environment_id, dispatcher_id, next_run_at, active, metadata, created_at, updated_at)
            VALUES \(SQLQuery.joined(rows))
            ON CONFLICT (key, environment_id) DO UPDATE
            SET schedule = excluded.schedule, dispatcher_id = excluded.dispatcher_id, next_run_at = excluded.next_run_at,
                active = excluded.active, metadata = excluded.metadata, updated_at = excluded.updated_at
            RETURNING id, environment_id, next_run_at
            """)
        // Each schedule's pending tick, replaced if it was planned before (a changed schedule, a job
        // enabled again).
        let queue = JobQueue(database: database, now: self.now)
        for row in planned {
            guard let next = try row.decodeIfPresent("next_run_at", as: Date.self) else { continue }
            try await ScheduleTicks.plan(scheduleId: try row.decode("id"), environmentId: try row.decode("environment_id"), at: next, queue: queue, in: tx)
        }
    }

    enum IntegrationResolution: Equatable {
        /// Integration ids by the item's own keys.
        case resolved([String: UUID])
        /// The slug of a HOSTED integration the organization does not have.
        case missing(String)
    }

    /// Resolves each item's integrations. LOCAL (and RESOLVER) integrations are created on the fly,
    /// only for items that do register; HOSTED ones must already exist in the organization.
    func resolveIntegrations(_ items: [[String: IntegrationConfig]], owner: Owner, now: Date,
                             in tx: any Transaction) async throws -> [IntegrationResolution] {
        let slugs = Set(items.flatMap { $0.values.map(\.id) })
        guard !slugs.isEmpty else { return items.map { _ in .resolved([:]) } }
        let rows = try await tx.query("""
            SELECT i.id, i.slug, c.id AS connection_id FROM integrations i
            LEFT JOIN integration_connections c ON c.integration_id = i.id AND c.environment_id = \(owner.environmentId)
            WHERE i.organization_id = \(owner.organizationId) AND i.slug IN (\(list: slugs.sorted()))
            """)
        let existing: [String: UUID] = try Self.keyed(rows, key: "slug")
        // A HOSTED integration exists for this environment once it has credentials here
        // (`POST /api/v1/integrations`); another environment's do not count.
        let connected = Set(try rows.filter { try $0.decodeIfPresent("connection_id", as: UUID.self) != nil }.map { try $0.decode("slug", as: String.self) })
        // An item that cannot register creates nothing, and what it would have created cannot save
        // another item: drop failing items until none is left.
        var missing: [Int: String] = [:]
        var creatable: [String: IntegrationConfig] = [:]
        while true {
            creatable = [:]
            for (position, configs) in items.enumerated() where missing[position] == nil {
                for config in configs.values.sorted(by: { $0.id < $1.id }) where existing[config.id] == nil && config.authSource != .hosted {
                    if creatable[config.id] == nil { creatable[config.id] = config }
                }
            }
            var dropped = false
            for (position, configs) in items.enumerated() where missing[position] == nil {
                if let (_, config) = configs.sorted(by: { $0.key < $1.key }).first(where: {
                    $0.value.authSource == .hosted && !connected.contains($0.value.id)
                }) {
                    missing[position] = config.id
                    dropped = true
                }
            }
            if !dropped { break }
        }
        var ids = existing
        if !creatable.isEmpty {
            let configs = creatable.sorted { $0.key < $1.key }.map(\.value)
            var definitions: [String: IntegrationMetadata] = [:]
            for config in configs where definitions[config.metadata.id] == nil { definitions[config.metadata.id] = config.metadata }
            try await tx.query("""
                INSERT INTO integration_definitions (id, name, instructions, created_at, updated_at)
                VALUES \(SQLQuery.joined(definitions.sorted { $0.key < $1.key }.map { id, definition -> SQLQuery in
                    "(\(id), \(definition.name), \(definition.instructions), \(now), \(now))"
                }))
                ON CONFLICT (id) DO NOTHING
                """)
            ids.merge(try await Self.keyed(tx.query("""
                INSERT INTO integrations (id, slug, title, auth_source, connection_type, definition_id, organization_id, created_at, updated_at)
                VALUES \(SQLQuery.joined(configs.map { config -> SQLQuery in
                    """
                    (\(UUID()), \(config.id), \(config.metadata.name), \(config.authSource.rawValue), 'DEVELOPER', \(config.metadata.id),
                     \(owner.organizationId), \(now), \(now))
                    """
                }))
                ON CONFLICT (organization_id, slug) DO UPDATE SET updated_at = excluded.updated_at
                RETURNING id, slug
                """), key: "slug")) { $1 }
        }
        return try items.enumerated().map { position, configs in
            if let slug = missing[position] { return .missing(slug) }
            return .resolved(try configs.mapValues { try require(ids, $0.id, "integration id") })
        }
    }

    /// Maps rows of `id` and a text column to ids by that column.
    static func keyed(_ rows: [SQLRow], key: String) throws -> [String: UUID] {
        var ids: [String: UUID] = [:]
        for row in rows { ids[try row.decode(key)] = try row.decode("id") }
        return ids
    }

    /// Rows per multi-row statement: at most 16 binds a row stays far below both backends' limits.
    static let rowsPerStatement = 500

    /// Runs `statement` over `rows` in slices of `rowsPerStatement`, concatenating the results.
    static func chunked<T>(_ rows: [SQLQuery], _ statement: ([SQLQuery]) async throws -> [T]) async throws -> [T] {
        var results: [T] = []
        for start in stride(from: 0, to: rows.count, by: rowsPerStatement) {
            results += try await statement(Array(rows[start..<min(start + rowsPerStatement, rows.count)]))
        }
        return results
    }
}
