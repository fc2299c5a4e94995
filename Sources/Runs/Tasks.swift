import Foundation
import JSON
import Storage
import Tenancy
import TriggerProtocol

extension RunEngine {
    // MARK: POST /api/v1/runs/:runId/tasks

    /// `io.runTask` (and logs, waits, sendEvent): insert-or-return on `(run, idempotency key)`, safe
    /// against concurrent duplicates. A known key returns the stored task whatever its status; a
    /// replayed wait's new `delayUntil` is ignored (docs/spec/trigger-v2-runs.md §1.3, §11.1).
    public func runTask(runId: UUID, idempotencyKey: String, body: RunTaskBody, environment: AuthenticatedEnvironment) async throws -> RunTask {
        guard !idempotencyKey.isEmpty, idempotencyKey.count <= 256 else { throw RunServiceError.invalidInput("Invalid or Missing idempotency key") }
        let now = self.now()
        let fresh: TaskStatus = (body.delayUntil.map { $0 > now } ?? false) || (body.trigger != nil && body.trigger != .null)
            ? .waiting : body.noop ? .completed : .running
        let id = ids.next(now: now)
        return try await database.transaction { tx in
            guard let run = try await tx.queryFirst("SELECT status FROM job_runs WHERE id = \(runId) AND environment_id = \(environment.id)") else {
                throw RunServiceError.runNotFound
            }
            if let existing = try await self.task(runId: runId, idempotencyKey: idempotencyKey, in: tx) { return existing }
            // A task started in a canceled run is CANCELED: SDK 2.3 then stops the job and answers CANCELED.
            let status: TaskStatus = try run.enumeration("status") as RunStatus == .canceled ? .canceled : fresh
            if let parentId = body.parentId,
               try await tx.queryFirst("SELECT id FROM tasks WHERE id = \(parentId) AND run_id = \(runId)") == nil {
                throw RunServiceError.invalidInput("Parent task \(parentId) is not a task of run \(runId.lowercasedString)")
            }
            let style = body.style.map { try? JSONValue(encoding: $0) } ?? ["style": "normal"]
            guard let inserted = try await tx.queryFirst("""
                INSERT INTO tasks (id, run_id, parent_id, idempotency_key, display_key, name, icon, status, noop, delay_until, description,
                                   properties, params, output, error, redact, style, operation, attempts, started_at, completed_at, created_at, updated_at)
                VALUES (\(id), \(runId), \(body.parentId), \(idempotencyKey), \(body.displayKey), \(body.name), \(body.icon), \(status.rawValue),
                        \(body.noop), \(body.delayUntil), \(body.description), \(body.properties.map(SQLJSON.init)),
                        \(body.params.flatMap { $0 == .null ? nil : SQLJSON($0) }), NULL, NULL, \(body.redact.map(SQLJSON.init)),
                        \(style.map(SQLJSON.init)), \(body.operation), 1, \(now), \(status == .completed ? now : nil), \(now), \(now))
                ON CONFLICT (run_id, idempotency_key) DO NOTHING
                RETURNING \(unsafeRaw: RunTask.columns)
                """).map(RunTask.init) else {
                // Another request with this key won the race; its task is the answer.
                guard let existing = try await self.task(runId: runId, idempotencyKey: idempotencyKey, in: tx) else { throw RunServiceError.taskNotFound }
                return existing
            }
            try await tx.query("""
                INSERT INTO task_attempts (task_id, number, status, error, run_at, created_at, updated_at)
                VALUES (\(id), 1, 'PENDING', NULL, NULL, \(now), \(now))
                """)
            return inserted
        }
    }

    func task(runId: UUID, idempotencyKey: String, in executor: any SQLExecutor) async throws -> RunTask? {
        try await executor.queryFirst("""
            SELECT \(unsafeRaw: RunTask.columns) FROM tasks WHERE run_id = \(runId) AND idempotency_key = \(idempotencyKey)
            """).map(RunTask.init)
    }

    // MARK: complete / fail

    /// The task's callback returned: COMPLETED with `output`. A finished task is returned unchanged.
    /// Unlike upstream, a falsy output is kept as sent (absent is null), not turned into `{}`.
    public func completeTask(runId: UUID, taskId: String, output: JSONValue?, environment: AuthenticatedEnvironment) async throws -> RunTask {
        let outputJSON = output.map { $0.jsonString() }
        if let outputJSON, outputJSON.utf8.count > configuration.maximumPayloadBytes {
            return try await failTask(runId: runId, taskId: taskId, error: ErrorWithStack(
                message: "Task output is too large: \(outputJSON.utf8.count) bytes, the limit is \(configuration.maximumPayloadBytes)"),
                environment: environment)
        }
        return try await settle(runId: runId, taskId: taskId, environment: environment) { tx, now in
            try await tx.query("""
                UPDATE task_attempts SET status = 'COMPLETED', updated_at = \(now)
                WHERE task_id = \(taskId) AND number = (SELECT MAX(number) FROM task_attempts WHERE task_id = \(taskId) AND status = 'PENDING')
                """)
            return try await tx.queryFirst("""
                UPDATE tasks SET status = 'COMPLETED', output = \(outputJSON.map(SQLJSON.init)), completed_at = \(now), updated_at = \(now)
                WHERE id = \(taskId) RETURNING \(unsafeRaw: RunTask.columns)
                """)
        }
    }

    /// The task's callback threw and the SDK will not retry it: ERRORED, the error object as its
    /// output (as upstream) and its message as `error`, so that a replay throws the real message
    /// instead of upstream's "Task errored".
    public func failTask(runId: UUID, taskId: String, error: ErrorWithStack, environment: AuthenticatedEnvironment) async throws -> RunTask {
        try await settle(runId: runId, taskId: taskId, environment: environment) { tx, now in
            try await tx.query("""
                UPDATE task_attempts SET status = 'ERRORED', error = \(error.formatted), updated_at = \(now)
                WHERE task_id = \(taskId) AND number = (SELECT MAX(number) FROM task_attempts WHERE task_id = \(taskId) AND status = 'PENDING')
                """)
            return try await tx.queryFirst("""
                UPDATE tasks SET status = 'ERRORED', output = \(SQLJSON(error.json)), error = \(error.message), completed_at = \(now), updated_at = \(now)
                WHERE id = \(taskId) RETURNING \(unsafeRaw: RunTask.columns)
                """)
        }
    }

    /// Finds the run's task in this environment (404 otherwise) and applies `change` unless it has finished.
    private func settle(runId: UUID, taskId: String, environment: AuthenticatedEnvironment,
                        _ change: @escaping @Sendable (any Transaction, Date) async throws -> SQLRow?) async throws -> RunTask {
        let now = self.now()
        return try await database.transaction { tx in
            let lock = tx.dialect == .postgres ? " FOR UPDATE OF t" : ""
            guard let task = try await tx.queryFirst("""
                SELECT \(unsafeRaw: qualifiedColumns(RunTask.columns, alias: "t"))
                FROM tasks t JOIN job_runs r ON r.id = t.run_id
                WHERE t.id = \(taskId) AND t.run_id = \(runId) AND r.environment_id = \(environment.id)\(unsafeRaw: lock)
                """).map(RunTask.init) else { throw RunServiceError.taskNotFound }
            if task.status.isFinished { return task }
            guard let row = try await change(tx, now) else { throw RunServiceError.taskNotFound }
            return try RunTask(row: row)
        }
    }
}
