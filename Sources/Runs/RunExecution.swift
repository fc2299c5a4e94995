import EndpointClient
import Foundation
import Integrations
import JSON
import NIOCore
import Queue
import Storage
import Tenancy
import TriggerProtocol

extension RunEngine {
    /// What an execution needs besides the run: the event, the job, the environment and the endpoint.
    struct ExecutionContext: Sendable {
        let runId: UUID
        let versionId: UUID
        let status: RunStatus
        let isTest: Bool
        let executionCount: Int
        let executionFailures: Int
        let queueId: UUID
        let concurrency: Int
        let event: EventRecord
        let jobSlug: String
        let version: String
        let endpointURL: String
        let endpointDeleted: Bool
        let apiKey: String
        let environmentId: UUID
        let environmentSlug: String
        let environmentType: String
        let organizationId: UUID
        let organizationTitle: String
        let organizationSlug: String
        let projectId: UUID
        let projectSlug: String
        let projectName: String
        let endpointId: UUID
        let endpointVersion: String
        let runChunkExecutionLimit: Int
        let yieldedExecutions: [String]

        var runProtocol: RunProtocol { RunProtocol(endpointVersion: endpointVersion) }
    }

    /// Loads a run with its context (its event included, in the same statement), locking the run row
    /// on PostgreSQL.
    func executionContext(runId: UUID, in tx: any Transaction) async throws -> ExecutionContext? {
        let lock = tx.dialect == .postgres ? " FOR UPDATE OF r" : ""
        guard let row = try await tx.queryFirst("""
            SELECT r.version_id, r.status AS run_status, r.is_test AS run_is_test, r.execution_count, r.execution_failures, r.queue_id, q.max_jobs,
                   j.slug AS job_slug, v.version AS job_version, e.url AS endpoint_url, e.deleted_at AS endpoint_deleted_at,
                   env.api_key, env.slug AS environment_slug, env.type AS environment_type,
                   o.id AS organization_id, o.title AS organization_title, o.slug AS organization_slug,
                   p.id AS project_id, p.slug AS project_slug, p.name AS project_name, r.yielded_executions,
                   e.id AS endpoint_id, e.version AS endpoint_version, e.run_chunk_execution_limit,
                   \(unsafeRaw: qualifiedColumns(EventRecord.columns, alias: "ev"))
            FROM job_runs r
            JOIN jobs j ON j.id = r.job_id
            JOIN job_versions v ON v.id = r.version_id
            JOIN job_queues q ON q.id = r.queue_id
            JOIN endpoints e ON e.id = r.endpoint_id
            JOIN runtime_environments env ON env.id = r.environment_id
            JOIN organizations o ON o.id = r.organization_id
            JOIN projects p ON p.id = r.project_id
            JOIN event_records ev ON ev.id = r.event_id
            WHERE r.id = \(runId)\(unsafeRaw: lock)
            """) else { return nil }
        let event = try EventRecord(row: row)
        return ExecutionContext(
            runId: runId, versionId: try row.decode("version_id"), status: try row.enumeration("run_status"), isTest: try row.decode("run_is_test"),
            executionCount: try row.decode("execution_count"), executionFailures: try row.decode("execution_failures"),
            queueId: try row.decode("queue_id"), concurrency: max(1, try row.decodeIfPresent("max_jobs") ?? configuration.defaultQueueConcurrency),
            event: event, jobSlug: try row.decode("job_slug"), version: try row.decode("job_version"), endpointURL: try row.decode("endpoint_url"),
            endpointDeleted: try row.decodeIfPresent("endpoint_deleted_at", as: Date.self) != nil, apiKey: try row.decode("api_key"),
            environmentId: event.environmentId, environmentSlug: try row.decode("environment_slug"),
            environmentType: try row.decode("environment_type"), organizationId: try row.decode("organization_id"),
            organizationTitle: try row.decode("organization_title"), organizationSlug: try row.decode("organization_slug"),
            projectId: try row.decode("project_id"), projectSlug: try row.decode("project_slug"), projectName: try row.decode("project_name"),
            endpointId: try row.decode("endpoint_id"), endpointVersion: try row.decode("endpoint_version"),
            runChunkExecutionLimit: try row.decode("run_chunk_execution_limit"),
            yieldedExecutions: (try row.json("yielded_executions"))?.arrayValue?.compactMap(\.stringValue) ?? [])
    }

    /// What came back from one EXECUTE_JOB.
    enum ExecutionOutcome: Sendable {
        case answer(RunJobResponse)
        /// Worth another try later: transport failure, timeout, 5xx, 408, 429.
        case retryable(String)
        /// Final: a 4xx, a body that is not JSON, an answer that does not fit the schema. `output` is the
        /// run's output: `{message}`, or the endpoint's own error object.
        case failed(JSONValue)
        /// A serverless platform cut the execution off after `elapsed`.
        case platformTimeout(elapsed: Duration)

        static func failed(_ message: String) -> ExecutionOutcome { .failed(["message": .string(message)]) }
    }

    // MARK: The performRunExecution task

    /// One execution of a run (docs/spec/trigger-v2-runs.md §2.3): flip the resumed task, EXECUTE_JOB, then record the answer
    /// and queue what comes next, in one transaction. An execution whose run was canceled or moved on
    /// meanwhile changes nothing. A crash anywhere makes the queue run the execution again; the SDK's
    /// replay and the idempotent task routes make that safe.
    func performExecution(_ payload: ExecutionPayload, context job: JobContext) async throws {
        let now = self.now()
        let started = ContinuousClock.now
        // 1. Begin: the run is EXECUTING and this execution has a number.
        guard let (context, body, number) = try await database.transaction({ tx -> (ExecutionContext, [UInt8], Int)? in
            guard let context = try await self.executionContext(runId: payload.runId, in: tx), !context.status.isFinished else { return nil }
            if context.endpointDeleted {
                try await self.finish(runId: context.runId, status: .failure, output: ["message": "The endpoint of this job was deleted"], now: now, in: tx)
                return nil
            }
            if let taskId = payload.resumeTaskId {
                // A wait that is over completes; a task due for a retry runs again.
                try await tx.query("""
                    UPDATE tasks SET status = CASE WHEN noop THEN 'COMPLETED' ELSE 'RUNNING' END,
                                     completed_at = CASE WHEN noop THEN \(now) ELSE completed_at END, updated_at = \(now)
                    WHERE id = \(taskId) AND run_id = \(context.runId) AND status = 'WAITING'
                    """)
            }
            if context.executionCount >= Self.maximumExecutions {
                try await self.finish(runId: context.runId, status: .failure, output: [
                    "message": .string("The run was executed \(Self.maximumExecutions) times without finishing (the limit of executions per run)")], now: now, in: tx)
                return nil
            }
            guard let row = try await tx.queryFirst("""
                UPDATE job_runs SET status = 'EXECUTING', started_at = COALESCE(started_at, \(now)), execution_count = execution_count + 1,
                                    updated_at = \(now)
                WHERE id = \(context.runId) RETURNING execution_count
                """) else { return nil }
            let number: Int = try row.decode("execution_count")
            if number == 1 { self.metrics.firstExecutionLag(now.timeIntervalSince(context.event.createdAt)) }
            var body: RunJobBody
            switch context.runProtocol {
            case .unversioned:
                let tasks = try await tx.query("""
                    SELECT id, idempotency_key, status, noop, output, parent_id FROM tasks
                    WHERE run_id = \(context.runId) AND (status = 'COMPLETED' OR id = \(payload.resumeTaskId ?? ""))
                    ORDER BY created_at, id
                    """).map { row in
                    CachedTask(id: try row.decode("id"), idempotencyKey: try row.decode("idempotency_key"), status: try row.decode("status"),
                               noop: try row.decode("noop"), output: try row.json("output"), parentId: try row.decodeIfPresent("parent_id"))
                }
                body = Self.runJobBody(context, tasks: tasks, startedAt: now)
            case .lazyCachedTasks:
                let cached = try await self.cachedTasks(runId: context.runId, after: nil, limit: Self.cachedTasksBodyLimit, in: tx)
                body = Self.runJobBody(context, tasks: cached.tasks, startedAt: now, later: (cached.cursor, cached.noop))
            }
            do {
                body.connections = try await self.integrations.connections(versionId: context.versionId, environmentId: context.environmentId, in: tx)
                    .mapValues { try JSONValue(encoding: $0) }
            } catch let error as IntegrationError {
                try await self.finish(runId: context.runId, status: .failure, output: ["message": .string("The job's integration credentials cannot be read: \(error)")],
                                      now: now, in: tx)
                return nil
            }
            return (context, try JSONValue(encoding: body).jsonBytes(), number)
        }) else { return }

        // 2. The call: the job's code runs inside it and calls back into the task routes.
        var logger = job.logger
        logger[metadataKey: "run_id"] = "\(context.runId.lowercasedString)"
        logger[metadataKey: "execution"] = "\(number)"
        let (outcome, info) = await execute(url: context.endpointURL, apiKey: context.apiKey, body: body, environmentType: context.environmentType,
                                            protocol: context.runProtocol)

        // 3. The answer, recorded once, with the next step queued in the same transaction.
        let finished = self.now()
        let label = try await database.transaction { tx -> String in
            guard let current = try await self.executionContext(runId: context.runId, in: tx),
                  current.status == .executing, current.executionCount == number else { return "superseded" }
            // The endpoint reports its version on every answer: an app upgraded to SDK 2.3 speaks the later protocol from its next execution.
            if let version = info?.triggerVersion, version != current.endpointVersion {
                try await tx.query("""
                    UPDATE endpoints SET version = \(version), sdk_version = COALESCE(\(info?.triggerSdkVersion), sdk_version), updated_at = \(finished)
                    WHERE id = \(current.endpointId)
                    """)
            }
            return try await self.record(outcome, context: current, resumeTaskId: payload.resumeTaskId, now: finished, in: tx)
        }
        metrics.execution(outcome: label, duration: ContinuousClock.now - started)
        logger.debug("execution finished", metadata: ["outcome": "\(label)"])
    }

    /// The EXECUTE_JOB body; `later` (the lazy-loading cursor and the noop set) makes it the
    /// 2023-09-29 body of PerformRunExecutionV3's `createExecutionBody`.
    static func runJobBody(_ context: ExecutionContext, tasks: [CachedTask], startedAt: Date,
                           later: (cursor: String?, noop: NoopTaskSet)? = nil) -> RunJobBody {
        let event = context.event
        var source: RunJobBody.Source? = nil
        if let sourceContext = event.sourceContext, let id = sourceContext["id"]?.stringValue {
            source = RunJobBody.Source(id: id, metadata: sourceContext["metadata"])
        }
        var eventLog = ApiEventLog(id: event.eventId, name: event.name, payload: event.payload, context: event.context,
                                   timestamp: event.timestamp, deliverAt: event.deliverAt, deliveredAt: event.deliveredAt)
        eventLog.includesCancelledAt = later != nil
        var run = RunJobBody.Run(id: context.runId, isTest: context.isTest, startedAt: startedAt)
        if later != nil { run.isRetry = false }
        var body = RunJobBody(
            event: eventLog, job: .init(slug: context.jobSlug, version: context.version), run: run,
            environment: .init(id: context.environmentId, slug: context.environmentSlug, type: context.environmentType),
            organization: .init(id: context.organizationId, title: context.organizationTitle, slug: context.organizationSlug),
            source: source, tasks: tasks)
        if let later {
            body.project = .init(id: context.projectId, slug: context.projectSlug, name: context.projectName)
            body.cachedTaskCursor = later.cursor
            body.noopTasksSet = later.noop.base64
            body.yieldedExecutions = context.yieldedExecutions
            body.runChunkExecutionLimit = context.runChunkExecutionLimit - runChunkMargin
            body.autoYieldConfig = .init()
        }
        return body
    }

    /// POSTs EXECUTE_JOB and sorts what came back into an outcome.
    func execute(url: String, apiKey: String, body: [UInt8], environmentType: String, protocol runProtocol: RunProtocol)
        async -> (ExecutionOutcome, EndpointResponseInfo?) {
        let status: Int, answer: ByteBuffer, info: EndpointResponseInfo
        let started = ContinuousClock.now
        do {
            (status, answer, info) = try await client.executeJob(url: url, apiKey: apiKey, body: body, environmentType: environmentType)
        } catch let error as EndpointCallError {
            switch error.kind {
            case .tooLarge, .invalidURL, .refusedAddress, .redirect: return (.failed(error.message), nil)
            default: return (.retryable(error.message), nil)
            }
        } catch {
            return (.retryable("Could not connect to the endpoint: \(error)"), nil)
        }
        let json = try? JSONValue.parse(Data(answer.readableBytesView))
        guard (200..<300).contains(status) else {
            if runProtocol == .lazyCachedTasks {
                if info.platformTimeout { return (.platformTimeout(elapsed: ContinuousClock.now - started), info) }
                // The later webapp's rule: a 4xx that is the SDK's own error answer fails the run with it.
                if (400..<500).contains(status), status != 408, status != 429, let json, (try? ErrorWithStack.decode(json)) != nil {
                    return (.failed(json), info)
                }
            }
            // The SDK's own errors: 404 {"message":"Job not found"}, 401 {"message":"Unauthorized"}, …
            let said = json?["message"]?.stringValue ?? json?["error"]?.stringValue
            let message = "Endpoint responded with \(status) status code" + (said.map { ": \($0)" } ?? "")
            return (status >= 500 || status == 408 || status == 429 ? .retryable(message) : .failed(message), info)
        }
        guard let json else { return (.failed("Endpoint responded with invalid JSON: \(Self.excerpt(answer))"), info) }
        do {
            let answer = try RunJobResponse.decode(json)
            // A later variant from an endpoint that reported no later protocol (in this answer or before) is not trusted to be one.
            let spoken = info.triggerVersion.map(RunProtocol.init(endpointVersion:)) ?? runProtocol
            if spoken == .unversioned, !answer.isUnversioned {
                return (.failed("Endpoint answered EXECUTE_JOB with status \(answer.status), which belongs to the 2023-09-29 run protocol of SDK 2.3, "
                                + "but the endpoint reported no trigger-version (SDK 2.0)"), info)
            }
            return (.answer(answer), info)
        } catch let error as ValidationError {
            return (.failed("Endpoint responded with an invalid EXECUTE_JOB answer (\(error.message(prefix: "Validation error"))): \(Self.excerpt(answer))"), info)
        } catch {
            return (.failed("Endpoint responded with an invalid EXECUTE_JOB answer: \(Self.excerpt(answer))"), info)
        }
    }

    static func excerpt(_ buffer: ByteBuffer) -> String {
        let text = String(decoding: buffer.readableBytesView.prefix(300), as: UTF8.self)
        return buffer.readableBytes > 300 ? text + "…" : text
    }

    /// Records an execution's outcome on its run; returns a label for metrics and logs.
    func record(_ outcome: ExecutionOutcome, context: ExecutionContext, resumeTaskId: String?, now: Date, in tx: any Transaction) async throws -> String {
        switch outcome {
        case .retryable(let message):
            let failures = context.executionFailures + 1
            guard failures <= configuration.executionRetries else {
                try await finish(runId: context.runId, status: .failure, output: ["message": .string(message)], now: now, in: tx)
                return "failed"
            }
            let delay = configuration.executionRetryBase * pow(1.5, Double(failures - 1))
            try await tx.query("""
                UPDATE job_runs SET status = 'WAITING_TO_EXECUTE', execution_failures = \(failures), updated_at = \(now) WHERE id = \(context.runId)
                """)
            try await enqueueExecution(runId: context.runId, environmentId: context.environmentId, resumeTaskId: resumeTaskId, queueId: context.queueId, concurrency: context.concurrency,
                                       runAt: now.addingTimeInterval(delay), in: tx)
            return "retry"
        case .failed(let output):
            try await finish(runId: context.runId, status: .failure, output: output, now: now, in: tx)
            return "failed"
        case .platformTimeout(let elapsed):
            // Run again with a budget the platform allows: what the execution got before it was cut
            // off, less two seconds for the SDK to answer (never below ten seconds).
            let limit = max(10_000, min(context.runChunkExecutionLimit, Int(elapsed.seconds * 1000)) - 2_000)
            try await tx.query("UPDATE endpoints SET run_chunk_execution_limit = \(limit), updated_at = \(now) WHERE id = \(context.endpointId)")
            try await continueRun(context, resumeTaskId: nil, runAt: nil, now: now, in: tx)
            return "platform_timeout"
        case .answer(.success(let output)):
            try await finish(runId: context.runId, status: .success, output: output, now: now, in: tx)
            return "success"
        case .answer(.error(let error, let task)):
            if let task {
                try await tx.query("""
                    UPDATE tasks SET status = 'ERRORED', output = \(SQLJSON(error.json)), error = \(error.message), completed_at = \(now), updated_at = \(now)
                    WHERE id = \(task.id) AND run_id = \(context.runId) AND status NOT IN ('COMPLETED', 'ERRORED', 'CANCELED')
                    """)
            }
            try await finish(runId: context.runId, status: .failure, output: error.json, now: now, in: tx)
            return "error"
        case .answer(.resumeWithTask(let ref)):
            guard let task = try await storedTask(ref.id, runId: context.runId, in: tx) else {
                try await finish(runId: context.runId, status: .failure, output: ["message": .string("The endpoint resumed with task \(ref.id), which is not a task of this run")], now: now, in: tx)
                return "failed"
            }
            if let operation = task.operation ?? ref.operation {
                try await finish(runId: context.runId, status: .failure,
                                 output: ["message": .string("Task \"\(task.name)\" needs the server-side operation \"\(operation)\" (io.backgroundFetch), which Kongflow does not perform yet")],
                                 now: now, in: tx)
                return "failed"
            }
            let runAt = task.status == .waiting ? task.delayUntil.flatMap { $0 > now ? $0 : nil } : nil
            try await continueRun(context, resumeTaskId: task.id, runAt: runAt, now: now, in: tx)
            return "resume"
        case .answer(.retryWithTask(let ref, let error, let retryAt)):
            guard let task = try await storedTask(ref.id, runId: context.runId, in: tx) else {
                try await finish(runId: context.runId, status: .failure, output: ["message": .string("The endpoint retried task \(ref.id), which is not a task of this run")], now: now, in: tx)
                return "failed"
            }
            // The attempt that failed, and the next one, due at `retryAt`.
            try await tx.query("""
                UPDATE task_attempts SET status = 'ERRORED', error = \(error.formatted), updated_at = \(now)
                WHERE task_id = \(task.id) AND number = (SELECT MAX(number) FROM task_attempts WHERE task_id = \(task.id) AND status = 'PENDING')
                """)
            try await tx.query("""
                INSERT INTO task_attempts (task_id, number, status, error, run_at, created_at, updated_at)
                VALUES (\(task.id), (SELECT COALESCE(MAX(number), 0) + 1 FROM task_attempts WHERE task_id = \(task.id)), 'PENDING', NULL, \(retryAt), \(now), \(now))
                """)
            try await tx.query("""
                UPDATE tasks SET status = 'WAITING', attempts = attempts + 1, updated_at = \(now) WHERE id = \(task.id)
                """)
            try await continueRun(context, resumeTaskId: task.id, runAt: retryAt > now ? retryAt : nil, now: now, in: tx)
            return "retry_task"
        case .answer(.yieldExecution(let key)):
            let yielded = JSONValue.array((context.yieldedExecutions + [key]).map(JSONValue.string))
            try await tx.query("UPDATE job_runs SET yielded_executions = \(SQLJSON(yielded)) WHERE id = \(context.runId)")
            try await continueRun(context, resumeTaskId: nil, runAt: nil, now: now, in: tx)
            return "yield"
        case .answer(.autoYield):
            try await continueRun(context, resumeTaskId: nil, runAt: nil, now: now, in: tx)
            return "auto_yield"
        case .answer(.autoYieldWithCompletedTask(let taskId, let output, _, _)):
            let parsed = output.flatMap { $0.isEmpty ? nil : try? JSONValue.parse($0) }
            try await tx.query("""
                UPDATE task_attempts SET status = 'COMPLETED', updated_at = \(now)
                WHERE task_id = \(taskId) AND number = (SELECT MAX(number) FROM task_attempts WHERE task_id = \(taskId) AND status = 'PENDING')
                  AND EXISTS (SELECT 1 FROM tasks WHERE id = \(taskId) AND run_id = \(context.runId) AND status NOT IN ('COMPLETED', 'ERRORED', 'CANCELED'))
                """)
            try await tx.query("""
                UPDATE tasks SET status = 'COMPLETED', output = \(parsed.map(SQLJSON.init)), completed_at = \(now), updated_at = \(now)
                WHERE id = \(taskId) AND run_id = \(context.runId) AND status NOT IN ('COMPLETED', 'ERRORED', 'CANCELED')
                """)
            try await continueRun(context, resumeTaskId: nil, runAt: nil, now: now, in: tx)
            return "auto_yield"
        case .answer(.autoYieldRateLimit(let reset)):
            try await continueRun(context, resumeTaskId: nil, runAt: reset > now ? reset : nil, now: now, in: tx)
            return "rate_limited"
        case .answer(.canceled):
            try await finish(runId: context.runId, status: .canceled, output: nil, now: now, in: tx)
            return "canceled"
        case .answer(.unresolvedAuthError(let issues)):
            try await finish(runId: context.runId, status: .failure, output: [
                "message": "UNRESOLVED_AUTH_ERROR: the endpoint could not get auth for the job's integrations", "issues": issues], now: now, in: tx)
            return "unresolved_auth"
        case .answer(.invalidPayload(let errors)):
            try await finish(runId: context.runId, status: .failure, output: [
                "message": "INVALID_PAYLOAD: the event's payload does not match the job's schema", "errors": errors], now: now, in: tx)
            return "invalid_payload"
        case .answer(.resumeWithParallelTask(let ref)):
            try await finish(runId: context.runId, status: .failure, output: ["message": .string(
                "RESUME_WITH_PARALLEL_TASK: task \(ref.id) runs its subtasks in parallel, which Kongflow does not support yet")], now: now, in: tx)
            return "unsupported"
        }
    }

    func storedTask(_ id: String, runId: UUID, in tx: any Transaction) async throws -> RunTask? {
        try await tx.queryFirst("SELECT \(unsafeRaw: RunTask.columns) FROM tasks WHERE id = \(id) AND run_id = \(runId)").map(RunTask.init)
    }

    /// The run waits for its next execution, due at `runAt` (now when nil).
    func continueRun(_ context: ExecutionContext, resumeTaskId: String?, runAt: Date?, now: Date, in tx: any Transaction) async throws {
        try await tx.query("""
            UPDATE job_runs SET status = 'WAITING_TO_CONTINUE', execution_failures = 0, updated_at = \(now) WHERE id = \(context.runId)
            """)
        try await enqueueExecution(runId: context.runId, environmentId: context.environmentId, resumeTaskId: resumeTaskId, queueId: context.queueId, concurrency: context.concurrency,
                                   runAt: runAt, in: tx)
    }

    /// Ends a run (once: a finished run is left as it is).
    func finish(runId: UUID, status: RunStatus, output: JSONValue?, now: Date, in tx: any Transaction) async throws {
        let updated = try await tx.query("""
            UPDATE job_runs SET status = \(status.rawValue), output = \(output.map(SQLJSON.init)), completed_at = \(now), updated_at = \(now)
            WHERE id = \(runId) AND status NOT IN ('SUCCESS', 'FAILURE', 'CANCELED', 'TIMED_OUT')
            RETURNING id
            """)
        if !updated.isEmpty { metrics.finished(status) }
    }

    // MARK: Cancel

    /// Cancels a run that has not finished: its pending execution becomes a no-op and its waiting
    /// tasks are canceled. A finished run is returned as it is.
    public func cancel(runId: UUID, environment: AuthenticatedEnvironment) async throws -> JobRun {
        let now = self.now()
        try await database.transaction { tx in
            guard try await tx.queryFirst("SELECT id FROM job_runs WHERE id = \(runId) AND environment_id = \(environment.id)") != nil else {
                throw RunServiceError.runNotFound
            }
            try await self.finish(runId: runId, status: .canceled, output: nil, now: now, in: tx)
            try await tx.query("""
                UPDATE tasks SET status = 'CANCELED', completed_at = \(now), updated_at = \(now) WHERE run_id = \(runId) AND status = 'WAITING'
                """)
        }
        return try await run(id: runId, environment: environment)
    }
}
