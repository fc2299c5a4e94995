import Foundation
import JSON
import Storage
import Tenancy

extension RunEngine {
    public func run(id: UUID, environment: AuthenticatedEnvironment) async throws -> JobRun {
        guard let run = try await database.queryFirst("""
            SELECT \(unsafeRaw: JobRun.columns) FROM \(unsafeRaw: JobRun.joins) WHERE r.id = \(id) AND r.environment_id = \(environment.id)
            """).map(JobRun.init) else { throw RunServiceError.runNotFound }
        return run
    }

    func run(idempotencyKey: String, environment: AuthenticatedEnvironment) async throws -> JobRun? {
        try await database.queryFirst("""
            SELECT \(unsafeRaw: JobRun.columns) FROM \(unsafeRaw: JobRun.joins)
            WHERE r.environment_id = \(environment.id) AND r.idempotency_key = \(idempotencyKey)
            """).map(JobRun.init)
    }

    /// A run's tasks in creation order (parents before their children).
    public func tasks(runId: UUID) async throws -> [RunTask] {
        try await database.query("SELECT \(unsafeRaw: RunTask.columns) FROM tasks WHERE run_id = \(runId) ORDER BY created_at, id").map(RunTask.init)
    }

    /// A run with its event, for the run pages.
    public func event(of run: JobRun) async throws -> EventRecord? {
        try await database.queryFirst("SELECT \(unsafeRaw: EventRecord.columns) FROM event_records WHERE id = \(run.eventId)").map(EventRecord.init)
    }

    /// Runs of the environment, newest first, optionally of one job and/or status; `before` is the id
    /// of the last run of the previous page.
    public func runs(environment: AuthenticatedEnvironment, jobSlug: String? = nil, status: RunStatus? = nil,
                     limit: Int = 20, before: UUID? = nil) async throws -> [JobRun] {
        var query: SQLQuery = "SELECT \(unsafeRaw: JobRun.columns) FROM \(unsafeRaw: JobRun.joins) WHERE r.environment_id = \(environment.id)"
        if let jobSlug {
            guard try await database.queryFirst("SELECT id FROM jobs WHERE project_id = \(environment.project.id) AND slug = \(jobSlug)") != nil else {
                throw RunServiceError.jobNotFound
            }
            query = query + " AND j.slug = \(jobSlug) AND j.project_id = \(environment.project.id)"
        }
        if let status { query = query + " AND r.status = \(status.rawValue)" }
        if let before {
            guard let cursor = try await database.queryFirst("SELECT created_at FROM job_runs WHERE id = \(before) AND environment_id = \(environment.id)") else {
                throw RunServiceError.invalidInput("Invalid cursor")
            }
            let createdAt: Date = try cursor.decode("created_at")
            query = query + " AND (r.created_at < \(createdAt) OR (r.created_at = \(createdAt) AND r.id < \(before)))"
        }
        return try await database.query(query + " ORDER BY r.created_at DESC, r.id DESC LIMIT \(limit)").map(JobRun.init)
    }

    /// Runs by status in this environment, for metrics and the dashboard.
    public func runCounts(environmentId: UUID? = nil) async throws -> [RunStatus: Int] {
        var query: SQLQuery = "SELECT status, COUNT(*) AS n FROM job_runs"
        if let environmentId { query = query + " WHERE environment_id = \(environmentId)" }
        var counts: [RunStatus: Int] = [:]
        for row in try await database.query(query + " GROUP BY status") {
            if let status = RunStatus(rawValue: try row.decode("status")) { counts[status] = try row.decode("n") }
        }
        return counts
    }
}
