import Foundation
import JSON
import Storage

/// The queue on PostgreSQL, where many processes claim at once. Each operation is one statement:
/// claims lock queue rows and jobs with `FOR UPDATE SKIP LOCKED`, so claimers pass each other
/// instead of waiting or taking the same job; the wake-up (`pg_notify`) rides in the insert, and is
/// delivered only if the surrounding transaction commits.
public struct PostgresQueueDriver: QueueDriver {
    public let database: any Database
    public var rowLock: String { " FOR UPDATE" }

    public init(database: any Database) {
        self.database = database
    }

    public func insert(_ jobs: [NewJobRow], now: Date, in tx: any Transaction) async throws -> [Int64] {
        guard !jobs.isEmpty else { return [] }
        var ids: [Int64] = []
        ids.reserveCapacity(jobs.count)
        for start in stride(from: 0, to: jobs.count, by: 1_000) {
            let chunk = Array(jobs[start..<min(start + 1_000, jobs.count)])
            // Queue rows and the wake-up once, with the first chunk.
            let queues = start == 0 ? Self.queueUpserts(jobs, now: now) : []
            let statement = chunk.count == 1
                ? insertStatement(chunk, queues: queues, notify: start == 0, now: now)
                : insertSetStatement(chunk, queues: queues, notify: start == 0, now: now)
            // One statement assigns ids in row order, so sorted ids line up with the rows.
            ids += try await tx.query(statement).map { try $0.decode("id", as: Int64.self) }.sorted()
        }
        return ids
    }

    public func insertCommitted(_ job: NewJobRow, now: Date) async throws -> Int64 {
        guard let row = try await database.queryFirst(insertStatement([job], queues: Self.queueUpserts([job], now: now), notify: true, now: now)) else {
            throw StorageError.queryFailed("insert returned no row")
        }
        return try row.decode("id")
    }

    /// The jobs, their queues and the wake-up in one statement: one round trip on the path that
    /// decides enqueue-to-start latency.
    func insertStatement(_ jobs: [NewJobRow], queues: [SQLQuery], notify: Bool, now: Date) -> SQLQuery {
        withQueuesAndWakeUp(queues: queues, notify: notify, insert: """
            INSERT INTO kongflow_jobs (\(unsafeRaw: Self.insertColumns))
            VALUES \(SQLQuery.joined(jobs.map { Self.values($0, now: now) }))
            RETURNING id
            """)
    }

    /// Many jobs as one JSON document, one bind: binding 12 values a row was most of a batch's cost
    /// (each encoded by the driver, then parsed by the server), as pgqueuer's UNNEST of arrays shows.
    /// Rows are inserted in the document's order, so ids come out in that order.
    func insertSetStatement(_ jobs: [NewJobRow], queues: [SQLQuery], notify: Bool, now: Date) -> SQLQuery {
        var document = "["
        document.reserveCapacity(jobs.count * 160)
        for (offset, job) in jobs.enumerated() {
            if offset > 0 { document += "," }
            let runAt = Int64((job.runAt.timeIntervalSince1970 * 1_000_000).rounded())
            document += #"{"task":\#(JSONValue.string(job.task).jsonString()),"queue":\#(job.queueName.map { JSONValue.string($0).jsonString() } ?? "null"),"#
            document += #""payload":\#(job.payload.text),"priority":\#(job.priority),"run_at_us":\#(runAt),"max_attempts":\#(job.maxAttempts),"#
            document += #""scope":\#(job.scope.map { JSONValue.string($0).jsonString() } ?? "null")}"#
        }
        document += "]"
        return withQueuesAndWakeUp(queues: queues, notify: notify, insert: """
            INSERT INTO kongflow_jobs (\(unsafeRaw: Self.insertColumns))
            SELECT r.task, r.queue, r.payload, r.priority, timestamptz 'epoch' + r.run_at_us * interval '1 microsecond', 0, r.max_attempts,
                   NULL, 0, \(now), \(now), r.scope
            FROM jsonb_array_elements(\(SQLJSON(document))) WITH ORDINALITY AS e(job, n)
            CROSS JOIN LATERAL jsonb_to_record(e.job) AS r(task text, queue text, payload jsonb, priority int, run_at_us bigint, max_attempts int, scope text)
            ORDER BY e.n
            RETURNING id
            """)
    }

    /// `insert` (which returns `id`) after the queue upserts, with the workers' wake-up, as one statement.
    private func withQueuesAndWakeUp(queues: [SQLQuery], notify: Bool, insert: SQLQuery) -> SQLQuery {
        var ctes: [SQLQuery] = queues.enumerated().map { "queue_\(unsafeRaw: String($0.offset)) AS (\($0.element))" }
        ctes.append("inserted AS (\(insert))")
        let notified: SQLQuery = notify ? ", (SELECT pg_notify(\(JobQueue.notificationChannel), '')) AS notified" : ""
        return "WITH \(SQLQuery.joined(ctes)) SELECT id FROM inserted\(notified)"
    }

    public func claim(workerId: String, limit: Int, now: Date) async throws -> [Job] {
        guard limit > 0 else { return [] }
        // A queue row is locked only while this statement runs. Its `running` is read after the lock,
        // so a claimer that committed in the meantime is counted; jobs are locked too, and one taken
        // by someone else since this statement began is skipped, not claimed twice.
        // The candidates carry their sort columns, and the update finds its rows by `= ANY(ARRAY(…))`:
        // with `id IN (SELECT …)` the planner joined against a sequential scan of the whole jobs table,
        // twice, so a claim cost time in proportion to the queue's backlog (4.3 ms at 10,000 jobs,
        // 1.2 ms now; BENCHMARKS.md, round six). `OFFSET 0` keeps the EXISTS a probe of the queue index
        // per named queue: flattened into a semi join, it was planned as a hash of every runnable job by
        // queue name, a sequential scan of the whole table on every claim whenever a named queue existed
        // (every deployment has endpoint and run queues): 3 ms at 10,000 free jobs (round seven).
        return try await database.query("""
            WITH queues AS (
                SELECT q.queue_name, q.max_concurrency - q.running AS capacity
                FROM kongflow_job_queues q
                WHERE q.running < q.max_concurrency
                  AND EXISTS (SELECT 1 FROM kongflow_jobs j WHERE j.queue_name = q.queue_name AND j.locked_at IS NULL
                                AND j.run_at <= \(now) AND j.attempts < j.max_attempts OFFSET 0)
                FOR UPDATE SKIP LOCKED
            ),
            heads AS (
                SELECT h.id, h.priority, h.run_at FROM queues q CROSS JOIN LATERAL (
                    SELECT j.id, j.priority, j.run_at FROM kongflow_jobs j
                    WHERE j.queue_name = q.queue_name AND j.locked_at IS NULL AND j.run_at <= \(now) AND j.attempts < j.max_attempts
                    ORDER BY j.priority, j.run_at, j.id
                    LIMIT LEAST(q.capacity, \(limit))
                    FOR UPDATE SKIP LOCKED
                ) h
            ),
            free_jobs AS (
                SELECT id, priority, run_at FROM kongflow_jobs
                WHERE queue_name IS NULL AND locked_at IS NULL AND run_at <= \(now) AND attempts < max_attempts
                ORDER BY priority, run_at, id
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            ),
            chosen AS (
                SELECT id FROM (SELECT id, priority, run_at FROM heads UNION ALL SELECT id, priority, run_at FROM free_jobs) candidates
                ORDER BY priority, run_at, id
                LIMIT \(limit)
            ),
            claimed AS (
                UPDATE kongflow_jobs SET attempts = attempts + 1, locked_at = \(now), locked_by = \(workerId), updated_at = \(now)
                WHERE id = ANY(ARRAY(SELECT id FROM chosen))
                RETURNING \(unsafeRaw: Job.columns)
            ),
            taken AS (
                UPDATE kongflow_job_queues q SET running = q.running + c.n, updated_at = \(now)
                FROM (SELECT queue_name, COUNT(*) AS n FROM claimed WHERE queue_name IS NOT NULL GROUP BY queue_name) c
                WHERE q.queue_name = c.queue_name
            )
            SELECT * FROM claimed ORDER BY priority, run_at, id
            """).map(Job.init)
    }

    public func finish(workerId: String, completed: [Int64], failed: [FailedJobRow], now: Date) async throws {
        guard !completed.isEmpty || !failed.isEmpty else { return }
        // One statement: a worker records a whole loop turn of finished jobs in one round trip.
        let failures: SQLQuery = failed.isEmpty ? "(VALUES (NULL::bigint, NULL::text, NULL::timestamptz)) AS v" : """
            (VALUES \(SQLQuery.joined(failed.map { "(\($0.id), \(String($0.error.prefix(10_000))), \($0.runAt))" }))) AS v
            """
        try await database.query("""
            WITH completed AS (
                DELETE FROM kongflow_jobs WHERE id IN (\(list: completed)) AND locked_by = \(workerId)
                RETURNING queue_name
            ),
            failed AS (
                UPDATE kongflow_jobs SET last_error = v.column2, run_at = v.column3, locked_at = NULL, locked_by = NULL, updated_at = \(now)
                FROM \(failures)
                WHERE kongflow_jobs.id = v.column1 AND kongflow_jobs.locked_by = \(workerId)
                RETURNING kongflow_jobs.queue_name
            ),
            freed AS (
                SELECT queue_name, COUNT(*) AS n FROM (SELECT queue_name FROM completed UNION ALL SELECT queue_name FROM failed) f
                WHERE queue_name IS NOT NULL GROUP BY queue_name
            ),
            released AS (
                UPDATE kongflow_job_queues q SET running = q.running - freed.n, updated_at = \(now)
                FROM freed WHERE q.queue_name = freed.queue_name
                RETURNING q.queue_name
            )
            SELECT pg_notify(\(JobQueue.notificationChannel), '')
            WHERE EXISTS (SELECT 1 FROM released) OR EXISTS (SELECT 1 FROM failed)
            """)
    }
}
