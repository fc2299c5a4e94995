import Foundation
import Logging
import Storage

/// The queue over the storage seam: enqueue (joining the caller's transaction), claim, complete,
/// fail, rescue and inspect. Workers use it; so do services that enqueue and the CLI.
///
/// Most statements are the same on both backends. Claiming differs: PostgreSQL locks candidate
/// rows with `FOR UPDATE SKIP LOCKED` so that many processes can claim at once; SQLite has one
/// writer, so its claim runs inside an immediate transaction and needs no row locks.
public struct JobQueue: Sendable {
    public static let notificationChannel = "kongflow_jobs"
    public static let defaultMaxAttempts = 25

    public let database: any Database
    let now: @Sendable () -> Date
    let taskDefaults: [String: JobOptions]

    public init(database: any Database, taskDefaults: [String: JobOptions] = [:], now: @escaping @Sendable () -> Date = Date.init) {
        self.database = database
        self.taskDefaults = taskDefaults
        self.now = now
    }

    // MARK: Enqueue

    /// Adds a job as part of `transaction`: it exists (and workers are woken) only if that commits.
    @discardableResult
    public func enqueue<P: Encodable & Sendable>(_ task: String, payload: P, options: JobOptions = .init(), in tx: any Transaction) async throws -> Int64 {
        try await enqueue(task, payloadJSON: try SQLJSON(encoding: payload).text, options: options, in: tx)
    }

    @discardableResult
    public func enqueue(_ task: String, payloadJSON: String, options: JobOptions = .init(), in tx: any Transaction) async throws -> Int64 {
        let resolved = options.over(taskDefaults[task] ?? .init())
        let maxAttempts = resolved.maxAttempts ?? Self.defaultMaxAttempts
        guard maxAttempts >= 1 else { throw QueueError.invalidOptions("maxAttempts must be at least 1") }
        guard task.count <= 128, (resolved.queueName?.count ?? 0) <= 128, (resolved.jobKey?.count ?? 0) <= 512 else {
            throw QueueError.invalidOptions("task identifier and queue name are limited to 128 characters, job keys to 512")
        }
        let now = self.now()
        let runAt = resolved.runAt ?? now
        let priority = resolved.priority ?? 0
        let queueName = resolved.queueName
        let payload = SQLJSON(payloadJSON)

        if let key = resolved.jobKey {
            let mode = resolved.jobKeyMode ?? .replace
            let lock: SQLQuery = tx.dialect == .postgres ? " FOR UPDATE" : ""
            if let existing = try await tx.queryFirst("SELECT id, queue_name, locked_at, attempts, run_at FROM kongflow_jobs WHERE key = \(key)\(lock)") {
                let id: Int64 = try existing.decode("id")
                if mode == .unsafeDedupe { return id }
                if try existing.decodeIfPresent("locked_at", as: Date.self) == nil {
                    let oldQueue: String? = try existing.decodeIfPresent("queue_name")
                    let attempts: Int = try existing.decode("attempts")
                    let keepRunAt = mode == .preserveRunAt && attempts == 0
                    let newRunAt: Date = keepRunAt ? try existing.decode("run_at") : runAt
                    try await tx.query("""
                        UPDATE kongflow_jobs
                        SET task_identifier = \(task), payload = \(payload), queue_name = \(queueName), priority = \(priority),
                            run_at = \(newRunAt), max_attempts = \(maxAttempts), attempts = 0, last_error = NULL,
                            revision = revision + 1, updated_at = \(now)
                        WHERE id = \(id)
                        """)
                    if oldQueue != queueName {
                        try await releaseQueueSlot(oldQueue, in: tx)
                        try await takeQueueSlot(queueName, in: tx)
                    }
                    try await database.notify(Self.notificationChannel, payload: "", in: tx)
                    return id
                }
                // Running: let it finish without retrying, and hand the key to a new job.
                try await tx.query("UPDATE kongflow_jobs SET key = NULL, max_attempts = attempts, updated_at = \(now) WHERE id = \(id)")
            }
        }
        let insert: SQLQuery = """
            INSERT INTO kongflow_jobs (task_identifier, queue_name, payload, priority, run_at, attempts, max_attempts, key, revision, created_at, updated_at)
            VALUES (\(task), \(queueName), \(payload), \(priority), \(runAt), 0, \(maxAttempts), \(resolved.jobKey), 0, \(now), \(now))
            RETURNING id, queue_name
            """
        guard tx.dialect == .postgres else {
            guard let row = try await tx.queryFirst(insert) else { throw StorageError.queryFailed("insert returned no row") }
            try await takeQueueSlot(queueName, in: tx)
            try await database.notify(Self.notificationChannel, payload: "", in: tx)
            return try row.decode("id")
        }
        // On PostgreSQL the queue slot and the NOTIFY ride in the same statement: one round trip on
        // the path that decides enqueue-to-start latency. The NOTIFY is still delivered only at commit.
        guard let row = try await tx.queryFirst("""
            WITH inserted AS (\(insert)),
                 slot AS (INSERT INTO kongflow_job_queues (queue_name, job_count)
                          SELECT queue_name, 1 FROM inserted WHERE queue_name IS NOT NULL
                          ON CONFLICT (queue_name) DO UPDATE SET job_count = kongflow_job_queues.job_count + 1)
            SELECT id FROM inserted, (SELECT 1 FROM pg_notify(\(Self.notificationChannel), '')) AS notified
            """) else { throw StorageError.queryFailed("insert returned no row") }
        return try row.decode("id")
    }

    /// Adds a job on its own, committed when this returns (graphile's `add_job`). Without a job key
    /// it is a single autocommit statement on PostgreSQL; use the transactional form to make a job
    /// depend on other writes.
    @discardableResult
    public func enqueue<P: Encodable & Sendable>(_ task: String, payload: P, options: JobOptions = .init()) async throws -> Int64 {
        let json = try SQLJSON(encoding: payload).text
        guard database.dialect == .postgres, options.over(taskDefaults[task] ?? .init()).jobKey == nil else {
            return try await database.transaction { tx in try await self.enqueue(task, payloadJSON: json, options: options, in: tx) }
        }
        return try await enqueue(task, payloadJSON: json, options: options, in: AutocommitStatements(database: database))
    }

    /// One job of a bulk enqueue.
    public struct NewJob: Sendable {
        public let task: String
        public let payloadJSON: String
        public let options: JobOptions

        public init(task: String, payloadJSON: String, options: JobOptions = .init()) {
            self.task = task
            self.payloadJSON = payloadJSON
            self.options = options
        }

        public init<P: Encodable & Sendable>(task: String, payload: P, options: JobOptions = .init()) throws {
            self.init(task: task, payloadJSON: try SQLJSON(encoding: payload).text, options: options)
        }
    }

    /// Adds many jobs as part of `transaction` with a few multi-row statements (graphile's
    /// `add_jobs`). Returns their ids in the given order. Jobs with a key go one by one.
    @discardableResult
    public func enqueue(_ jobs: [NewJob], in tx: any Transaction) async throws -> [Int64] {
        guard !jobs.isEmpty else { return [] }
        let now = self.now()
        var ids = [Int64](repeating: 0, count: jobs.count)
        var plain: [(index: Int, job: NewJob, options: JobOptions)] = []
        for (index, job) in jobs.enumerated() {
            let resolved = job.options.over(taskDefaults[job.task] ?? .init())
            if resolved.jobKey != nil {
                ids[index] = try await enqueue(job.task, payloadJSON: job.payloadJSON, options: job.options, in: tx)
                continue
            }
            guard (resolved.maxAttempts ?? Self.defaultMaxAttempts) >= 1 else { throw QueueError.invalidOptions("maxAttempts must be at least 1") }
            guard job.task.count <= 128, (resolved.queueName?.count ?? 0) <= 128 else {
                throw QueueError.invalidOptions("task identifier and queue name are limited to 128 characters")
            }
            plain.append((index, job, resolved))
        }
        // 500 rows × 9 binds stays far below both backends' parameter limits.
        for chunk in stride(from: 0, to: plain.count, by: 500).map({ plain[$0..<min($0 + 500, plain.count)] }) {
            var insert: SQLQuery = "INSERT INTO kongflow_jobs (task_identifier, queue_name, payload, priority, run_at, attempts, max_attempts, key, revision, created_at, updated_at) VALUES "
            for (offset, entry) in chunk.enumerated() {
                let options = entry.options
                let row: SQLQuery = """
                    \(unsafeRaw: offset == 0 ? "" : ", ")(\(entry.job.task), \(options.queueName), \(SQLJSON(entry.job.payloadJSON)), \(options.priority ?? 0),                     \(options.runAt ?? now), 0, \(options.maxAttempts ?? Self.defaultMaxAttempts), NULL, 0, \(now), \(now))
                    """
                insert = insert + row
            }
            insert = insert + " RETURNING id"
            // One statement assigns ids in row order, so sorted ids line up with the rows.
            let inserted = try await tx.query(insert).map { try $0.decode("id", as: Int64.self) }.sorted()
            for (entry, id) in zip(chunk, inserted) { ids[entry.index] = id }
        }
        var perQueue: [String: Int] = [:]
        for entry in plain { if let name = entry.options.queueName { perQueue[name, default: 0] += 1 } }
        for (name, count) in perQueue.sorted(by: { $0.key < $1.key }) {
            try await tx.query("""
                INSERT INTO kongflow_job_queues (queue_name, job_count) VALUES (\(name), \(count))
                ON CONFLICT (queue_name) DO UPDATE SET job_count = kongflow_job_queues.job_count + excluded.job_count
                """)
        }
        if !plain.isEmpty { try await database.notify(Self.notificationChannel, payload: "", in: tx) }
        return ids
    }

    /// Counts a job into its named queue, creating the queue row on first use.
    func takeQueueSlot(_ queueName: String?, in tx: any Transaction) async throws {
        guard let queueName else { return }
        try await tx.query("""
            INSERT INTO kongflow_job_queues (queue_name, job_count) VALUES (\(queueName), 1)
            ON CONFLICT (queue_name) DO UPDATE SET job_count = kongflow_job_queues.job_count + 1
            """)
    }

    /// Counts a job out of its queue; an empty queue row is removed.
    func releaseQueueSlot(_ queueName: String?, in tx: any Transaction) async throws {
        guard let queueName else { return }
        try await tx.query("UPDATE kongflow_job_queues SET job_count = job_count - 1 WHERE queue_name = \(queueName)")
        try await tx.query("DELETE FROM kongflow_job_queues WHERE queue_name = \(queueName) AND job_count <= 0 AND locked_at IS NULL")
    }

    // MARK: Claim

    /// Locks up to `limit` runnable jobs for `workerId`: at most one per named queue (and none of a
    /// queue that already has one running), in priority, run_at, id order. Attempts count here.
    public func claim(workerId: String, limit: Int) async throws -> [Job] {
        guard limit > 0 else { return [] }
        let now = self.now()
        switch database.dialect {
        case .postgres:
            // One statement: queue rows and queue-less jobs are locked with SKIP LOCKED, so
            // concurrent claimers pass each other instead of waiting or double-claiming.
            return try await database.query("""
                WITH free_queues AS (
                    SELECT queue_name FROM kongflow_job_queues WHERE locked_at IS NULL
                    FOR UPDATE SKIP LOCKED
                ),
                heads AS (
                    SELECT (SELECT j.id FROM kongflow_jobs j
                            WHERE j.queue_name = q.queue_name AND j.locked_at IS NULL
                              AND j.run_at <= \(now) AND j.attempts < j.max_attempts
                            ORDER BY j.priority, j.run_at, j.id LIMIT 1) AS id
                    FROM free_queues q
                ),
                free_jobs AS (
                    SELECT id FROM kongflow_jobs
                    WHERE queue_name IS NULL AND locked_at IS NULL AND run_at <= \(now) AND attempts < max_attempts
                    ORDER BY priority, run_at, id
                    LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED
                ),
                chosen AS (
                    SELECT id FROM kongflow_jobs
                    WHERE id IN (SELECT id FROM heads WHERE id IS NOT NULL UNION ALL SELECT id FROM free_jobs)
                    ORDER BY priority, run_at, id
                    LIMIT \(limit)
                ),
                claimed AS (
                    UPDATE kongflow_jobs SET attempts = attempts + 1, locked_at = \(now), locked_by = \(workerId), updated_at = \(now)
                    WHERE id IN (SELECT id FROM chosen)
                    RETURNING \(unsafeRaw: Job.columns)
                ),
                locked_queues AS (
                    UPDATE kongflow_job_queues SET locked_at = \(now), locked_by = \(workerId)
                    WHERE queue_name IN (SELECT queue_name FROM claimed WHERE queue_name IS NOT NULL)
                )
                SELECT * FROM claimed ORDER BY priority, run_at, id
                """).map(Job.init)
        case .sqlite:
            return try await database.transaction { tx in
                let ids = try await tx.query("""
                    SELECT id FROM kongflow_jobs
                    WHERE id IN (
                        SELECT (SELECT j.id FROM kongflow_jobs j
                                WHERE j.queue_name = q.queue_name AND j.locked_at IS NULL
                                  AND j.run_at <= \(now) AND j.attempts < j.max_attempts
                                ORDER BY j.priority, j.run_at, j.id LIMIT 1)
                        FROM kongflow_job_queues q WHERE q.locked_at IS NULL
                        UNION ALL
                        SELECT id FROM (
                            SELECT id FROM kongflow_jobs
                            WHERE queue_name IS NULL AND locked_at IS NULL AND run_at <= \(now) AND attempts < max_attempts
                            ORDER BY priority, run_at, id LIMIT \(limit)
                        )
                    )
                    ORDER BY priority, run_at, id
                    LIMIT \(limit)
                    """).map { try $0.decode("id", as: Int64.self) }
                guard !ids.isEmpty else { return [] }
                let jobs = try await tx.query("""
                    UPDATE kongflow_jobs SET attempts = attempts + 1, locked_at = \(now), locked_by = \(workerId), updated_at = \(now)
                    WHERE id IN (\(list: ids))
                    RETURNING \(unsafeRaw: Job.columns)
                    """).map(Job.init)
                let queues = Array(Set(jobs.compactMap(\.queueName)))
                if !queues.isEmpty {
                    try await tx.query("UPDATE kongflow_job_queues SET locked_at = \(now), locked_by = \(workerId) WHERE queue_name IN (\(list: queues))")
                }
                return jobs.sorted { ($0.priority, $0.runAt, $0.id) < ($1.priority, $1.runAt, $1.id) }
            }
        }
    }

    // MARK: Finish

    public struct Failure: Sendable {
        public let job: Job
        public let error: String
        /// Retry without the backoff (used when a worker stops before the job could run).
        public let retryNow: Bool

        public init(job: Job, error: String, retryNow: Bool = false) {
            self.job = job
            self.error = error
            self.retryNow = retryNow
        }
    }

    /// graphile-worker's retry curve: `exp(min(attempts, 10))` seconds after the later of now and
    /// the previous `run_at` (≈2.7 s, 7.4 s, 20 s, … then about 6 h each).
    public static func retryDelay(attempts: Int) -> TimeInterval {
        exp(Double(min(attempts, 10)))
    }

    /// Records finished jobs of `workerId` in one transaction: completed ones are deleted, failed
    /// ones get their error and next run time; their queues are unlocked. Jobs no longer locked by
    /// this worker (rescued meanwhile) are left alone.
    public func finish(workerId: String, completed: [Job], failed: [Failure]) async throws {
        guard !completed.isEmpty || !failed.isEmpty else { return }
        let now = self.now()
        try await database.transaction { tx in
            // Queues to unlock, with how many of their jobs left them (failed jobs stay: 0).
            var unlock: [String: Int] = [:]
            if !completed.isEmpty {
                let deleted = try await tx.query("""
                    DELETE FROM kongflow_jobs WHERE id IN (\(list: completed.map(\.id))) AND locked_by = \(workerId)
                    RETURNING queue_name
                    """)
                for row in deleted {
                    if let queue: String = try row.decodeIfPresent("queue_name") { unlock[queue, default: 0] += 1 }
                }
            }
            for failure in failed {
                let job = failure.job
                let runAt = failure.retryNow ? now : max(now, job.runAt).addingTimeInterval(Self.retryDelay(attempts: job.attempts))
                let updated = try await tx.query("""
                    UPDATE kongflow_jobs SET last_error = \(String(failure.error.prefix(10_000))), run_at = \(runAt),
                        locked_at = NULL, locked_by = NULL, updated_at = \(now)
                    WHERE id = \(job.id) AND locked_by = \(workerId)
                    RETURNING queue_name
                    """)
                for row in updated {
                    if let queue: String = try row.decodeIfPresent("queue_name"), unlock[queue] == nil { unlock[queue] = 0 }
                }
            }
            for (queue, removed) in unlock.sorted(by: { $0.key < $1.key }) {
                try await tx.query("""
                    UPDATE kongflow_job_queues SET locked_at = NULL, locked_by = NULL, job_count = job_count - \(removed)
                    WHERE queue_name = \(queue) AND locked_by = \(workerId)
                    """)
                try await tx.query("DELETE FROM kongflow_job_queues WHERE queue_name = \(queue) AND job_count <= 0 AND locked_at IS NULL")
            }
            if !failed.isEmpty || !unlock.isEmpty {
                // Unlocked queues may have runnable jobs for other workers.
                try await database.notify(Self.notificationChannel, payload: "", in: tx)
            }
        }
    }

    // MARK: Workers and crash recovery

    public func registerWorker(id: String) async throws {
        let now = self.now()
        try await database.query("""
            INSERT INTO kongflow_workers (id, host, pid, started_at, last_heartbeat_at)
            VALUES (\(id), \(ProcessInfo.processInfo.hostName), \(Int(ProcessInfo.processInfo.processIdentifier)), \(now), \(now))
            ON CONFLICT (id) DO UPDATE SET last_heartbeat_at = excluded.last_heartbeat_at
            """)
    }

    public func heartbeat(workerId: String) async throws {
        let now = self.now()
        let rows = try await database.query("UPDATE kongflow_workers SET last_heartbeat_at = \(now) WHERE id = \(workerId) RETURNING id")
        // Declared dead by someone else (e.g. after a long pause): come back under the same id.
        if rows.isEmpty { try await registerWorker(id: workerId) }
    }

    public func unregisterWorker(id: String) async throws {
        try await database.query("DELETE FROM kongflow_workers WHERE id = \(id)")
    }

    /// Releases jobs and queues held by workers whose heartbeat is older than `timeout` (or that
    /// are not registered at all), so they run again elsewhere. Returns the released job ids.
    ///
    /// The crashed attempt counts, but a job always gets at least one more: a worker dying is not
    /// the job's failure, and tasks such as indexing must get to record their outcome.
    @discardableResult
    public func rescueStalledJobs(heartbeatTimeout timeout: TimeInterval) async throws -> [Int64] {
        let now = self.now()
        let cutoff = now.addingTimeInterval(-timeout)
        return try await database.transaction { tx in
            try await tx.query("DELETE FROM kongflow_workers WHERE last_heartbeat_at < \(cutoff)")
            let released = try await tx.query("""
                UPDATE kongflow_jobs
                SET locked_at = NULL, locked_by = NULL, updated_at = \(now),
                    max_attempts = CASE WHEN attempts >= max_attempts THEN attempts + 1 ELSE max_attempts END,
                    last_error = 'worker ' || locked_by || ' stopped heartbeating while running this job'
                WHERE locked_at IS NOT NULL AND locked_at < \(cutoff)
                  AND locked_by NOT IN (SELECT id FROM kongflow_workers)
                RETURNING id
                """).map { try $0.decode("id", as: Int64.self) }
            let queues = try await tx.query("""
                UPDATE kongflow_job_queues SET locked_at = NULL, locked_by = NULL
                WHERE locked_at IS NOT NULL AND locked_at < \(cutoff) AND locked_by NOT IN (SELECT id FROM kongflow_workers)
                RETURNING queue_name
                """)
            if !released.isEmpty || !queues.isEmpty {
                try await database.notify(Self.notificationChannel, payload: "", in: tx)
            }
            return released
        }
    }

    // MARK: Inspect and operate

    public func job(id: Int64) async throws -> Job? {
        try await database.queryFirst("SELECT \(unsafeRaw: Job.columns) FROM kongflow_jobs WHERE id = \(id)").map(Job.init)
    }

    /// Jobs, oldest first, optionally of one state and/or queue.
    public func jobs(state: JobState? = nil, queueName: String? = nil, limit: Int = 1000) async throws -> [Job] {
        let now = self.now()
        var query: SQLQuery = "SELECT \(unsafeRaw: Job.columns) FROM kongflow_jobs WHERE 1 = 1"
        if let queueName { query = query + " AND queue_name = \(queueName)" }
        if let state { query = query + Self.condition(for: state, now: now) }
        query = query + " ORDER BY id LIMIT \(limit)"
        return try await database.query(query).map(Job.init)
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

    /// How many jobs are in each state (all states present, zero when empty).
    public func counts() async throws -> [JobState: Int] {
        let now = self.now()
        let rows = try await database.query("""
            SELECT
                SUM(CASE WHEN locked_at IS NOT NULL THEN 1 ELSE 0 END) AS running,
                SUM(CASE WHEN locked_at IS NULL AND attempts >= max_attempts THEN 1 ELSE 0 END) AS dead,
                SUM(CASE WHEN locked_at IS NULL AND attempts < max_attempts AND run_at <= \(now) THEN 1 ELSE 0 END) AS available,
                SUM(CASE WHEN locked_at IS NULL AND attempts = 0 AND run_at > \(now) THEN 1 ELSE 0 END) AS scheduled,
                SUM(CASE WHEN locked_at IS NULL AND attempts > 0 AND attempts < max_attempts AND run_at > \(now) THEN 1 ELSE 0 END) AS retryable
            FROM kongflow_jobs
            """)
        var result: [JobState: Int] = [:]
        for state in JobState.allCases {
            result[state] = try rows.first?.decodeIfPresent(state.rawValue, as: Int.self) ?? 0
        }
        return result
    }

    /// Makes a failed, dead or scheduled job run now, with at least one attempt left.
    public func retry(id: Int64) async throws -> Job {
        let now = self.now()
        return try await database.transaction { tx in
            guard let job = try await tx.queryFirst("SELECT \(unsafeRaw: Job.columns) FROM kongflow_jobs WHERE id = \(id)").map(Job.init) else {
                throw QueueError.jobNotFound(id)
            }
            guard job.lockedAt == nil else { throw QueueError.jobIsRunning(id) }
            try await tx.query("""
                UPDATE kongflow_jobs SET run_at = \(now), max_attempts = \(max(job.maxAttempts, job.attempts + 1)), updated_at = \(now)
                WHERE id = \(id)
                """)
            try await database.notify(Self.notificationChannel, payload: "", in: tx)
            return try await tx.queryFirst("SELECT \(unsafeRaw: Job.columns) FROM kongflow_jobs WHERE id = \(id)").map(Job.init)!
        }
    }

    /// Removes a job that is not running.
    public func delete(id: Int64) async throws {
        try await database.transaction { tx in
            guard let row = try await tx.queryFirst("SELECT queue_name, locked_at FROM kongflow_jobs WHERE id = \(id)") else {
                throw QueueError.jobNotFound(id)
            }
            guard try row.decodeIfPresent("locked_at", as: Date.self) == nil else { throw QueueError.jobIsRunning(id) }
            try await tx.query("DELETE FROM kongflow_jobs WHERE id = \(id)")
            try await releaseQueueSlot(try row.decodeIfPresent("queue_name"), in: tx)
        }
    }
}

/// Runs each statement on its own, committed at once: a stand-in for a transaction where the work
/// is one statement anyway (PostgreSQL enqueue without a job key).
struct AutocommitStatements: Transaction {
    let database: any Database
    var dialect: SQLDialect { database.dialect }

    @discardableResult
    func query(_ query: SQLQuery) async throws -> [SQLRow] { try await database.query(query) }
}
