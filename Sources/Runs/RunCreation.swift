import Foundation
import JSON
import Queue
import Storage
import Tenancy
import TriggerProtocol

extension RunEngine {
    /// Starts a run of each job version for `event`, inside `tx`: numbered per job (race-free, unlike
    /// upstream's max+1), QUEUED, with its first execution queued on its job queue. Versions that are
    /// disabled or whose endpoint was deleted get no run.
    func createRuns(versionIds: [UUID], event: EventRecord, idempotencyKey: String? = nil, now: Date, in tx: any Transaction) async throws -> [UUID] {
        guard !versionIds.isEmpty else { return [] }
        let versions = try await tx.query("""
            SELECT v.id, v.job_id, v.endpoint_id, v.queue_id, v.organization_id, v.project_id, v.environment_id, q.max_jobs
            FROM job_versions v
            JOIN job_queues q ON q.id = v.queue_id
            JOIN endpoints e ON e.id = v.endpoint_id
            WHERE v.id IN (\(list: versionIds)) AND v.status = 'ACTIVE' AND e.deleted_at IS NULL AND v.environment_id = \(event.environmentId)
            """)
        var byId: [UUID: SQLRow] = [:]
        for row in versions { byId[try row.decode("id")] = row }
        var runIds: [UUID] = []
        for versionId in versionIds {
            guard let version = byId[versionId] else { continue }
            let jobId: UUID = try version.decode("job_id")
            let queueId: UUID = try version.decode("queue_id")
            guard let counter = try await tx.queryFirst("""
                INSERT INTO job_run_counters (job_id, last_number) VALUES (\(jobId), 1)
                ON CONFLICT (job_id) DO UPDATE SET last_number = job_run_counters.last_number + 1
                RETURNING last_number
                """) else { throw RunServiceError.invalidInput("could not number the run") }
            let runId = UUID()
            try await tx.query("""
                INSERT INTO job_runs (id, number, job_id, version_id, event_id, endpoint_id, queue_id, organization_id, project_id, environment_id,
                                      status, output, is_test, execution_count, execution_failures, idempotency_key, created_at, updated_at, queued_at)
                VALUES (\(runId), \(try counter.decode("last_number", as: Int.self)), \(jobId), \(versionId), \(event.id),
                        \(try version.decode("endpoint_id", as: UUID.self)), \(queueId), \(try version.decode("organization_id", as: UUID.self)),
                        \(try version.decode("project_id", as: UUID.self)), \(event.environmentId), 'QUEUED', NULL, \(event.isTest), 0, 0,
                        \(idempotencyKey), \(now), \(now), \(now))
                """)
            let limit = max(1, (try version.decodeIfPresent("max_jobs", as: Int.self)) ?? configuration.defaultQueueConcurrency)
            try await enqueueExecution(runId: runId, environmentId: event.environmentId, resumeTaskId: nil, queueId: queueId, concurrency: limit, runAt: nil, in: tx)
            runIds.append(runId)
        }
        metrics.created(runIds.count)
        return runIds
    }

    /// Queues the run's next execution; the job queue's limit is how many of its runs execute at once.
    /// A run has one execution queued or running at a time because only an execution (or the run's
    /// creation) queues the next one, and an execution counts only if it is the run's latest.
    func enqueueExecution(runId: UUID, environmentId: UUID, resumeTaskId: String?, queueId: UUID, concurrency: Int, runAt: Date?,
                          in tx: any Transaction) async throws {
        try await queue.enqueue(
            RunTasks.performRunExecution, payload: ExecutionPayload(runId: runId, resumeTaskId: resumeTaskId),
            options: JobOptions(queueName: RunTasks.queueName(jobQueueId: queueId), queueConcurrency: concurrency, runAt: runAt,
                                maxAttempts: 10, scope: environmentId.lowercasedString),
            in: tx)
    }

    // MARK: Invoke (POST /api/v1/jobs/:jobSlug/invoke)

    /// Runs the job's `latest` version directly with `payload`, through an event named after the job
    /// (`invoke.<slug>`), so the run reads like any other. An `Idempotency-Key` seen before in this
    /// environment returns that run instead of starting another.
    public func invoke(jobSlug: String, body: InvokeJobBody, idempotencyKey: String?, environment: AuthenticatedEnvironment) async throws -> JobRun {
        if let idempotencyKey, let existing = try await run(idempotencyKey: idempotencyKey, environment: environment) { return existing }
        let now = self.now()
        let payloadJSON = (body.payload ?? .object([:])).jsonString()
        guard payloadJSON.utf8.count <= configuration.maximumPayloadBytes else {
            throw RunServiceError.tooLarge("Payload is larger than \(configuration.maximumPayloadBytes) bytes")
        }
        let eventId = ids.next(now: now, lowercase: false)
        do {
            let runId = try await database.transaction { tx -> UUID in
                guard let version = try await tx.queryFirst("""
                    SELECT a.version_id FROM job_aliases a JOIN jobs j ON j.id = a.job_id
                    WHERE a.environment_id = \(environment.id) AND a.name = 'latest' AND j.slug = \(jobSlug) AND j.project_id = \(environment.project.id)
                    """) else { throw RunServiceError.jobNotFound }
                guard let event = try await tx.queryFirst("""
                    INSERT INTO event_records (id, event_id, name, source, timestamp, payload, context, source_context, organization_id, project_id,
                                               environment_id, deliver_at, delivered_at, is_test, created_at, updated_at)
                    VALUES (\(UUID()), \(eventId), \("invoke.\(jobSlug)"), 'trigger.dev', \(now), \(SQLJSON(payloadJSON)),
                            \(SQLJSON((body.context ?? .object([:])).jsonString())), NULL, \(environment.organization.id), \(environment.project.id),
                            \(environment.id), \(now), \(now), \(false), \(now), \(now))
                    RETURNING \(unsafeRaw: EventRecord.columns)
                    """).map(EventRecord.init) else { throw RunServiceError.eventNotFound }
                guard let runId = try await self.createRuns(versionIds: [try version.decode("version_id")], event: event,
                                                            idempotencyKey: idempotencyKey, now: now, in: tx).first else {
                    throw RunServiceError.invalidInput("Job \(jobSlug) is disabled or its endpoint was deleted")
                }
                return runId
            }
            return try await run(id: runId, environment: environment)
        } catch StorageError.uniqueViolation(_) where idempotencyKey != nil {
            // Two requests with one key at once: the other one's run stands.
            if let existing = try await run(idempotencyKey: idempotencyKey!, environment: environment) { return existing }
            throw RunServiceError.runNotFound
        }
    }
}
