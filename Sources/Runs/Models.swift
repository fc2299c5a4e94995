import Foundation
import JSON
import Storage

/// Run statuses, later trigger.dev v2's words (its `GetRun` schema), so SDK 2.x's `getRun` parses them.
public enum RunStatus: String, Sendable, Codable, CaseIterable {
    /// Created, not yet queued (not used by this engine; accepted for completeness).
    case pending = "PENDING"
    /// Waiting for a slot in its job queue (`maxConcurrent`).
    case queued = "QUEUED"
    /// An EXECUTE_JOB request is in flight.
    case executing = "EXECUTING"
    /// The job is waiting for a task (`io.wait`, a retry) before its next execution.
    case waitingToContinue = "WAITING_TO_CONTINUE"
    /// The last EXECUTE_JOB failed in transport or with a 5xx; it is retried with backoff.
    case waitingToExecute = "WAITING_TO_EXECUTE"
    case success = "SUCCESS"
    case failure = "FAILURE"
    case canceled = "CANCELED"
    case timedOut = "TIMED_OUT"

    public var isFinished: Bool { [.success, .failure, .canceled, .timedOut].contains(self) }
}

public enum TaskStatus: String, Sendable, Codable, CaseIterable {
    case pending = "PENDING"
    case waiting = "WAITING"
    case running = "RUNNING"
    case completed = "COMPLETED"
    case errored = "ERRORED"
    case canceled = "CANCELED"

    public var isFinished: Bool { self == .completed || self == .errored || self == .canceled }
}

/// An event as it was received (`EventRecord`).
public struct EventRecord: Sendable, Equatable {
    public let id: UUID
    /// The caller's id (or one made for it): the dedupe key per environment, and the id the API shows.
    public let eventId: String
    public let name: String
    public let source: String
    public let timestamp: Date
    public let payload: JSONValue
    public let context: JSONValue
    public let sourceContext: JSONValue?
    public let environmentId: UUID
    public let deliverAt: Date
    public let deliveredAt: Date?
    public let isTest: Bool
    public let createdAt: Date
    public let updatedAt: Date

    static let columns = "id, event_id, name, source, timestamp, payload, context, source_context, environment_id, deliver_at, delivered_at, is_test, created_at, updated_at"

    init(row: SQLRow) throws {
        id = try row.decode("id")
        eventId = try row.decode("event_id")
        name = try row.decode("name")
        source = try row.decode("source")
        timestamp = try row.decode("timestamp")
        payload = try row.json("payload") ?? .null
        context = try row.json("context") ?? .null
        sourceContext = try row.json("source_context")
        environmentId = try row.decode("environment_id")
        deliverAt = try row.decode("deliver_at")
        deliveredAt = try row.decodeIfPresent("delivered_at")
        isTest = try row.decode("is_test")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
    }
}

/// A run of a job version, as the API and CLI show it.
public struct JobRun: Sendable, Equatable {
    public let id: UUID
    public let number: Int
    public let jobId: UUID
    public let jobSlug: String
    public let version: String
    public let eventId: UUID
    public let environmentId: UUID
    public let endpointId: UUID
    public let status: RunStatus
    public let output: JSONValue?
    public let isTest: Bool
    public let executionCount: Int
    public let createdAt: Date
    public let updatedAt: Date
    public let startedAt: Date?
    public let completedAt: Date?

    /// Selected from `job_runs r JOIN jobs j JOIN job_versions v`.
    static let columns = """
        r.id, r.number, r.job_id, j.slug AS job_slug, v.version, r.event_id, r.environment_id, r.endpoint_id, r.status, r.output, r.is_test,
        r.execution_count, r.created_at, r.updated_at, r.started_at, r.completed_at
        """
    static let joins = "job_runs r JOIN jobs j ON j.id = r.job_id JOIN job_versions v ON v.id = r.version_id"

    init(row: SQLRow) throws {
        id = try row.decode("id")
        number = try row.decode("number")
        jobId = try row.decode("job_id")
        jobSlug = try row.decode("job_slug")
        version = try row.decode("version")
        eventId = try row.decode("event_id")
        environmentId = try row.decode("environment_id")
        endpointId = try row.decode("endpoint_id")
        status = try row.enumeration("status")
        output = try row.json("output")
        isTest = try row.decode("is_test")
        executionCount = try row.decode("execution_count")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
        startedAt = try row.decodeIfPresent("started_at")
        completedAt = try row.decodeIfPresent("completed_at")
    }
}

/// A task of a run: one `io.runTask` (or log, wait, sendEvent) of the job's code.
public struct RunTask: Sendable, Equatable {
    public let id: String
    public let runId: UUID
    public let parentId: String?
    public let idempotencyKey: String
    public let displayKey: String?
    public let name: String
    public let icon: String?
    public let status: TaskStatus
    public let noop: Bool
    public let delayUntil: Date?
    public let description: String?
    public let properties: JSONValue?
    public let params: JSONValue?
    public let output: JSONValue?
    public let error: String?
    public let style: JSONValue?
    public let operation: String?
    public let attempts: Int
    public let startedAt: Date?
    public let completedAt: Date?
    public let createdAt: Date
    public let updatedAt: Date

    static let columns = """
        id, run_id, parent_id, idempotency_key, display_key, name, icon, status, noop, delay_until, description, properties, params, output,
        error, style, operation, attempts, started_at, completed_at, created_at, updated_at
        """

    init(row: SQLRow) throws {
        id = try row.decode("id")
        runId = try row.decode("run_id")
        parentId = try row.decodeIfPresent("parent_id")
        idempotencyKey = try row.decode("idempotency_key")
        displayKey = try row.decodeIfPresent("display_key")
        name = try row.decode("name")
        icon = try row.decodeIfPresent("icon")
        status = try row.enumeration("status")
        noop = try row.decode("noop")
        delayUntil = try row.decodeIfPresent("delay_until")
        description = try row.decodeIfPresent("description")
        properties = try row.json("properties")
        params = try row.json("params")
        output = try row.json("output")
        error = try row.decodeIfPresent("error")
        style = try row.json("style")
        operation = try row.decodeIfPresent("operation")
        attempts = try row.decode("attempts")
        startedAt = try row.decodeIfPresent("started_at")
        completedAt = try row.decodeIfPresent("completed_at")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
    }
}

/// Why a run or task request could not be served, with the message the client sees.
public enum RunServiceError: Error, Sendable, Equatable, CustomStringConvertible {
    case runNotFound
    case taskNotFound
    case eventNotFound
    case jobNotFound
    case notFound(String)
    case invalidInput(String)
    case tooLarge(String)

    public var description: String {
        switch self {
        case .runNotFound: return "Run not found"
        case .taskNotFound: return "Task not found"
        case .eventNotFound: return "Event not found"
        case .jobNotFound: return "Job not found"
        case .invalidInput(let message), .tooLarge(let message), .notFound(let message): return message
        }
    }
}

