import Foundation

/// A value decoded from JSON the way trigger.dev's zod schema parses it.
public protocol WireDecodable: Sendable {
    static func decode(_ value: JSONValue) throws -> Self
}

func runValidation<T>(_ body: (Validator) -> T?) throws -> T {
    let validator = Validator()
    guard let value = body(validator) else {
        throw ValidationError(issues: validator.issues.isEmpty ? [ValidationIssue(path: .root, message: "Invalid input")] : validator.issues)
    }
    return value
}

extension JobMetadata: WireDecodable {}
extension SourceMetadata: WireDecodable {
    public static func decode(_ value: JSONValue) throws -> SourceMetadata { try runValidation { validate(value, .root, $0) } }
}
extension DynamicTriggerEndpointMetadata: WireDecodable {
    public static func decode(_ value: JSONValue) throws -> DynamicTriggerEndpointMetadata { try runValidation { validate(value, .root, $0) } }
}
extension ScheduleMetadata: WireDecodable {
    /// `{type: "interval", options: {seconds}, metadata?, accountId?}` or `{type: "cron", options: {cron}, …}`:
    /// a declared schedule, a stored one, or the body of a dynamic schedule registration.
    public static func decode(_ value: JSONValue) throws -> ScheduleMetadata { try runValidation { validate(value, .root, $0) } }
}
extension RegisterDynamicSchedulePayload: WireDecodable {
    public static func decode(_ value: JSONValue) throws -> RegisterDynamicSchedulePayload { try runValidation { validate(value, .root, $0) } }
}

/// The answer to INDEX_ENDPOINT.
public struct IndexEndpointResponse: Sendable, Hashable, Encodable, WireDecodable {
    public let jobs: [JobMetadata]
    public let sources: [SourceMetadata]
    public let dynamicTriggers: [DynamicTriggerEndpointMetadata]
    public let dynamicSchedules: [RegisterDynamicSchedulePayload]
    /// Later SDKs; accepted and kept, not registered by this server.
    public let webhooks: [JSONValue]?
    public let httpEndpoints: [JSONValue]?

    public init(jobs: [JobMetadata], sources: [SourceMetadata], dynamicTriggers: [DynamicTriggerEndpointMetadata],
                dynamicSchedules: [RegisterDynamicSchedulePayload], webhooks: [JSONValue]? = nil, httpEndpoints: [JSONValue]? = nil) {
        self.jobs = jobs
        self.sources = sources
        self.dynamicTriggers = dynamicTriggers
        self.dynamicSchedules = dynamicSchedules
        self.webhooks = webhooks
        self.httpEndpoints = httpEndpoints
    }

    static func validate(_ value: JSONValue?, _ path: JSONPath, _ v: Validator) -> IndexEndpointResponse? {
        guard let o = v.object(value, path) else { return nil }
        let jobs = v.arrayOf(o["jobs"], path.key("jobs")) { JobMetadata.validate($0, $1, v) }
        let sources = v.arrayOf(o["sources"], path.key("sources")) { SourceMetadata.validate($0, $1, v) }
        let dynamicTriggers = v.arrayOf(o["dynamicTriggers"], path.key("dynamicTriggers")) { DynamicTriggerEndpointMetadata.validate($0, $1, v) }
        let dynamicSchedules = v.arrayOf(o["dynamicSchedules"], path.key("dynamicSchedules")) { RegisterDynamicSchedulePayload.validate($0, $1, v) }
        let webhooks = v.optional(o["webhooks"]) { v.array($0, path.key("webhooks")) }
        let httpEndpoints = v.optional(o["httpEndpoints"]) { v.array($0, path.key("httpEndpoints")) }
        guard let jobs, let sources, let dynamicTriggers, let dynamicSchedules, webhooks.ok, httpEndpoints.ok else { return nil }
        return IndexEndpointResponse(jobs: jobs, sources: sources, dynamicTriggers: dynamicTriggers, dynamicSchedules: dynamicSchedules,
                                     webhooks: webhooks.value, httpEndpoints: httpEndpoints.value)
    }

    /// Decodes and validates, throwing `IndexValidationError` with trigger.dev's friendly wording.
    public static func decode(_ value: JSONValue) throws -> IndexEndpointResponse {
        let v = Validator()
        if let response = validate(value, .root, v) { return response }
        throw IndexValidationError(issues: v.issues, document: value)
    }

    /// The counts stored on a successful endpoint index.
    public var stats: IndexStats {
        IndexStats(jobs: jobs.filter(\.enabled).count, sources: sources.count, dynamicTriggers: dynamicTriggers.count,
                   dynamicSchedules: dynamicSchedules.count, disabledJobs: jobs.filter { !$0.enabled }.count)
    }
}

public struct IndexStats: Sendable, Hashable, Codable {
    public let jobs: Int
    public let sources: Int
    public let dynamicTriggers: Int
    public let dynamicSchedules: Int
    public let disabledJobs: Int

    public init(jobs: Int, sources: Int, dynamicTriggers: Int, dynamicSchedules: Int, disabledJobs: Int = 0) {
        self.jobs = jobs
        self.sources = sources
        self.dynamicTriggers = dynamicTriggers
        self.dynamicSchedules = dynamicSchedules
        self.disabledJobs = disabledJobs
    }
}

/// A schema mismatch in an INDEX_ENDPOINT answer, worded as later trigger.dev words it.
public struct IndexValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let issues: [ValidationIssue]
    let jobIds: [Int: String]

    init(issues: [ValidationIssue], document: JSONValue) {
        self.issues = issues
        var ids: [Int: String] = [:]
        if case .array(let jobs) = document["jobs"] {
            for (index, job) in jobs.enumerated() { if let id = job["id"]?.stringValue { ids[index] = id } }
        }
        self.jobIds = ids
    }

    /// `Your Jobs have issues:\n- Job "<id>": <message> at "<path>".` when every issue is inside a
    /// job; otherwise `There's an issue with the format of your Jobs: <issues>`.
    public var message: String {
        let jobIssues = issues.compactMap { issue -> (Int, ValidationIssue)? in
            guard issue.path.components.count >= 2, case .key("jobs") = issue.path.components[0],
                  case .index(let index) = issue.path.components[1] else { return nil }
            return (index, issue)
        }
        if !jobIssues.isEmpty, jobIssues.count == issues.count {
            let lines = jobIssues.map { index, issue -> String in
                let name = jobIds[index].map { "Job \"\($0)\"" } ?? "Job at index \(index)"
                let rest = JSONPath(Array(issue.path.components.dropFirst(2)))
                return rest.components.isEmpty ? "- \(name): \(issue.message)." : "- \(name): \(issue.message) at \"\(rest)\"."
            }
            return "Your Jobs have issues:\n" + lines.joined(separator: "\n")
        }
        return ValidationError(issues: issues).message(prefix: "There's an issue with the format of your Jobs")
    }

    /// Every issue, as stored in an index's `error.raw`.
    public var raw: JSONValue { ValidationError(issues: issues).raw }

    public var description: String { message }
}

/// The answer to PING: `{ok: true}` or `{ok: false, error}`. The c5d SDK wrote `message` instead of
/// `error`; both are accepted.
public enum PongResponse: Sendable, Hashable, WireDecodable {
    case success(triggerVersion: String?, triggerSdkVersion: String?)
    case failure(String)

    public static func decode(_ value: JSONValue) throws -> PongResponse {
        try runValidation { v in
            guard let o = v.object(value, .root) else { return nil }
            guard case .bool(let ok) = o["ok"] else {
                v.fail(JSONPath.root.key("ok"), "Invalid discriminator value. Expected true | false")
                return nil
            }
            if ok {
                let triggerVersion = v.optional(o["triggerVersion"]) { v.string($0, JSONPath.root.key("triggerVersion")) }
                let sdkVersion = v.optional(o["triggerSdkVersion"]) { v.string($0, JSONPath.root.key("triggerSdkVersion")) }
                guard triggerVersion.ok, sdkVersion.ok else { return nil }
                return .success(triggerVersion: triggerVersion.value, triggerSdkVersion: sdkVersion.value)
            }
            if case .string(let error) = o["error"] { return .failure(error) }
            if case .string(let message) = o["message"] { return .failure(message) }
            v.expected("string", o["error"], JSONPath.root.key("error"))
            return nil
        }
    }
}

/// An SDK error body, e.g. the 401 `{"message":"Unauthorized"}`.
public struct ErrorWithStack: Sendable, Hashable, Encodable, WireDecodable {
    public let message: String
    public let name: String?
    public let stack: String?

    public init(message: String, name: String? = nil, stack: String? = nil) {
        self.message = message
        self.name = name
        self.stack = stack
    }

    public static func decode(_ value: JSONValue) throws -> ErrorWithStack {
        try runValidation { validate(value, .root, $0) }
    }

    static func validate(_ value: JSONValue?, _ path: JSONPath, _ v: Validator) -> ErrorWithStack? {
        guard let o = v.object(value, path) else { return nil }
        let message = v.string(o["message"], path.key("message"))
        let name = v.optional(o["name"]) { v.string($0, path.key("name")) }
        let stack = v.optional(o["stack"]) { v.string($0, path.key("stack")) }
        guard let message, name.ok, stack.ok else { return nil }
        return ErrorWithStack(message: message, name: name.value, stack: stack.value)
    }

    /// trigger.dev's `formatError`: `"<name>: <message>"`, or the message alone.
    public var formatted: String {
        if let name, !name.isEmpty { return "\(name): \(message)" }
        return message
    }

    /// The object stored as a run's or task's output when it failed: `{message, name?, stack?}`.
    public var json: JSONValue {
        var object: [String: JSONValue] = ["message": .string(message)]
        if let name { object["name"] = .string(name) }
        if let stack { object["stack"] = .string(stack) }
        return .object(object)
    }
}


