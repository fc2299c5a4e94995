import Foundation

// The run protocol of trigger.dev v2 (docs/spec/trigger-v2-runs.md §1–§2): what the SDK sends to the task and
// event routes, what the server sends in EXECUTE_JOB, and what the SDK answers. Validated the way
// the SDK's zod schemas at c5d91e7 parse them (internal/src/schemas/api.ts, tasks.ts).

extension Validator {
    /// `z.coerce.date()`: an ISO 8601 string (any fraction, `Z` or an offset) or epoch milliseconds.
    func date(_ value: JSONValue?, _ path: JSONPath) -> Date? {
        switch value {
        case .string(let text):
            if let date = ISODate.parse(text) { return date }
            fail(path, "Invalid date")
            return nil
        case .number(let millis) where millis.isFinite:
            return Date(timeIntervalSince1970: millis / 1000)
        default:
            expected("date", value, path)
            return nil
        }
    }

    /// `.optional().nullable()`: absent and null are both "no value".
    func nullable<T>(_ value: JSONValue?, _ parse: (JSONValue) -> T?) -> Field<T> {
        if value == nil || value == .null { return .absent }
        return optional(value, parse)
    }
}

// MARK: Events

/// `POST /api/v1/events`: `SendEventBody {event: {id?, name, source?, payload?, context?, timestamp?},
/// options?: {deliverAt?, deliverAfter?, accountId?}}`.
public struct SendEventBody: Sendable, Equatable, WireDecodable {
    public let id: String?
    public let name: String
    public let source: String?
    public let payload: JSONValue?
    public let context: JSONValue?
    public let timestamp: Date?
    public let deliverAt: Date?
    /// Seconds; used when `deliverAt` is absent.
    public let deliverAfter: Int?
    public let accountId: String?

    public init(id: String? = nil, name: String, source: String? = nil, payload: JSONValue? = nil, context: JSONValue? = nil,
                timestamp: Date? = nil, deliverAt: Date? = nil, deliverAfter: Int? = nil, accountId: String? = nil) {
        self.id = id
        self.name = name
        self.source = source
        self.payload = payload
        self.context = context
        self.timestamp = timestamp
        self.deliverAt = deliverAt
        self.deliverAfter = deliverAfter
        self.accountId = accountId
    }

    public static func decode(_ value: JSONValue) throws -> SendEventBody {
        try runValidation { v in
            guard let o = v.object(value, .root) else { return nil }
            let eventPath = JSONPath.root.key("event")
            guard let event = v.object(o["event"], eventPath) else { return nil }
            let id = v.optional(event["id"]) { v.string($0, eventPath.key("id")) }
            let name = v.string(event["name"], eventPath.key("name"))
            let source = v.optional(event["source"]) { v.string($0, eventPath.key("source")) }
            let timestamp = v.optional(event["timestamp"]) { v.date($0, eventPath.key("timestamp")) }
            let optionsPath = JSONPath.root.key("options")
            let options = v.optional(o["options"]) { v.object($0, optionsPath) }
            let opts = options.value ?? [:]
            let deliverAt = v.optional(opts["deliverAt"]) { v.date($0, optionsPath.key("deliverAt")) }
            let deliverAfter = v.optional(opts["deliverAfter"]) { v.integer($0, optionsPath.key("deliverAfter")) }
            let accountId = v.optional(opts["accountId"]) { v.string($0, optionsPath.key("accountId")) }
            guard let name, id.ok, source.ok, timestamp.ok, options.ok, deliverAt.ok, deliverAfter.ok, accountId.ok else { return nil }
            if let id = id.value, id.isEmpty || id.count > 256 {
                v.fail(eventPath.key("id"), "String must contain between 1 and 256 character(s)")
                return nil
            }
            if name.isEmpty { v.fail(eventPath.key("name"), "String must contain at least 1 character(s)"); return nil }
            if let after = deliverAfter.value, after < 0 { v.fail(optionsPath.key("deliverAfter"), "Number must be greater than or equal to 0"); return nil }
            return SendEventBody(id: id.value, name: name, source: source.value, payload: event["payload"], context: event["context"],
                                 timestamp: timestamp.value, deliverAt: deliverAt.value, deliverAfter: deliverAfter.value, accountId: accountId.value)
        }
    }
}

/// `ApiEventLog`, what `sendEvent` answers and EXECUTE_JOB's `event`: `{id, name, payload, context?,
/// timestamp, deliverAt?, deliveredAt?, cancelledAt?}`. `id` is the caller's event id (later
/// trigger.dev, #380). `cancelledAt` came with the 2023-09-29 protocol; the 2.0 EXECUTE_JOB body
/// leaves it out (`includesCancelledAt`), every API answer carries it (older SDKs drop unknown keys).
public struct ApiEventLog: Sendable, Equatable, Encodable {
    public let id: String
    public let name: String
    public let payload: JSONValue
    public let context: JSONValue
    public let timestamp: Date
    public let deliverAt: Date?
    public let deliveredAt: Date?
    public var cancelledAt: Date?
    public var includesCancelledAt = true

    public init(id: String, name: String, payload: JSONValue, context: JSONValue, timestamp: Date, deliverAt: Date?, deliveredAt: Date?,
                cancelledAt: Date? = nil) {
        self.id = id
        self.name = name
        self.payload = payload
        self.context = context
        self.timestamp = timestamp
        self.deliverAt = deliverAt
        self.deliveredAt = deliveredAt
        self.cancelledAt = cancelledAt
    }

    enum CodingKeys: String, CodingKey { case id, name, payload, context, timestamp, deliverAt, deliveredAt, cancelledAt }

    /// `deliverAt`/`deliveredAt`/`cancelledAt` are `null` when unset (the schema says nullable), never absent.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(payload, forKey: .payload)
        try c.encode(context, forKey: .context)
        try c.encode(timestamp, forKey: .timestamp)
        try c.encode(deliverAt.map { JSONValue.string(ISODate.format($0)) } ?? .null, forKey: .deliverAt)
        try c.encode(deliveredAt.map { JSONValue.string(ISODate.format($0)) } ?? .null, forKey: .deliveredAt)
        if includesCancelledAt { try c.encode(cancelledAt.map { JSONValue.string(ISODate.format($0)) } ?? .null, forKey: .cancelledAt) }
    }
}

// MARK: Filters

/// trigger.dev's event filter matching (docs/spec/trigger-v2-runs.md §3.2), without its crash: for every key of the pattern
/// (AND), an array pattern matches a value strictly equal to one of its elements (an empty array
/// matches anything, even a missing key); an object pattern recurses, and matches when some element
/// of an array value does. A missing value never matches a non-empty pattern. Later SDKs' content
/// matchers (`{"$startsWith": "x"}`, …) are honoured too.
public enum EventFilterMatcher {
    public static func matches(_ value: JSONValue?, _ pattern: [String: JSONValue]) -> Bool {
        for (key, expected) in pattern {
            let actual: JSONValue? = value?[key]
            switch expected {
            case .array(let options):
                if options.isEmpty { continue }
                if options.allSatisfy({ $0.objectValue != nil }) {
                    guard options.contains(where: { contentMatches(actual, $0.objectValue!) }) else { return false }
                } else {
                    guard let actual, options.contains(where: { strictlyEqual($0, actual) }) else { return false }
                }
            case .object(let nested):
                if nested.isEmpty { continue }
                guard let actual, actual != .null else { return false }
                if case .array(let elements) = actual {
                    guard elements.contains(where: { matches($0, nested) }) else { return false }
                } else {
                    guard matches(actual, nested) else { return false }
                }
            default:
                continue
            }
        }
        return true
    }

    /// SameValueZero on scalars: `"1"` is not `1`, arrays and objects never equal a scalar option.
    static func strictlyEqual(_ option: JSONValue, _ value: JSONValue) -> Bool {
        switch (option, value) {
        case (.string(let a), .string(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        default: return false
        }
    }

    /// One content matcher (`eventFilterMatches` of later trigger.dev).
    static func contentMatches(_ value: JSONValue?, _ matcher: [String: JSONValue]) -> Bool {
        for (operation, argument) in matcher {
            let ok: Bool
            switch operation {
            case "$startsWith": ok = value?.stringValue.flatMap { v in argument.stringValue.map { v.hasPrefix($0) } } ?? false
            case "$endsWith": ok = value?.stringValue.flatMap { v in argument.stringValue.map { v.hasSuffix($0) } } ?? false
            case "$ignoreCaseEquals":
                ok = value?.stringValue.flatMap { v in argument.stringValue.map { v.lowercased() == $0.lowercased() } } ?? false
            case "$exists": ok = (value != nil) == (argument.boolValue ?? true)
            case "$isNull": ok = (value == nil || value == .null) == (argument.boolValue ?? true)
            case "$anythingBut":
                if case .array(let options) = argument {
                    ok = value.map { v in !options.contains { strictlyEqual($0, v) } } ?? true
                } else {
                    ok = value.map { !strictlyEqual(argument, $0) } ?? true
                }
            case "$gt", "$lt", "$gte", "$lte":
                guard let v = value?.numberValue, let a = argument.numberValue else { return false }
                ok = operation == "$gt" ? v > a : operation == "$lt" ? v < a : operation == "$gte" ? v >= a : v <= a
            case "$between":
                guard let v = value?.numberValue, case .array(let bounds) = argument, bounds.count == 2,
                      let low = bounds[0].numberValue, let high = bounds[1].numberValue else { return false }
                ok = v >= low && v <= high
            case "$includes":
                guard case .array(let elements)? = value else { return false }
                ok = elements.contains { strictlyEqual(argument, $0) }
            case "$not":
                ok = value.map { !strictlyEqual(argument, $0) } ?? true
            default:
                return false
            }
            if !ok { return false }
        }
        return true
    }
}

// MARK: Tasks

/// `{style: "normal" | "minimal", variant?}`.
public struct TaskStyle: Sendable, Hashable, Codable {
    public let style: String
    public let variant: String?

    public init(style: String, variant: String? = nil) {
        self.style = style
        self.variant = variant
    }
}

/// `POST /api/v1/runs/:runId/tasks`: `RunTaskBodyOutput` (api.ts:418-446). `name` was required at c5d
/// and defaults to `"Task"` in later SDKs; `retry` is the SDK's own business and is not kept.
public struct RunTaskBody: Sendable, Equatable, WireDecodable {
    public let idempotencyKey: String
    public let parentId: String?
    public let name: String
    public let icon: String?
    public let displayKey: String?
    public let noop: Bool
    public let operation: String?
    public let delayUntil: Date?
    public let description: String?
    public let properties: JSONValue?
    public let params: JSONValue?
    public let trigger: JSONValue?
    public let redact: JSONValue?
    public let connectionKey: String?
    public let style: TaskStyle?

    public static func decode(_ value: JSONValue) throws -> RunTaskBody {
        try runValidation { v in
            guard let o = v.object(value, .root) else { return nil }
            func string(_ key: String) -> Field<String> { v.optional(o[key]) { v.string($0, JSONPath.root.key(key)) } }
            let key = v.string(o["idempotencyKey"], JSONPath.root.key("idempotencyKey"))
            let parentId = string("parentId"), name = string("name"), icon = string("icon"), displayKey = string("displayKey")
            let operation = string("operation"), description = string("description"), connectionKey = string("connectionKey")
            let noop = v.optional(o["noop"]) { v.bool($0, JSONPath.root.key("noop")) }
            let delayUntil = v.optional(o["delayUntil"]) { v.date($0, JSONPath.root.key("delayUntil")) }
            let properties = v.optional(o["properties"]) { value -> JSONValue? in
                v.arrayOf(value, JSONPath.root.key("properties")) { DisplayProperty.validate($0, $1, v) }.map { _ in value }
            }
            let redact = v.optional(o["redact"]) { value -> JSONValue? in
                guard let r = v.object(value, JSONPath.root.key("redact")),
                      v.arrayOf(r["paths"], JSONPath.root.key("redact").key("paths"), { v.string($0, $1) }) != nil else { return nil }
                return value
            }
            let style = v.optional(o["style"]) { value -> TaskStyle? in
                let path = JSONPath.root.key("style")
                guard let s = v.object(value, path), let kind = v.enumeration(s["style"], ["normal", "minimal"], path.key("style")) else { return nil }
                let variant = v.optional(s["variant"]) { v.string($0, path.key("variant")) }
                guard variant.ok else { return nil }
                return TaskStyle(style: kind, variant: variant.value)
            }
            guard let key, parentId.ok, name.ok, icon.ok, displayKey.ok, operation.ok, description.ok, connectionKey.ok,
                  noop.ok, delayUntil.ok, properties.ok, redact.ok, style.ok else { return nil }
            return RunTaskBody(idempotencyKey: key, parentId: parentId.value, name: name.value ?? "Task", icon: icon.value,
                               displayKey: displayKey.value, noop: noop.value ?? false, operation: operation.value,
                               delayUntil: delayUntil.value, description: description.value, properties: properties.value,
                               params: o["params"], trigger: o["trigger"], redact: redact.value, connectionKey: connectionKey.value,
                               style: style.value)
        }
    }
}

/// `POST …/tasks/:id/complete`: `{output?, properties?, description?, params?}`. Only `output` is kept.
public struct CompleteTaskBody: Sendable, Equatable, WireDecodable {
    public let output: JSONValue?

    public static func decode(_ value: JSONValue) throws -> CompleteTaskBody {
        try runValidation { v in
            guard let o = v.object(value, .root) else { return nil }
            return CompleteTaskBody(output: o["output"])
        }
    }
}

/// `POST …/tasks/:id/fail`: `{error: ErrorWithStack}`.
public struct FailTaskBody: Sendable, Equatable, WireDecodable {
    public let error: ErrorWithStack

    public static func decode(_ value: JSONValue) throws -> FailTaskBody {
        try runValidation { v in
            guard let o = v.object(value, .root), let error = ErrorWithStack.validate(o["error"], JSONPath.root.key("error"), v) else { return nil }
            return FailTaskBody(error: error)
        }
    }
}

/// `POST /api/v1/jobs/:jobSlug/invoke`: `{payload?, context?, options?: {accountId?, callbackUrl?}}`.
public struct InvokeJobBody: Sendable, Equatable, WireDecodable {
    public let payload: JSONValue?
    public let context: JSONValue?

    public static func decode(_ value: JSONValue) throws -> InvokeJobBody {
        try runValidation { v in
            guard let o = v.object(value, .root) else { return nil }
            return InvokeJobBody(payload: o["payload"], context: o["context"])
        }
    }
}

// MARK: EXECUTE_JOB

/// The `RunJobBody` of EXECUTE_JOB (api.ts:246-276). Optional objects are omitted, never null: the
/// SDK's schema rejects `account: null`, `source: null`, `tasks: null` and `connections: null`.
/// The fields from `project` on (and `run.isRetry`) belong to the 2023-09-29 protocol of SDK 2.3
/// (docs/spec/trigger-v2-runs.md §9) and are left out for 2.0 endpoints.
public struct RunJobBody: Sendable, Equatable, Encodable {
    public struct Job: Sendable, Equatable, Encodable { public let id: String; public let version: String }
    public struct Run: Sendable, Equatable, Encodable {
        public let id: String
        public let isTest: Bool
        public let startedAt: Date
        public var isRetry: Bool?
    }
    public struct Environment: Sendable, Equatable, Encodable { public let id: String; public let slug: String; public let type: String }
    public struct Organization: Sendable, Equatable, Encodable { public let id: String; public let title: String; public let slug: String }
    public struct Project: Sendable, Equatable, Encodable {
        public let id: String; public let slug: String; public let name: String
        public init(id: UUID, slug: String, name: String) { self.id = id.lowercasedString; self.slug = slug; self.name = name }
    }
    public struct Source: Sendable, Equatable, Encodable {
        public let id: String
        public let metadata: JSONValue?
        public init(id: String, metadata: JSONValue?) { self.id = id; self.metadata = metadata }
    }
    /// The endpoint's auto-yield thresholds (ms before its limit). SDK 2.3.18 accepts them and keeps
    /// its own; they are sent as the webapp sent them.
    public struct AutoYieldConfig: Sendable, Equatable, Encodable {
        public var startTaskThreshold = 750
        public var beforeExecuteTaskThreshold = 1500
        public var beforeCompleteTaskThreshold = 750
        public var afterCompleteTaskThreshold = 750
        public init() {}
    }

    public let event: ApiEventLog
    public let job: Job
    public let run: Run
    public let environment: Environment
    public let organization: Organization
    public var project: Project?
    public let source: Source?
    public var connections: [String: JSONValue]
    public let tasks: [CachedTask]
    public var cachedTaskCursor: String?
    public var noopTasksSet: String?
    public var yieldedExecutions: [String]?
    public var runChunkExecutionLimit: Int?
    public var autoYieldConfig: AutoYieldConfig?

    public init(event: ApiEventLog, job: Job, run: Run, environment: Environment, organization: Organization,
                source: Source? = nil, tasks: [CachedTask]) {
        self.event = event
        self.job = job
        self.run = run
        self.environment = environment
        self.organization = organization
        self.source = source
        self.connections = [:]
        self.tasks = tasks
    }
}

extension RunJobBody.Job { public init(slug: String, version: String) { self.init(id: slug, version: version) } }
extension RunJobBody.Run { public init(id: UUID, isTest: Bool, startedAt: Date) { self.init(id: id.lowercasedString, isTest: isTest, startedAt: startedAt) } }
extension RunJobBody.Environment { public init(id: UUID, slug: String, type: String) { self.init(id: id.lowercasedString, slug: slug, type: type) } }
extension RunJobBody.Organization { public init(id: UUID, title: String, slug: String) { self.init(id: id.lowercasedString, title: title, slug: slug) } }

/// `CachedTask {id, idempotencyKey, status, noop, output?, parentId?}`. For 2.0 endpoints `id` is the
/// task id and `output`/`parentId` are `null` when unset, as the webapp sent them; in the 2023-09-29
/// protocol `id` is the idempotency key (the SDK looks cached tasks up by it) and a missing output is
/// left out.
public struct CachedTask: Sendable, Equatable, Encodable {
    public let id: String
    public let idempotencyKey: String
    public let status: String
    public let noop: Bool
    public let output: JSONValue?
    public let parentId: String?
    public let keyedByIdempotencyKey: Bool

    public init(id: String, idempotencyKey: String, status: String, noop: Bool, output: JSONValue?, parentId: String?,
                keyedByIdempotencyKey: Bool = false) {
        self.id = id
        self.idempotencyKey = idempotencyKey
        self.status = status
        self.noop = noop
        self.output = output
        self.parentId = parentId
        self.keyedByIdempotencyKey = keyedByIdempotencyKey
    }

    enum CodingKeys: String, CodingKey { case id, status, idempotencyKey, noop, output, parentId }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(keyedByIdempotencyKey ? idempotencyKey : id, forKey: .id)
        try c.encode(status, forKey: .status)
        try c.encode(idempotencyKey, forKey: .idempotencyKey)
        try c.encode(noop, forKey: .noop)
        if let output { try c.encode(output, forKey: .output) } else if !keyedByIdempotencyKey { try c.encode(JSONValue.null, forKey: .output) }
        try c.encode(parentId.map(JSONValue.string) ?? .null, forKey: .parentId)
    }

    /// The characters this task takes in a body, to keep a body within its size bound.
    public var encodedSize: Int { id.utf8.count + idempotencyKey.utf8.count + (output?.jsonString().utf8.count ?? 4) + (parentId?.utf8.count ?? 4) + 80 }
}

/// The EXECUTE_JOB answer, `RunJobResponse` (api.ts:280-316), with the variants SDK 2.3 added
/// (docs/spec/trigger-v2-runs.md §9): 11 in all.
public enum RunJobResponse: Sendable, Equatable, WireDecodable {
    /// The task an answer refers to: its id, and its operation if the SDK reported one.
    public struct TaskRef: Sendable, Equatable {
        public let id: String
        public let operation: String?
    }

    case success(output: JSONValue?)
    case error(ErrorWithStack, task: TaskRef?)
    case resumeWithTask(TaskRef)
    case retryWithTask(TaskRef, error: ErrorWithStack, retryAt: Date)
    /// `io.yield(key)`: run again at once; the key goes into `yieldedExecutions` so it is not yielded twice.
    case yieldExecution(key: String)
    /// The SDK stopped near its time limit (`location` says where); run again at once.
    case autoYield(location: String)
    /// As `autoYield`, with a task that finished just before: complete it (output as JSON text) first.
    case autoYieldWithCompletedTask(taskId: String, output: String?, properties: JSONValue?, location: String)
    /// The server said 429 to the SDK: run again at `reset`.
    case autoYieldRateLimit(reset: Date)
    /// The SDK met a CANCELED task: the run was canceled.
    case canceled
    case unresolvedAuthError(issues: JSONValue)
    case invalidPayload(errors: JSONValue)
    /// Parallel child tasks (`childExecutionMode: PARALLEL`), which Kongflow does not run.
    case resumeWithParallelTask(TaskRef)

    static let statuses = ["SUCCESS", "ERROR", "RESUME_WITH_TASK", "RETRY_WITH_TASK", "YIELD_EXECUTION", "AUTO_YIELD_EXECUTION",
                           "AUTO_YIELD_EXECUTION_WITH_COMPLETED_TASK", "AUTO_YIELD_RATE_LIMIT", "CANCELED", "UNRESOLVED_AUTH_ERROR",
                           "INVALID_PAYLOAD", "RESUME_WITH_PARALLEL_TASK"]

    /// One of the four answers of the unversioned protocol (SDK 2.0).
    public var isUnversioned: Bool {
        switch self {
        case .success, .error, .resumeWithTask, .retryWithTask: true
        default: false
        }
    }

    public var status: String {
        switch self {
        case .success: "SUCCESS"
        case .error: "ERROR"
        case .resumeWithTask: "RESUME_WITH_TASK"
        case .retryWithTask: "RETRY_WITH_TASK"
        case .yieldExecution: "YIELD_EXECUTION"
        case .autoYield: "AUTO_YIELD_EXECUTION"
        case .autoYieldWithCompletedTask: "AUTO_YIELD_EXECUTION_WITH_COMPLETED_TASK"
        case .autoYieldRateLimit: "AUTO_YIELD_RATE_LIMIT"
        case .canceled: "CANCELED"
        case .unresolvedAuthError: "UNRESOLVED_AUTH_ERROR"
        case .invalidPayload: "INVALID_PAYLOAD"
        case .resumeWithParallelTask: "RESUME_WITH_PARALLEL_TASK"
        }
    }

    public static func decode(_ value: JSONValue) throws -> RunJobResponse {
        try runValidation { v in
            guard let o = v.object(value, .root), let status = v.discriminator(o, "status", statuses, .root) else { return nil }
            func task(required: Bool) -> Field<TaskRef> {
                let path = JSONPath.root.key("task")
                if !required, o["task"] == nil { return .absent }
                guard let t = v.object(o["task"], path), let id = v.string(t["id"], path.key("id")) else { return .invalid }
                let operation = v.nullable(t["operation"]) { v.string($0, path.key("operation")) }
                guard operation.ok else { return .invalid }
                return .value(TaskRef(id: id, operation: operation.value))
            }
            switch status {
            case "SUCCESS":
                return .success(output: o["output"])
            case "ERROR":
                let error = ErrorWithStack.validate(o["error"], JSONPath.root.key("error"), v)
                let ref = task(required: false)
                guard let error, ref.ok else { return nil }
                return .error(error, task: ref.value)
            case "RESUME_WITH_TASK":
                return task(required: true).value.map { .resumeWithTask($0) }
            case "RETRY_WITH_TASK":
                let ref = task(required: true)
                let error = ErrorWithStack.validate(o["error"], JSONPath.root.key("error"), v)
                let retryAt = v.date(o["retryAt"], JSONPath.root.key("retryAt"))
                guard let ref = ref.value, let error, let retryAt else { return nil }
                return .retryWithTask(ref, error: error, retryAt: retryAt)
            case "YIELD_EXECUTION":
                return v.string(o["key"], JSONPath.root.key("key")).map { .yieldExecution(key: $0) }
            case "AUTO_YIELD_EXECUTION":
                return v.string(o["location"], JSONPath.root.key("location")).map { .autoYield(location: $0) }
            case "AUTO_YIELD_EXECUTION_WITH_COMPLETED_TASK":
                let id = v.string(o["id"], JSONPath.root.key("id"))
                let output = v.optional(o["output"]) { v.string($0, JSONPath.root.key("output")) }
                let data = v.object(o["data"], JSONPath.root.key("data"))
                let location = data.flatMap { v.string($0["location"], JSONPath.root.key("data").key("location")) }
                guard let id, output.ok, let location else { return nil }
                return .autoYieldWithCompletedTask(taskId: id, output: output.value, properties: o["properties"], location: location)
            case "AUTO_YIELD_RATE_LIMIT":
                return v.number(o["reset"], JSONPath.root.key("reset")).map { .autoYieldRateLimit(reset: Date(timeIntervalSince1970: $0 / 1000)) }
            case "CANCELED":
                return .canceled
            case "UNRESOLVED_AUTH_ERROR":
                return .unresolvedAuthError(issues: o["issues"] ?? .null)
            case "INVALID_PAYLOAD":
                return .invalidPayload(errors: o["errors"] ?? .null)
            default:
                return task(required: true).value.map { .resumeWithParallelTask($0) }
            }
        }
    }
}

// MARK: Schedules

/// `POST /api/v1/:client/schedules/:id/registrations`: `{id: <key>, type, options, metadata?, accountId?}`
/// (`RegisterScheduleBody`; the SDK sends `{id: key, ...ScheduleMetadata}`).
public struct RegisterScheduleBody: Sendable, Equatable, WireDecodable {
    public let key: String
    public let schedule: ScheduleMetadata
    public let metadata: JSONValue?

    public static func decode(_ value: JSONValue) throws -> RegisterScheduleBody {
        try runValidation { v in
            guard let o = v.object(value, .root) else { return nil }
            let key = v.string(o["id"], JSONPath.root.key("id"))
            let schedule = ScheduleMetadata.validate(value, .root, v)
            guard let key, let schedule else { return nil }
            if key.isEmpty { v.fail(JSONPath.root.key("id"), "String must contain at least 1 character(s)"); return nil }
            return RegisterScheduleBody(key: key, schedule: schedule, metadata: o["metadata"])
        }
    }
}
