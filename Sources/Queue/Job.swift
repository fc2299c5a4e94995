import Foundation
import Storage

/// What happens when a job is enqueued with a key that another job already has (graphile-worker's
/// `job_key_mode`).
public enum JobKeyMode: String, Sendable, Codable {
    /// Update the waiting job in place (payload, run_at, …; attempts reset). A running job keeps
    /// running, loses its key and will not retry; a new job is added.
    case replace
    /// As `replace`, but a job that has not been attempted keeps its `run_at` (debouncing).
    case preserveRunAt = "preserve_run_at"
    /// Add only if no job has the key; otherwise leave the existing job untouched.
    case unsafeDedupe = "unsafe_dedupe"
}

/// Options for one enqueue. Unset fields fall back to the task's defaults, then to the queue's
/// (max 25 attempts, priority 0, run now). The caller always wins over the task defaults.
public struct JobOptions: Sendable, Equatable {
    /// A named queue runs at most `queueConcurrency` of its jobs at once, in priority, run_at, id
    /// order; without a name, jobs run as soon as a worker is free.
    public var queueName: String?
    /// The named queue's limit (1 = serial). Set, it becomes the queue's limit; unset, the queue keeps
    /// the limit it has, or 1 when new.
    public var queueConcurrency: Int?
    public var runAt: Date?
    public var maxAttempts: Int?
    public var priority: Int?
    public var jobKey: String?
    public var jobKeyMode: JobKeyMode?
    /// Who the job works for (an environment id): what an environment may see and retry of the queue.
    public var scope: String?

    public init(queueName: String? = nil, queueConcurrency: Int? = nil, runAt: Date? = nil, maxAttempts: Int? = nil, priority: Int? = nil,
                jobKey: String? = nil, jobKeyMode: JobKeyMode? = nil, scope: String? = nil) {
        self.queueName = queueName
        self.queueConcurrency = queueConcurrency
        self.runAt = runAt
        self.maxAttempts = maxAttempts
        self.priority = priority
        self.jobKey = jobKey
        self.jobKeyMode = jobKeyMode
        self.scope = scope
    }

    /// `self`, with unset fields taken from `defaults`.
    public func over(_ defaults: JobOptions) -> JobOptions {
        JobOptions(queueName: queueName ?? defaults.queueName, queueConcurrency: queueConcurrency ?? defaults.queueConcurrency, runAt: runAt ?? defaults.runAt,
                   maxAttempts: maxAttempts ?? defaults.maxAttempts, priority: priority ?? defaults.priority,
                   jobKey: jobKey ?? defaults.jobKey, jobKeyMode: jobKeyMode ?? defaults.jobKeyMode, scope: scope ?? defaults.scope)
    }
}

public enum JobState: String, Sendable, Codable, CaseIterable {
    /// Ready to run now.
    case available
    /// Waiting for its `run_at` (never attempted).
    case scheduled
    /// Failed at least once and waiting for its retry.
    case retryable
    /// Locked by a worker.
    case running
    /// Out of attempts; kept with its last error.
    case dead
}

public struct Job: Sendable, Equatable, Codable {
    public let id: Int64
    public let taskIdentifier: String
    public let queueName: String?
    /// The payload as JSON text.
    public let payload: String
    public let priority: Int
    public let runAt: Date
    public let attempts: Int
    public let maxAttempts: Int
    public let lastError: String?
    public let key: String?
    public let revision: Int
    public let lockedAt: Date?
    public let lockedBy: String?
    public let createdAt: Date
    public let updatedAt: Date
    public let scope: String?

    public func state(now: Date) -> JobState {
        if lockedAt != nil { return .running }
        if attempts >= maxAttempts { return .dead }
        if runAt > now { return attempts > 0 ? .retryable : .scheduled }
        return .available
    }

    init(row: SQLRow) throws {
        id = try row.decode("id")
        taskIdentifier = try row.decode("task_identifier")
        queueName = try row.decodeIfPresent("queue_name")
        payload = try row.decode("payload")
        priority = try row.decode("priority")
        runAt = try row.decode("run_at")
        attempts = try row.decode("attempts")
        maxAttempts = try row.decode("max_attempts")
        lastError = try row.decodeIfPresent("last_error")
        key = try row.decodeIfPresent("key")
        revision = try row.decode("revision")
        lockedAt = try row.decodeIfPresent("locked_at")
        lockedBy = try row.decodeIfPresent("locked_by")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
        scope = try row.decodeIfPresent("scope")
    }

    static let columns = "id, task_identifier, queue_name, payload, priority, run_at, attempts, max_attempts, last_error, key, revision, locked_at, locked_by, created_at, updated_at, scope"
}

public enum QueueError: Error, Sendable, Equatable, CustomStringConvertible {
    case jobNotFound(Int64)
    case jobIsRunning(Int64)
    case invalidOptions(String)

    public var description: String {
        switch self {
        case .jobNotFound(let id): return "Job \(id) not found"
        case .jobIsRunning(let id): return "Job \(id) is running; wait for it to finish"
        case .invalidOptions(let message): return message
        }
    }
}
