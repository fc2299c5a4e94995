import Foundation
import Logging
import Storage

/// The durable job queue (graphile-worker's semantics): enqueue inside the caller's transaction,
/// claim, finish, retry with backoff, rescue the jobs of dead workers, inspect. This type holds the
/// policy (options and task defaults, limits, the retry curve, payload encoding); a `QueueDriver`
/// per database holds the SQL.
public struct JobQueue: Sendable {
    public static let notificationChannel = "kongflow_jobs"
    public static let defaultMaxAttempts = 25

    public let driver: any QueueDriver
    let now: @Sendable () -> Date
    let taskDefaults: [String: JobOptions]

    public var database: any Database { driver.database }

    /// The queue on `database`, with the driver for its dialect.
    public init(database: any Database, taskDefaults: [String: JobOptions] = [:], now: @escaping @Sendable () -> Date = Date.init) {
        let driver: any QueueDriver = switch database.dialect {
        case .postgres: PostgresQueueDriver(database: database)
        case .sqlite: SQLiteQueueDriver(database: database)
        }
        self.init(driver: driver, taskDefaults: taskDefaults, now: now)
    }

    public init(driver: any QueueDriver, taskDefaults: [String: JobOptions] = [:], now: @escaping @Sendable () -> Date = Date.init) {
        self.driver = driver
        self.taskDefaults = taskDefaults
        self.now = now
    }

    // MARK: Enqueue

    /// The row for a job: the caller's options over the task's defaults, checked.
    func row(_ task: String, payloadJSON: String, options: JobOptions, now: Date) throws -> NewJobRow {
        let resolved = options.over(taskDefaults[task] ?? .init())
        let maxAttempts = resolved.maxAttempts ?? Self.defaultMaxAttempts
        guard maxAttempts >= 1 else { throw QueueError.invalidOptions("maxAttempts must be at least 1") }
        guard (resolved.queueConcurrency ?? 1) >= 1 else { throw QueueError.invalidOptions("queueConcurrency must be at least 1") }
        guard task.count <= 128, (resolved.queueName?.count ?? 0) <= 128, (resolved.jobKey?.count ?? 0) <= 512, (resolved.scope?.count ?? 0) <= 64 else {
            throw QueueError.invalidOptions("task identifier and queue name are limited to 128 characters, job keys to 512, scopes to 64")
        }
        return NewJobRow(task: task, queueName: resolved.queueName, queueConcurrency: resolved.queueName == nil ? nil : resolved.queueConcurrency,
                         payload: SQLJSON(payloadJSON), priority: resolved.priority ?? 0, runAt: resolved.runAt ?? now,
                         maxAttempts: maxAttempts, key: resolved.jobKey, keyMode: resolved.jobKeyMode ?? .replace, scope: resolved.scope)
    }

    /// Adds a job as part of `tx`: it exists (and workers are woken) only if that commits.
    @discardableResult
    public func enqueue<P: Encodable & Sendable>(_ task: String, payload: P, options: JobOptions = .init(), in tx: any Transaction) async throws -> Int64 {
        try await enqueue(task, payloadJSON: try SQLJSON(encoding: payload).text, options: options, in: tx)
    }

    @discardableResult
    public func enqueue(_ task: String, payloadJSON: String, options: JobOptions = .init(), in tx: any Transaction) async throws -> Int64 {
        let now = self.now()
        let row = try row(task, payloadJSON: payloadJSON, options: options, now: now)
        if row.key != nil { return try await driver.insertKeyed(row, now: now, in: tx) }
        return try await driver.insert([row], now: now, in: tx)[0]
    }

    /// Adds a job on its own, committed when this returns (graphile's `add_job`). Use the
    /// transactional form to make a job depend on other writes.
    @discardableResult
    public func enqueue<P: Encodable & Sendable>(_ task: String, payload: P, options: JobOptions = .init()) async throws -> Int64 {
        let now = self.now()
        let row = try row(task, payloadJSON: try SQLJSON(encoding: payload).text, options: options, now: now)
        guard row.key == nil else {
            return try await database.transaction { tx in try await self.driver.insertKeyed(row, now: now, in: tx) }
        }
        return try await driver.insertCommitted(row, now: now)
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

    /// Adds many jobs as part of `tx` with a few multi-row statements (graphile's `add_jobs`).
    /// Returns their ids in the given order. Jobs with a key go one by one.
    @discardableResult
    public func enqueue(_ jobs: [NewJob], in tx: any Transaction) async throws -> [Int64] {
        let now = self.now()
        let rows = try jobs.map { try row($0.task, payloadJSON: $0.payloadJSON, options: $0.options, now: now) }
        var ids = [Int64](repeating: 0, count: rows.count)
        let plain = rows.indices.filter { rows[$0].key == nil }
        for (index, id) in zip(plain, try await driver.insert(plain.map { rows[$0] }, now: now, in: tx)) { ids[index] = id }
        for index in rows.indices where rows[index].key != nil {
            ids[index] = try await driver.insertKeyed(rows[index], now: now, in: tx)
        }
        return ids
    }

    // MARK: Claim and finish

    /// Locks up to `limit` runnable jobs for `workerId` in priority, run_at, id order, none beyond a
    /// named queue's limit. Attempts count here.
    public func claim(workerId: String, limit: Int) async throws -> [Job] {
        try await driver.claim(workerId: workerId, limit: limit, now: now())
    }

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

    /// Records finished jobs of `workerId` at once: completed ones are deleted, failed ones get their
    /// error and next run time. Jobs no longer locked by this worker (rescued meanwhile) are left alone.
    /// Returns the failed jobs' retry times.
    @discardableResult
    public func finish(workerId: String, completed: [Job], failed: [Failure]) async throws -> [Date] {
        let now = self.now()
        let failures = failed.map { failure in
            let runAt = failure.retryNow ? now : max(now, failure.job.runAt).addingTimeInterval(Self.retryDelay(attempts: failure.job.attempts))
            return FailedJobRow(id: failure.job.id, error: failure.error, runAt: runAt)
        }
        try await driver.finish(workerId: workerId, completed: completed.map(\.id), failed: failures, now: now)
        return failures.map(\.runAt)
    }

    /// How long until `date`, by this queue's clock.
    func interval(until date: Date) -> TimeInterval { date.timeIntervalSince(now()) }
    var currentTime: Date { now() }

    // MARK: Workers and crash recovery

    public func registerWorker(id: String) async throws {
        try await driver.registerWorker(id: id, now: now())
    }

    public func heartbeat(workerId: String) async throws {
        // Declared dead by someone else (e.g. after a long pause): come back under the same id.
        if try await !driver.heartbeat(workerId: workerId, now: now()) { try await registerWorker(id: workerId) }
    }

    public func unregisterWorker(id: String) async throws {
        try await driver.unregisterWorker(id: id)
    }

    /// Releases jobs held by workers whose heartbeat is older than `timeout` (or that are not
    /// registered at all), so they run again elsewhere. Returns the released job ids.
    ///
    /// The crashed attempt counts, but a job always gets at least one more: a worker dying is not
    /// the job's failure, and tasks such as indexing must get to record their outcome.
    @discardableResult
    public func rescueStalledJobs(heartbeatTimeout timeout: TimeInterval) async throws -> [Int64] {
        let now = self.now()
        return try await driver.rescue(cutoff: now.addingTimeInterval(-timeout), now: now)
    }

    // MARK: Inspect and operate

    public func job(id: Int64) async throws -> Job? {
        try await driver.job(id: id)
    }

    /// Jobs, oldest first, optionally of one state, queue and/or scope.
    /// Jobs in id order, or the `limit` newest first.
    public func jobs(state: JobState? = nil, queueName: String? = nil, scope: String? = nil, limit: Int = 1000,
                     newestFirst: Bool = false) async throws -> [Job] {
        try await driver.jobs(state: state, queueName: queueName, scope: scope, limit: limit, newestFirst: newestFirst, now: now())
    }

    /// A scope's jobs per queue and state.
    public func counts(scope: String) async throws -> [QueueCounts] {
        try await driver.counts(scope: scope, now: now())
    }

    /// How many jobs are in each state (all states present, zero when empty).
    public func counts() async throws -> [JobState: Int] {
        try await driver.counts(now: now())
    }

    /// Named queues with their limit, running and waiting jobs.
    public func queues() async throws -> [QueueSummary] {
        try await driver.queues(now: now())
    }

    /// Makes a failed, dead or scheduled job run now, with at least one attempt left.
    public func retry(id: Int64, scope: String? = nil) async throws -> Job {
        try await driver.retry(id: id, scope: scope, now: now())
    }

    /// Removes a job that is not running.
    public func delete(id: Int64) async throws {
        try await driver.delete(id: id)
    }
}
