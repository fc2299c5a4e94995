import Foundation
import Storage

/// The queue on SQLite. The database has one writer at a time, so each operation is a short
/// immediate transaction of plain statements; nothing needs row locks. Wake-ups are in-process.
public struct SQLiteQueueDriver: QueueDriver {
    public let database: any Database
    public var rowLock: String { "" }

    public init(database: any Database) {
        self.database = database
    }

    public func insert(_ jobs: [NewJobRow], now: Date, in tx: any Transaction) async throws -> [Int64] {
        guard !jobs.isEmpty else { return [] }
        for statement in Self.queueUpserts(jobs, now: now) { try await tx.query(statement) }
        var ids: [Int64] = []
        ids.reserveCapacity(jobs.count)
        // 500 rows × 11 binds stays below SQLite's 32,766 parameters.
        for start in stride(from: 0, to: jobs.count, by: 500) {
            let chunk = jobs[start..<min(start + 500, jobs.count)]
            ids += try await tx.query("""
                INSERT INTO kongflow_jobs (\(unsafeRaw: Self.insertColumns))
                VALUES \(SQLQuery.joined(chunk.map { Self.values($0, now: now) }))
                RETURNING id
                """).map { try $0.decode("id", as: Int64.self) }.sorted()
        }
        try await database.notify(JobQueue.notificationChannel, payload: "", in: tx)
        return ids
    }

    public func insertCommitted(_ job: NewJobRow, now: Date) async throws -> Int64 {
        try await database.transaction { tx in try await self.insert([job], now: now, in: tx)[0] }
    }

    public func claim(workerId: String, limit: Int, now: Date) async throws -> [Job] {
        guard limit > 0 else { return [] }
        return try await database.transaction { tx in
            // Each named queue's first `max_concurrency - running` runnable jobs, and jobs of no queue,
            // read priority by priority (a loose index scan) so that jobs due later are not read past
            // (round eight: 11.5 → 0.3 ms a claim with 50,000 of them). A queue's candidates per
            // priority are its first few, as many as the claim or the roomiest queue can take (SQLite's
            // LIMIT cannot name the outer row's capacity): numbering all of a queue's runnable jobs made
            // every claim cost time in proportion to its backlog, 29 ms with 20,000 waiting in one queue
            // (round seven).
            let ids = try await tx.query("""
                WITH RECURSIVE
                free_priorities(priority) AS (
                    SELECT (SELECT priority FROM kongflow_jobs WHERE queue_name IS NULL AND locked_at IS NULL AND attempts < max_attempts
                            ORDER BY priority LIMIT 1)
                    UNION ALL
                    SELECT (SELECT k.priority FROM kongflow_jobs k
                            WHERE k.queue_name IS NULL AND k.locked_at IS NULL AND k.attempts < k.max_attempts AND k.priority > p.priority
                            ORDER BY k.priority LIMIT 1)
                    FROM free_priorities p WHERE p.priority IS NOT NULL
                ),
                queue_priorities(queue_name, capacity, priority) AS (
                    SELECT q.queue_name, q.max_concurrency - q.running,
                           (SELECT k.priority FROM kongflow_jobs k
                            WHERE k.queue_name = q.queue_name AND k.locked_at IS NULL AND k.attempts < k.max_attempts
                            ORDER BY k.priority LIMIT 1)
                    FROM kongflow_job_queues q WHERE q.running < q.max_concurrency
                    UNION ALL
                    SELECT p.queue_name, p.capacity,
                           (SELECT k.priority FROM kongflow_jobs k
                            WHERE k.queue_name = p.queue_name AND k.locked_at IS NULL AND k.attempts < k.max_attempts AND k.priority > p.priority
                            ORDER BY k.priority LIMIT 1)
                    FROM queue_priorities p WHERE p.priority IS NOT NULL
                )
                SELECT id FROM (
                    SELECT id, priority, run_at FROM (
                        SELECT j.id, j.priority, j.run_at, p.capacity,
                               row_number() OVER (PARTITION BY j.queue_name ORDER BY j.priority, j.run_at, j.id) AS position
                        FROM queue_priorities p JOIN kongflow_jobs j ON j.id IN (
                            SELECT k.id FROM kongflow_jobs k
                            WHERE k.queue_name = p.queue_name AND k.priority = p.priority AND k.locked_at IS NULL AND k.run_at <= \(now)
                              AND k.attempts < k.max_attempts
                            ORDER BY k.run_at, k.id
                            LIMIT min(\(limit), (SELECT coalesce(max(max_concurrency - running), 0) FROM kongflow_job_queues
                                                  WHERE running < max_concurrency)))
                        WHERE p.priority IS NOT NULL
                    ) WHERE position <= capacity
                    UNION ALL
                    SELECT j.id, j.priority, j.run_at FROM free_priorities p JOIN kongflow_jobs j ON j.id IN (
                        SELECT k.id FROM kongflow_jobs k
                        WHERE k.queue_name IS NULL AND k.priority = p.priority AND k.locked_at IS NULL AND k.run_at <= \(now)
                          AND k.attempts < k.max_attempts
                        ORDER BY k.run_at, k.id
                        LIMIT \(limit))
                    WHERE p.priority IS NOT NULL
                )
                ORDER BY priority, run_at, id
                LIMIT \(limit)
                """).map { try $0.decode("id", as: Int64.self) }
            guard !ids.isEmpty else { return [] }
            let claimed = try await tx.query("""
                UPDATE kongflow_jobs SET attempts = attempts + 1, locked_at = \(now), locked_by = \(workerId), updated_at = \(now)
                WHERE id IN (\(list: ids))
                RETURNING \(unsafeRaw: Job.columns)
                """)
            try await Self.adjustRunning(try Self.counted(claimed, sign: 1), now: now, in: tx)
            return try claimed.map(Job.init).sorted { ($0.priority, $0.runAt, $0.id) < ($1.priority, $1.runAt, $1.id) }
        }
    }

    public func finish(workerId: String, completed: [Int64], failed: [FailedJobRow], now: Date) async throws {
        guard !completed.isEmpty || !failed.isEmpty else { return }
        try await database.transaction { tx in
            var freed: [String: Int] = [:]
            if !completed.isEmpty {
                let deleted = try await tx.query("""
                    DELETE FROM kongflow_jobs WHERE id IN (\(list: completed)) AND locked_by = \(workerId) RETURNING queue_name
                    """)
                freed.merge(try Self.counted(deleted, sign: -1), uniquingKeysWith: +)
            }
            var anyFailed = false
            if !failed.isEmpty {
                let updated = try await tx.query("""
                    UPDATE kongflow_jobs SET last_error = v.column2, run_at = v.column3, locked_at = NULL, locked_by = NULL, updated_at = \(now)
                    FROM (VALUES \(SQLQuery.joined(failed.map { "(\($0.id), \(String($0.error.prefix(10_000))), \($0.runAt))" }))) AS v
                    WHERE kongflow_jobs.id = v.column1 AND kongflow_jobs.locked_by = \(workerId)
                    RETURNING kongflow_jobs.queue_name
                    """)
                anyFailed = !updated.isEmpty
                freed.merge(try Self.counted(updated, sign: -1), uniquingKeysWith: +)
            }
            try await Self.adjustRunning(freed, now: now, in: tx)
            // Freed queue slots and failed jobs may be runnable for other workers.
            if !freed.isEmpty || anyFailed { try await database.notify(JobQueue.notificationChannel, payload: "", in: tx) }
        }
    }
}
