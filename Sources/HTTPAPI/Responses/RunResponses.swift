import Foundation
import HTTPTypes
import Hummingbird
import JSON
import Runs
import TriggerProtocol

// The JSON shapes of the run API. Nullable fields are written as `null`, never left out: that is
// how the webapp answered and what the SDK's schemas (`.optional().nullable()`) expect.

private func nullable(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
private func nullable(_ value: Date?) -> JSONValue { value.map { .string(ISODate.format($0)) } ?? .null }

/// `ServerTask` (internal/src/schemas/tasks.ts:15-37): the task schema plus `idempotencyKey` and the
/// number of `attempts`, with the fields the 2023-09-29 protocol added (`context`, `callbackUrl`,
/// `forceYield`, `childExecutionMode`), in the key order of SDK 2.3's schema. The last v2 webapp sent
/// them to every SDK; 2.0's schema drops keys it does not know.
struct ServerTaskResponse: ResponseEncodable {
    let id: String
    let name: String
    let icon: JSONValue
    let noop: Bool
    let startedAt: JSONValue
    let completedAt: JSONValue
    let delayUntil: JSONValue
    let status: String
    let description: JSONValue
    let params: JSONValue
    let output: JSONValue
    let context: JSONValue
    let properties: JSONValue
    let style: JSONValue
    let error: JSONValue
    let parentId: JSONValue
    let attempts: Int
    let idempotencyKey: String
    let operation: JSONValue
    let callbackUrl: JSONValue
    let forceYield: Bool
    let childExecutionMode: String

    init(_ task: RunTask) {
        id = task.id
        name = task.name
        icon = nullable(task.icon)
        noop = task.noop
        startedAt = nullable(task.startedAt)
        completedAt = nullable(task.completedAt)
        delayUntil = nullable(task.delayUntil)
        status = task.status.rawValue
        description = nullable(task.description)
        params = task.params ?? .null
        output = task.output ?? .null
        context = .null
        properties = task.properties ?? .null
        style = task.style ?? .null
        error = nullable(task.error)
        parentId = nullable(task.parentId)
        attempts = task.attempts
        idempotencyKey = task.idempotencyKey
        operation = nullable(task.operation)
        callbackUrl = .null
        forceYield = false
        childExecutionMode = "SEQUENTIAL"
    }
}

/// `runTask`'s answer in the 2023-09-29 protocol: `{task, cachedTasks?: {tasks, cursor?}}`, with the
/// `trigger-version` answer header without which SDK 2.3 would read the body as a bare task.
struct VersionedServerTaskResponse: ResponseGenerator {
    struct CachedTasks: Encodable { let tasks: [CachedTask]; let cursor: String? }
    struct Body: ResponseEncodable { let task: ServerTaskResponse; let cachedTasks: CachedTasks? }
    let body: Body

    init(_ task: RunTask, cachedTasks: (tasks: [CachedTask], cursor: String?)?) {
        body = Body(task: ServerTaskResponse(task), cachedTasks: cachedTasks.map { CachedTasks(tasks: $0.tasks, cursor: $0.cursor) })
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try body.response(from: request, context: context)
        response.headers[HTTPField.Name("trigger-version")!] = RunProtocol.lazyCachedTasksVersion
        return response
    }
}

/// `runTask`'s answer: bare for SDK 2.0, versioned for 2.3.
enum AnyTaskResponse: ResponseGenerator {
    case bare(ServerTaskResponse)
    case versioned(VersionedServerTaskResponse)

    func response(from request: Request, context: some RequestContext) throws -> Response {
        switch self {
        case .bare(let task): try task.response(from: request, context: context)
        case .versioned(let answer): try answer.response(from: request, context: context)
        }
    }
}

/// A run as later v2's `GET /api/v2/runs/:runId` answers it (`GetRunSchema`), plus Kongflow's
/// `number`, `job`, `event` and `executions`.
struct RunResponse: ResponseEncodable {
    struct Job: Encodable { let id: String; let version: String }
    struct Task: Encodable {
        let id: String
        let name: String
        let icon: JSONValue
        let displayKey: JSONValue
        let status: String
        let startedAt: JSONValue
        let completedAt: JSONValue
        let delayUntil: JSONValue
        let noop: Bool
        let description: JSONValue
        let properties: JSONValue
        let params: JSONValue
        let output: JSONValue
        let error: JSONValue
        let style: JSONValue
        let attempts: Int
        let subtasks: [Task]?
    }

    let id: UUID
    let number: Int
    let status: String
    let job: Job
    let event: JSONValue
    let startedAt: JSONValue
    let updatedAt: Date
    let completedAt: JSONValue
    let output: JSONValue?
    let executions: Int
    let tasks: [Task]?

    init(_ run: JobRun, eventId: String? = nil, tasks: [RunTask]? = nil) {
        id = run.id
        number = run.number
        status = run.status.rawValue
        job = Job(id: run.jobSlug, version: run.version)
        event = nullable(eventId)
        startedAt = nullable(run.startedAt)
        updatedAt = run.updatedAt
        completedAt = nullable(run.completedAt)
        output = run.status.isFinished ? run.output ?? .null : nil
        executions = run.executionCount
        self.tasks = tasks.map(Self.tree)
    }

    /// Top-level tasks with their children as `subtasks`, in creation order.
    static func tree(_ tasks: [RunTask]) -> [Task] {
        var children: [String: [RunTask]] = [:]
        for task in tasks { children[task.parentId ?? "", default: []].append(task) }
        func build(_ task: RunTask) -> Task {
            let subtasks = (children[task.id] ?? []).map(build)
            return Task(id: task.id, name: task.name, icon: nullable(task.icon), displayKey: nullable(task.displayKey), status: task.status.rawValue,
                        startedAt: nullable(task.startedAt), completedAt: nullable(task.completedAt), delayUntil: nullable(task.delayUntil),
                        noop: task.noop, description: nullable(task.description), properties: task.properties ?? .null,
                        params: task.params ?? .null, output: task.output ?? .null, error: nullable(task.error), style: task.style ?? .null,
                        attempts: task.attempts, subtasks: subtasks.isEmpty ? nil : subtasks)
        }
        return (children[""] ?? []).map(build)
    }
}

struct RunPageResponse: ResponseEncodable {
    let runs: [RunResponse]
    let nextCursor: JSONValue
}

/// `GET /api/v2/events/:eventId` (later v2's `GetEventSchema`).
struct EventResponse: ResponseEncodable {
    struct Run: Encodable { let id: UUID; let status: String; let startedAt: JSONValue; let completedAt: JSONValue }
    let id: String
    let name: String
    let createdAt: Date
    let updatedAt: Date
    let runs: [Run]

    init(_ event: EventRecord, runs: [JobRun]) {
        id = event.eventId
        name = event.name
        createdAt = event.createdAt
        updatedAt = event.updatedAt
        self.runs = runs.map { Run(id: $0.id, status: $0.status.rawValue, startedAt: nullable($0.startedAt), completedAt: nullable($0.completedAt)) }
    }
}

extension ApiEventLog: ResponseEncodable {}

extension ApiEventLog {
    init(_ event: EventRecord) {
        self.init(id: event.eventId, name: event.name, payload: event.payload, context: event.context, timestamp: event.timestamp,
                  deliverAt: event.deliverAt, deliveredAt: event.deliveredAt)
    }
}
