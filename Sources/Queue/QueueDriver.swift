import Foundation
import Storage

/// A job as a driver writes it: options already resolved against the task's defaults and checked.
public struct NewJobRow: Sendable, Equatable {
    public let task: String
    public let queueName: String?
    public let queueConcurrency: Int?
    public let payload: SQLJSON
    public let priority: Int
    public let runAt: Date
    public let maxAttempts: Int
    public let key: String?
    public let keyMode: JobKeyMode
    public let scope: String?
}

/// A failed attempt as a driver records it: the error and when the job may run again.
public struct FailedJobRow: Sendable, Equatable {
    public let id: Int64
    public let error: String
    public let runAt: Date
}

/// The queue's storage operations, River's way: `JobQueue` decides (options, retry curve, payloads),
/// a driver per database writes and reads rows. What both backends agree on is written once in the
/// extension below; each driver writes its own SQL only where they differ (inserting with the
/// wake-up, claiming, finishing).
///
/// Tables (migrations 0002 and 0005): `kongflow_jobs`; `kongflow_job_queues`, one row per named queue
/// with its `max_concurrency` and how many of its jobs are `running` (the claim lock of graphile's
/// `job_queues`, widened from one slot to many); `kongflow_workers`, live workers and heartbeats.
public protocol QueueDriver: Sendable {
    var database: any Database { get }
    /// Adds jobs without keys as part of `tx`, ids in the given order; wakes workers at commit.
    func insert(_ jobs: [NewJobRow], now: Date, in tx: any Transaction) async throws -> [Int64]
    /// Adds one job without a key, committed on its own (graphile's `add_job`).
    func insertCommitted(_ job: NewJobRow, now: Date) async throws -> Int64
    /// Locks up to `limit` runnable jobs for `workerId`, none beyond a named queue's limit.
    func claim(workerId: String, limit: Int, now: Date) async throws -> [Job]
    /// Deletes completed jobs, records failed ones, frees their queue slots. Jobs no longer locked
    /// by `workerId` (released meanwhile) are left alone.
    func finish(workerId: String, completed: [Int64], failed: [FailedJobRow], now: Date) async throws
    /// `" FOR UPDATE"` where concurrent writers need row locks, empty where the database has one writer.
    var rowLock: String { get }
}

extension QueueDriver {
    // MARK: Keys

    /// Adds a job with a key (graphile's `job_key` and `job_key_mode`) as part of `tx`.
    public func insertKeyed(_ job: NewJobRow, now: Date, in tx: any Transaction) async throws -> Int64 {
        guard let key = job.key else { return try await insert([job], now: now, in: tx)[0] }
        if let existing = try await tx.queryFirst("""
            SELECT id, locked_at, attempts, run_at FROM kongflow_jobs WHERE key = \(key)\(unsafeRaw: rowLock)
            """) {
            let id: Int64 = try existing.decode("id")
            if job.keyMode == .unsafeDedupe { return id }
            if try existing.decodeIfPresent("locked_at", as: Date.self) == nil {
                let attempts: Int = try existing.decode("attempts")
                let keepRunAt = job.keyMode == .preserveRunAt && attempts == 0
                let runAt: Date = keepRunAt ? try existing.decode("run_at") : job.runAt
                for statement in Self.queueUpserts([job], now: now) { try await tx.query(statement) }
                try await tx.query("""
                    UPDATE kongflow_jobs
                    SET task_identifier = \(job.task), payload = \(job.payload), queue_name = \(job.queueName), priority = \(job.priority),
                        run_at = \(runAt), max_attempts = \(job.maxAttempts), attempts = 0, last_error = NULL,
                        revision = revision + 1, updated_at = \(now), scope = \(job.scope)
                    WHERE id = \(id)
                    """)
                try await database.notify(JobQueue.notificationChannel, payload: "", in: tx)
                return id
            }
            // Running: it finishes without retrying, and the key goes to a new job.
            try await tx.query("UPDATE kongflow_jobs SET key = NULL, max_attempts = attempts, updated_at = \(now) WHERE id = \(id)")
        }
        for statement in Self.queueUpserts([job], now: now) { try await tx.query(statement) }
        guard let row = try await tx.queryFirst("""
            INSERT INTO kongflow_jobs (\(unsafeRaw: Self.insertColumns))
            VALUES \(Self.values(job, now: now))
            RETURNING id
            """) else { throw StorageError.queryFailed("insert returned no row") }
        try await database.notify(JobQueue.notificationChannel, payload: "", in: tx)
        return try row.decode("id")
    }

    // MARK: Shared statements

    /// The columns a new job's row sets, in the order of `values`.
    static var insertColumns: String { "task_identifier, queue_name, payload, priority, run_at, attempts, max_attempts, key, revision, created_at, updated_at, scope" }

    /// One row of `INSERT INTO kongflow_jobs (<insertColumns>)`.
    static func values(_ job: NewJobRow, now: Date) -> SQLQuery {
        "(\(job.task), \(job.queueName), \(job.payload), \(job.priority), \(job.runAt), 0, \(job.maxAttempts), \(job.key), 0, \(now), \(now), \(job.scope))"
    }

    /// Creates the named queues of `jobs` or touches them (`updated_at` keeps an idle queue from being
    /// collected while a job is being added to it). A given limit replaces the queue's; at most two
    /// statements, because one multi-row upsert may not touch a row twice.
    static func queueUpserts(_ jobs: [NewJobRow], now: Date) -> [SQLQuery] {
        var limits: [String: Int?] = [:]
        for job in jobs {
            guard let name = job.queueName else { continue }
            if let limit = job.queueConcurrency { limits[name] = limit } else if limits[name] == nil { limits[name] = .some(nil) }
        }
        let names = limits.keys.sorted()
        let limited = names.filter { limits[$0]! != nil }, plain = names.filter { limits[$0]! == nil }
        var statements: [SQLQuery] = []
        if !limited.isEmpty {
            statements.append("""
                INSERT INTO kongflow_job_queues (queue_name, max_concurrency, running, updated_at)
                VALUES \(SQLQuery.joined(limited.map { "(\($0), \(limits[$0]!!), 0, \(now))" }))
                ON CONFLICT (queue_name) DO UPDATE SET max_concurrency = excluded.max_concurrency, updated_at = excluded.updated_at
                """)
        }
        if !plain.isEmpty {
            statements.append("""
                INSERT INTO kongflow_job_queues (queue_name, max_concurrency, running, updated_at)
                VALUES \(SQLQuery.joined(plain.map { "(\($0), 1, 0, \(now))" }))
                ON CONFLICT (queue_name) DO UPDATE SET updated_at = excluded.updated_at
                """)
        }
        return statements
    }

    /// Moves each queue's `running` by its delta (negative when jobs stop running).
    static func adjustRunning(_ deltas: [String: Int], now: Date, in tx: any Transaction) async throws {
        let changes = deltas.filter { $0.value != 0 }.sorted { $0.key < $1.key }
        guard !changes.isEmpty else { return }
        try await tx.query("""
            UPDATE kongflow_job_queues SET running = running + v.column2, updated_at = \(now)
            FROM (VALUES \(SQLQuery.joined(changes.map { "(\($0.key), \($0.value))" }))) AS v
            WHERE kongflow_job_queues.queue_name = v.column1
            """)
    }

    static func counted(_ rows: [SQLRow], sign: Int) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in rows {
            if let queue: String = try row.decodeIfPresent("queue_name") { counts[queue, default: 0] += sign }
        }
        return counts
    }

    // MARK: Workers and crash recovery

    public func registerWorker(id: String, now: Date) async throws {
        try await database.query("""
            INSERT INTO kongflow_workers (id, host, pid, started_at, last_heartbeat_at)
            VALUES (\(id), \(ProcessInfo.processInfo.hostName), \(Int(ProcessInfo.processInfo.processIdentifier)), \(now), \(now))
            ON CONFLICT (id) DO UPDATE SET last_heartbeat_at = excluded.last_heartbeat_at
            """)
    }

    /// False when no such worker is registered (someone declared it dead).
    public func heartbeat(workerId: String, now: Date) async throws -> Bool {
        !(try await database.query("UPDATE kongflow_workers SET last_heartbeat_at = \(now) WHERE id = \(workerId) RETURNING id").isEmpty)
    }

    public func unregisterWorker(id: String) async throws {
        try await database.query("DELETE FROM kongflow_workers WHERE id = \(id)")
    }

    /// Forgets workers silent since `cutoff` and releases the jobs they held (one more attempt if
    /// that was their last: a dead worker is not the job's failure). Idle queues (no jobs, nothing
    /// running, untouched since `cutoff`) are removed. Returns the released job ids.
    public func rescue(cutoff: Date, now: Date) async throws -> [Int64] {
        try await database.transaction { tx in
            try await tx.query("DELETE FROM kongflow_workers WHERE last_heartbeat_at < \(cutoff)")
            let released = try await tx.query("""
                UPDATE kongflow_jobs
                SET locked_at = NULL, locked_by = NULL, updated_at = \(now),
                    max_attempts = CASE WHEN attempts >= max_attempts THEN attempts + 1 ELSE max_attempts END,
                    last_error = 'worker ' || locked_by || ' stopped heartbeating while running this job'
                WHERE locked_at IS NOT NULL AND locked_at < \(cutoff)
                  AND locked_by NOT IN (SELECT id FROM kongflow_workers)
                RETURNING id, queue_name
                """)
            try await Self.adjustRunning(try Self.counted(released, sign: -1), now: now, in: tx)
            // An enqueue touches its queue's `updated_at` under the row lock, so a queue gaining a job
            // right now is never old enough to be removed here.
            try await tx.query("""
                DELETE FROM kongflow_job_queues
                WHERE running = 0 AND updated_at < \(cutoff)
                  AND NOT EXISTS (SELECT 1 FROM kongflow_jobs j WHERE j.queue_name = kongflow_job_queues.queue_name)
                """)
            if !released.isEmpty { try await database.notify(JobQueue.notificationChannel, payload: "", in: tx) }
            return try released.map { try $0.decode("id", as: Int64.self) }.sorted()
        }
    }

    // MARK: Inspect and operate

    public func job(id: Int64) async throws -> Job? {
        try await database.queryFirst("SELECT \(unsafeRaw: Job.columns) FROM kongflow_jobs WHERE id = \(id)").map(Job.init)
    }

    public func jobs(state: JobState?, queueName: String?, scope: String?, limit: Int, newestFirst: Bool, now: Date) async throws -> [Job] {
        var query: SQLQuery = "SELECT \(unsafeRaw: Job.columns) FROM kongflow_jobs WHERE 1 = 1"
        if let queueName { query = query + " AND queue_name = \(queueName)" }
        if let scope { query = query + " AND scope = \(scope)" }
        if let state { query = query + Self.condition(for: state, now: now) }
        return try await database.query(query + (newestFirst ? " ORDER BY id DESC" : " ORDER BY id") + " LIMIT \(limit)").map(Job.init)
    }

    static func condition(for state: JobState, now: Date) -> SQLQuery {
        switch state {
        case .running: return " AND locked_at IS NOT NULL"
        case .dead: return " AND locked_at IS NULL AND attempts >= max_attempts"
        case .available: return " AND locked_at IS NULL AND attempts < max_attempts AND run_at <= \(now)"
        case .scheduled: return " AND locked_at IS NULL AND attempts = 0 AND run_at > \(now)"
        case .retryable: return " AND locked_at IS NULL AND attempts > 0 AND attempts < max_attempts AND run_at > \(now)"
        }
    }

    public func counts(now: Date) async throws -> [JobState: Int] {
        try Self.stateCounts(try await database.queryFirst("SELECT \(Self.stateSums(now: now)) FROM kongflow_jobs"))
    }

    /// A scope's jobs per queue (nil: jobs on no named queue) and state.
    public func counts(scope: String, now: Date) async throws -> [QueueCounts] {
        try await database.query("""
            SELECT queue_name, \(Self.stateSums(now: now)) FROM kongflow_jobs WHERE scope = \(scope)
            GROUP BY queue_name ORDER BY queue_name
            """).map { QueueCounts(queueName: try $0.decodeIfPresent("queue_name"), counts: try Self.stateCounts($0)) }
    }

    /// One column per `JobState`, named after it, counting the rows in that state (the conditions of `condition(for:)`).
    static func stateSums(now: Date) -> SQLQuery {
        """
        SUM(CASE WHEN locked_at IS NOT NULL THEN 1 ELSE 0 END) AS running,
        SUM(CASE WHEN locked_at IS NULL AND attempts >= max_attempts THEN 1 ELSE 0 END) AS dead,
        SUM(CASE WHEN locked_at IS NULL AND attempts < max_attempts AND run_at <= \(now) THEN 1 ELSE 0 END) AS available,
        SUM(CASE WHEN locked_at IS NULL AND attempts = 0 AND run_at > \(now) THEN 1 ELSE 0 END) AS scheduled,
        SUM(CASE WHEN locked_at IS NULL AND attempts > 0 AND attempts < max_attempts AND run_at > \(now) THEN 1 ELSE 0 END) AS retryable
        """
    }

    static func stateCounts(_ row: SQLRow?) throws -> [JobState: Int] {
        var result: [JobState: Int] = [:]
        for state in JobState.allCases { result[state] = try row?.decodeIfPresent(state.rawValue, as: Int.self) ?? 0 }
        return result
    }

    /// Jobs per named queue and state, with each queue's limit.
    public func queues(now: Date) async throws -> [QueueSummary] {
        try await database.query("""
            SELECT q.queue_name, q.max_concurrency, q.running,
                   (SELECT COUNT(*) FROM kongflow_jobs j WHERE j.queue_name = q.queue_name AND j.locked_at IS NULL
                      AND j.attempts < j.max_attempts) AS waiting,
                   (SELECT COUNT(*) FROM kongflow_jobs j WHERE j.queue_name = q.queue_name AND j.locked_at IS NULL
                      AND j.attempts >= j.max_attempts) AS dead
            FROM kongflow_job_queues q ORDER BY q.queue_name
            """).map { row in
            QueueSummary(name: try row.decode("queue_name"), concurrency: try row.decode("max_concurrency"), running: try row.decode("running"),
                         waiting: try row.decode("waiting"), dead: try row.decode("dead"))
        }
    }

    /// Makes a job that is not running run now, with at least one attempt left. With `scope`, only a
    /// job of that scope: another's is not found.
    public func retry(id: Int64, scope: String?, now: Date) async throws -> Job {
        try await database.transaction { tx in
            guard let job = try await tx.queryFirst("SELECT \(unsafeRaw: Job.columns) FROM kongflow_jobs WHERE id = \(id)\(unsafeRaw: rowLock)").map(Job.init),
                  scope == nil || job.scope == scope else {
                throw QueueError.jobNotFound(id)
            }
            guard job.lockedAt == nil else { throw QueueError.jobIsRunning(id) }
            guard let updated = try await tx.queryFirst("""
                UPDATE kongflow_jobs SET run_at = \(now), max_attempts = \(max(job.maxAttempts, job.attempts + 1)), updated_at = \(now)
                WHERE id = \(id)
                RETURNING \(unsafeRaw: Job.columns)
                """).map(Job.init) else { throw QueueError.jobNotFound(id) }
            try await database.notify(JobQueue.notificationChannel, payload: "", in: tx)
            return updated
        }
    }

    /// Removes a job that is not running.
    public func delete(id: Int64) async throws {
        try await database.transaction { tx in
            guard let row = try await tx.queryFirst("SELECT locked_at FROM kongflow_jobs WHERE id = \(id)\(unsafeRaw: rowLock)") else {
                throw QueueError.jobNotFound(id)
            }
            guard try row.decodeIfPresent("locked_at", as: Date.self) == nil else { throw QueueError.jobIsRunning(id) }
            try await tx.query("DELETE FROM kongflow_jobs WHERE id = \(id)")
        }
    }
}

/// A queue's jobs by state (`queueName` nil: jobs on no named queue).
public struct QueueCounts: Sendable, Equatable {
    public let queueName: String?
    public let counts: [JobState: Int]
}

/// One named queue as `kongflow jobs queues` shows it.
public struct QueueSummary: Sendable, Equatable, Codable {
    public let name: String
    public let concurrency: Int
    public let running: Int
    /// Not running and not dead: available, scheduled or waiting for a retry.
    public let waiting: Int
    public let dead: Int

    public init(name: String, concurrency: Int, running: Int, waiting: Int, dead: Int) {
        self.name = name
        self.concurrency = concurrency
        self.running = running
        self.waiting = waiting
        self.dead = dead
    }
}
