// The trigger.dev v2 wire types, each with a validator that mirrors its zod schema
// (packages/internal/src/schemas at c5d91e7, widened where later v2 SDKs changed a field) and an
// encoding that gives the stripped, defaulted value trigger.dev stores.

/// `string | string[]` (later SDKs allow several event names and static trigger titles).
public enum StringOrStrings: Sendable, Hashable, Encodable {
    case one(String)
    case many([String])

    static func validate(_ value: JSONValue?, _ path: JSONPath, _ v: Validator) -> StringOrStrings? {
        if case .array = value {
            return v.arrayOf(value, path) { v.string($0, $1) }.map(StringOrStrings.many)
        }
        return v.string(value, path).map(StringOrStrings.one)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .one(let s): try container.encode(s)
        case .many(let a): try container.encode(a)
        }
    }
}

public struct DisplayProperty: Sendable, Hashable, Encodable {
    public let label: String
    public let text: String
    public let url: String?

    static func validate(_ value: JSONValue?, _ path: JSONPath, _ v: Validator) -> DisplayProperty? {
        guard let o = v.object(value, path) else { return nil }
        let label = v.string(o["label"], path.key("label"))
        let text = v.string(o["text"], path.key("text"))
        let url = v.optional(o["url"]) { v.string($0, path.key("url")) }
        guard let label, let text, url.ok else { return nil }
        return DisplayProperty(label: label, text: text, url: url.value)
    }
}

public struct EventExample: Sendable, Hashable, Encodable {
    public let id: String
    public let icon: String?
    public let name: String
    public let payload: JSONValue?

    static func validate(_ value: JSONValue?, _ path: JSONPath, _ v: Validator) -> EventExample? {
        guard let o = v.object(value, path) else { return nil }
        let id = v.string(o["id"], path.key("id"))
        let icon = v.optional(o["icon"]) { v.string($0, path.key("icon")) }
        let name = v.string(o["name"], path.key("name"))
        guard let id, let name, icon.ok else { return nil }
        return EventExample(id: id, icon: icon.value, name: name, payload: o["payload"])
    }
}

/// A recursive event filter: values are arrays of strings, numbers or booleans (or, in later SDKs,
/// content matchers such as `{"$startsWith": "x"}`), or nested filters. Kept as validated JSON.
public struct EventFilter: Sendable, Hashable, Encodable {
    public let value: [String: JSONValue]

    static let matcherKeys: Set<String> = [
        "$startsWith", "$endsWith", "$ignoreCaseEquals", "$exists", "$isNull", "$anythingBut",
        "$gt", "$lt", "$gte", "$lte", "$between", "$includes", "$not",
    ]

    static func validate(_ value: JSONValue?, _ path: JSONPath, _ v: Validator, depth: Int = 0) -> EventFilter? {
        guard depth < v.maximumDepth else {
            v.fail(path, "Filter is nested more than \(v.maximumDepth) levels deep")
            return nil
        }
        guard let o = v.object(value, path) else { return nil }
        var ok = true
        for key in o.keys.sorted() {
            let itemPath = path.key(key)
            switch o[key]! {
            case .array(let items):
                if !validArray(items) { v.fail(itemPath, "Invalid input"); ok = false }
            case .object:
                if validate(o[key], itemPath, v, depth: depth + 1) == nil { ok = false }
            default:
                v.fail(itemPath, "Invalid input")
                ok = false
            }
        }
        return ok ? EventFilter(value: o) : nil
    }

    /// `string[] | number[] | boolean[]`, or an array of content matchers.
    static func validArray(_ items: [JSONValue]) -> Bool {
        if items.allSatisfy({ if case .string = $0 { return true } else { return false } }) { return true }
        if items.allSatisfy({ if case .number(let d) = $0 { return d.isFinite } else { return false } }) { return true }
        if items.allSatisfy({ if case .bool = $0 { return true } else { return false } }) { return true }
        return items.allSatisfy { item in
            guard case .object(let o) = item, !o.isEmpty else { return false }
            return o.keys.allSatisfy(matcherKeys.contains)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        try JSONValue.object(value).encode(to: encoder)
    }
}

public struct EventRule: Sendable, Hashable, Encodable {
    public let event: StringOrStrings
    public let source: String
    public let payload: EventFilter?
    public let context: EventFilter?

    static func validate(_ value: JSONValue?, _ path: JSONPath, _ v: Validator) -> EventRule? {
        guard let o = v.object(value, path) else { return nil }
        let event = StringOrStrings.validate(o["event"], path.key("event"), v)
        let source = v.string(o["source"], path.key("source"))
        let payload = v.optional(o["payload"]) { EventFilter.validate($0, path.key("payload"), v) }
        let context = v.optional(o["context"]) { EventFilter.validate($0, path.key("context"), v) }
        guard let event, let source, payload.ok, context.ok else { return nil }
        return EventRule(event: event, source: source, payload: payload.value, context: context.value)
    }
}

public struct EventSpecification: Sendable, Hashable, Encodable {
    public let name: StringOrStrings
    public let title: String
    public let source: String
    public let icon: String
    public let filter: EventFilter?
    public let properties: [DisplayProperty]?
    public let schema: JSONValue?
    public let examples: [EventExample]?

    static func validate(_ value: JSONValue?, _ path: JSONPath, _ v: Validator) -> EventSpecification? {
        guard let o = v.object(value, path) else { return nil }
        let name = StringOrStrings.validate(o["name"], path.key("name"), v)
        let title = v.string(o["title"], path.key("title"))
        let source = v.string(o["source"], path.key("source"))
        let icon = v.string(o["icon"], path.key("icon"))
        let filter = v.optional(o["filter"]) { EventFilter.validate($0, path.key("filter"), v) }
        let properties = v.optional(o["properties"]) { v.arrayOf($0, path.key("properties")) { DisplayProperty.validate($0, $1, v) } }
        let examples = v.optional(o["examples"]) { v.arrayOf($0, path.key("examples")) { EventExample.validate($0, $1, v) } }
        guard let name, let title, let source, let icon, filter.ok, properties.ok, examples.ok else { return nil }
        return EventSpecification(name: name, title: title, source: source, icon: icon, filter: filter.value,
                                  properties: properties.value, schema: o["schema"], examples: examples.value)
    }

    /// What `JobVersion.eventSpecification` stores: everything but the examples.
    public var withoutExamples: EventSpecification {
        EventSpecification(name: name, title: title, source: source, icon: icon, filter: filter,
                           properties: properties, schema: schema, examples: nil)
    }
}

public enum ScheduleMetadata: Sendable, Hashable, Encodable {
    case interval(seconds: Int, metadata: JSONValue?, accountId: String?)
    case cron(expression: String, metadata: JSONValue?, accountId: String?)

    /// c5d allowed 60…86,400 seconds; later SDKs allow 20…2,592,000. Both are accepted.
    public static let intervalBounds = 20...2_592_000

    static func validate(_ value: JSONValue?, _ path: JSONPath, _ v: Validator) -> ScheduleMetadata? {
        guard let o = v.object(value, path), let type = v.discriminator(o, "type", ["interval", "cron"], path) else { return nil }
        let accountId = v.optional(o["accountId"]) { v.string($0, path.key("accountId")) }
        let optionsPath = path.key("options")
        guard let options = v.object(o["options"], optionsPath) else { return nil }
        switch type {
        case "interval":
            let secondsPath = optionsPath.key("seconds")
            guard let seconds = v.integer(options["seconds"], secondsPath) else { return nil }
            if seconds <= 0 { v.fail(secondsPath, "Number must be greater than 0"); return nil }
            if seconds < intervalBounds.lowerBound { v.fail(secondsPath, "Number must be greater than or equal to \(intervalBounds.lowerBound)"); return nil }
            if seconds > intervalBounds.upperBound { v.fail(secondsPath, "Number must be less than or equal to \(intervalBounds.upperBound)"); return nil }
            guard accountId.ok else { return nil }
            return .interval(seconds: seconds, metadata: o["metadata"], accountId: accountId.value)
        default:
            guard let cron = v.string(options["cron"], optionsPath.key("cron")), accountId.ok else { return nil }
            return .cron(expression: cron, metadata: o["metadata"], accountId: accountId.value)
        }
    }

    enum CodingKeys: String, CodingKey { case type, options, metadata, accountId }
    enum OptionKeys: String, CodingKey { case seconds, cron }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .interval(let seconds, let metadata, let accountId):
            try container.encode("interval", forKey: .type)
            var options = container.nestedContainer(keyedBy: OptionKeys.self, forKey: .options)
            try options.encode(seconds, forKey: .seconds)
            try container.encodeIfPresent(metadata, forKey: .metadata)
            try container.encodeIfPresent(accountId, forKey: .accountId)
        case .cron(let expression, let metadata, let accountId):
            try container.encode("cron", forKey: .type)
            var options = container.nestedContainer(keyedBy: OptionKeys.self, forKey: .options)
            try options.encode(expression, forKey: .cron)
            try container.encodeIfPresent(metadata, forKey: .metadata)
            try container.encodeIfPresent(accountId, forKey: .accountId)
        }
    }
}

public enum TriggerMetadata: Sendable, Hashable, Encodable {
    case dynamic(id: String)
    case `static`(title: StringOrStrings, properties: [DisplayProperty]?, rule: EventRule, link: String?, help: JSONValue?)
    case scheduled(schedule: ScheduleMetadata)
    /// Later SDKs: jobs started only by `invoke`.
    case invoke

    public var type: String {
        switch self {
        case .dynamic: return "dynamic"
        case .static: return "static"
        case .scheduled: return "scheduled"
        case .invoke: return "invoke"
        }
    }

    static func validate(_ value: JSONValue?, _ path: JSONPath, _ v: Validator) -> TriggerMetadata? {
        guard let o = v.object(value, path),
              let type = v.discriminator(o, "type", ["dynamic", "static", "scheduled", "invoke"], path) else { return nil }
        switch type {
        case "dynamic":
            return v.string(o["id"], path.key("id")).map { .dynamic(id: $0) }
        case "static":
            let title = StringOrStrings.validate(o["title"], path.key("title"), v)
            let properties = v.optional(o["properties"]) { v.arrayOf($0, path.key("properties")) { DisplayProperty.validate($0, $1, v) } }
            let rule = EventRule.validate(o["rule"], path.key("rule"), v)
            let link = v.optional(o["link"]) { v.string($0, path.key("link")) }
            guard let title, let rule, properties.ok, link.ok else { return nil }
            return .static(title: title, properties: properties.value, rule: rule, link: link.value, help: o["help"])
        case "scheduled":
            return ScheduleMetadata.validate(o["schedule"], path.key("schedule"), v).map { .scheduled(schedule: $0) }
        default:
            return .invoke
        }
    }

    enum CodingKeys: String, CodingKey { case type, id, title, properties, rule, link, help, schedule }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        switch self {
        case .dynamic(let id):
            try container.encode(id, forKey: .id)
        case .static(let title, let properties, let rule, let link, let help):
            try container.encode(title, forKey: .title)
            try container.encodeIfPresent(properties, forKey: .properties)
            try container.encode(rule, forKey: .rule)
            try container.encodeIfPresent(link, forKey: .link)
            try container.encodeIfPresent(help, forKey: .help)
        case .scheduled(let schedule):
            try container.encode(schedule, forKey: .schedule)
        case .invoke:
            break
        }
    }
}

public struct IntegrationMetadata: Sendable, Hashable, Encodable {
    public let id: String
    public let name: String
    public let instructions: String?

    static func validate(_ value: JSONValue?, _ path: JSONPath, _ v: Validator) -> IntegrationMetadata? {
        guard let o = v.object(value, path) else { return nil }
        let id = v.string(o["id"], path.key("id"))
        let name = v.string(o["name"], path.key("name"))
        let instructions = v.optional(o["instructions"]) { v.string($0, path.key("instructions")) }
        guard let id, let name, instructions.ok else { return nil }
        return IntegrationMetadata(id: id, name: name, instructions: instructions.value)
    }
}

public struct IntegrationConfig: Sendable, Hashable, Encodable {
    public enum AuthSource: String, Sendable, Hashable, Encodable {
        case hosted = "HOSTED"
        case local = "LOCAL"
        /// Later SDKs: credentials resolved by the app at run time.
        case resolver = "RESOLVER"
    }

    public let id: String
    public let metadata: IntegrationMetadata
    public let authSource: AuthSource

    static func validate(_ value: JSONValue?, _ path: JSONPath, _ v: Validator) -> IntegrationConfig? {
        guard let o = v.object(value, path) else { return nil }
        let id = v.string(o["id"], path.key("id"))
        let metadata = IntegrationMetadata.validate(o["metadata"], path.key("metadata"), v)
        let authSource = v.enumeration(o["authSource"], ["HOSTED", "LOCAL", "RESOLVER"], path.key("authSource")).flatMap(AuthSource.init)
        guard let id, let metadata, let authSource else { return nil }
        return IntegrationConfig(id: id, metadata: metadata, authSource: authSource)
    }
}

/// `{name, maxConcurrent?}` or a bare queue name.
public enum QueueOptions: Sendable, Hashable, Encodable {
    case named(String)
    case options(name: String, maxConcurrent: Double?)

    public var name: String {
        switch self {
        case .named(let name), .options(let name, _): return name
        }
    }

    static func validate(_ value: JSONValue?, _ path: JSONPath, _ v: Validator) -> QueueOptions? {
        switch value {
        case .string(let name):
            return .named(name)
        case .object(let o):
            let name = v.string(o["name"], path.key("name"))
            let maxConcurrent = v.optional(o["maxConcurrent"]) { v.number($0, path.key("maxConcurrent")) }
            guard let name, maxConcurrent.ok else { return nil }
            return .options(name: name, maxConcurrent: maxConcurrent.value)
        default:
            v.fail(path, "Invalid input")
            return nil
        }
    }

    enum CodingKeys: String, CodingKey { case name, maxConcurrent }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .named(let name):
            var container = encoder.singleValueContainer()
            try container.encode(name)
        case .options(let name, let maxConcurrent):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encodeIfPresent(maxConcurrent.map(JSONValue.number), forKey: .maxConcurrent)
        }
    }
}

public struct JobMetadata: Sendable, Hashable, Encodable {
    public enum StartPosition: String, Sendable, Hashable, Encodable {
        case initial
        case latest
    }

    public let id: String
    public let name: String
    public let version: String
    public let event: EventSpecification
    public let trigger: TriggerMetadata
    public let integrations: [String: IntegrationConfig]
    public let `internal`: Bool
    public let queue: QueueOptions?
    public let startPosition: StartPosition
    public let enabled: Bool
    public let preprocessRuns: Bool

    static func validate(_ value: JSONValue?, _ path: JSONPath, _ v: Validator) -> JobMetadata? {
        guard let o = v.object(value, path) else { return nil }
        let id = v.string(o["id"], path.key("id"))
        let name = v.string(o["name"], path.key("name"))
        let version = v.string(o["version"], path.key("version"))
        let event = EventSpecification.validate(o["event"], path.key("event"), v)
        let trigger = TriggerMetadata.validate(o["trigger"], path.key("trigger"), v)
        let integrations = v.recordOf(o["integrations"], path.key("integrations")) { IntegrationConfig.validate($0, $1, v) }
        let isInternal = v.optional(o["internal"]) { v.bool($0, path.key("internal")) }
        let queue = v.optional(o["queue"]) { QueueOptions.validate($0, path.key("queue"), v) }
        let concurrencyLimit = v.optional(o["concurrencyLimit"]) { Self.concurrencyLimit($0, jobId: o["id"]?.stringValue, path.key("concurrencyLimit"), v) }
        let startPosition = v.enumeration(o["startPosition"], ["initial", "latest"], path.key("startPosition")).flatMap(StartPosition.init)
        let enabled = v.bool(o["enabled"], path.key("enabled"))
        let preprocessRuns = v.bool(o["preprocessRuns"], path.key("preprocessRuns"))
        guard let id, let name, let version, let event, let trigger, let integrations, isInternal.ok, queue.ok, concurrencyLimit.ok,
              let startPosition, let enabled, let preprocessRuns else { return nil }
        return JobMetadata(id: id, name: name, version: version, event: event, trigger: trigger, integrations: integrations,
                           internal: isInternal.value ?? false, queue: queue.value ?? concurrencyLimit.value, startPosition: startPosition,
                           enabled: enabled, preprocessRuns: preprocessRuns)
    }


    public static func decode(_ value: JSONValue) throws -> JobMetadata {
        try runValidation { validate(value, .root, $0) }
    }

    /// SDK 2.3's `concurrencyLimit`: `{id, limit}` is a limit shared by every job naming the same id,
    /// as 2.0's `queue: {name, maxConcurrent}` was; a bare number is the job's own limit.
    static func concurrencyLimit(_ value: JSONValue, jobId: String?, _ path: JSONPath, _ v: Validator) -> QueueOptions? {
        if case .number = value {
            guard let limit = v.integer(value, path) else { return nil }
            guard limit >= 1 else { v.fail(path, "Number must be greater than or equal to 1"); return nil }
            return .options(name: "job-\(jobId ?? "")", maxConcurrent: Double(limit))
        }
        guard let o = v.object(value, path) else { return nil }
        let id = v.string(o["id"], path.key("id"))
        let limit = v.integer(o["limit"], path.key("limit"))
        guard let id, let limit else { return nil }
        guard limit >= 1 else { v.fail(path.key("limit"), "Number must be greater than or equal to 1"); return nil }
        return .options(name: id, maxConcurrent: Double(limit))
    }
}

public struct JobReference: Sendable, Hashable, Encodable {
    public let id: String
    public let version: String

    static func validate(_ value: JSONValue?, _ path: JSONPath, _ v: Validator) -> JobReference? {
        guard let o = v.object(value, path) else { return nil }
        let id = v.string(o["id"], path.key("id"))
        let version = v.string(o["version"], path.key("version"))
        guard let id, let version else { return nil }
        return JobReference(id: id, version: version)
    }
}

public struct SourceMetadata: Sendable, Hashable, Encodable {
    public enum Channel: String, Sendable, Hashable, Encodable { case http = "HTTP", sqs = "SQS", smtp = "SMTP" }

    /// Absent at c5d (v1); later SDKs send "1" (with `events`) or "2" (with `options`).
    public let version: String?
    public let channel: Channel
    public let integration: IntegrationConfig
    public let key: String
    public let params: JSONValue?
    public let events: [String]?
    public let options: [String: [String]]?
    public let registerSourceJob: JobReference?

    /// Event names this source delivers: v1 `events`, or the v2 `options.event` values.
    public var eventNames: [String] {
        events ?? options?["event"] ?? []
    }

    static func validate(_ value: JSONValue?, _ path: JSONPath, _ v: Validator) -> SourceMetadata? {
        guard let o = v.object(value, path) else { return nil }
        let version: String?
        if let raw = o["version"] {
            guard let parsed = v.enumeration(raw, ["1", "2"], path.key("version")) else { return nil }
            version = parsed
        } else {
            version = nil
        }
        let channel = v.enumeration(o["channel"], ["HTTP", "SQS", "SMTP"], path.key("channel")).flatMap(Channel.init)
        let integration = IntegrationConfig.validate(o["integration"], path.key("integration"), v)
        let key = v.string(o["key"], path.key("key"))
        let registerSourceJob = v.optional(o["registerSourceJob"]) { JobReference.validate($0, path.key("registerSourceJob"), v) }
        var events: [String]? = nil
        var options: [String: [String]]? = nil
        var ok = true
        if version == "2" {
            options = v.recordOf(o["options"], path.key("options")) { value, itemPath in v.arrayOf(value, itemPath) { v.string($0, $1) } }
            ok = options != nil
        } else {
            events = v.arrayOf(o["events"], path.key("events")) { v.string($0, $1) }
            ok = events != nil
        }
        guard let channel, let integration, let key, registerSourceJob.ok, ok else { return nil }
        return SourceMetadata(version: version, channel: channel, integration: integration, key: key, params: o["params"],
                              events: events, options: options, registerSourceJob: registerSourceJob.value)
    }
}

public struct DynamicTriggerEndpointMetadata: Sendable, Hashable, Encodable {
    public let id: String
    public let jobs: [JobReference]
    public let registerSourceJob: JobReference?

    static func validate(_ value: JSONValue?, _ path: JSONPath, _ v: Validator) -> DynamicTriggerEndpointMetadata? {
        guard let o = v.object(value, path) else { return nil }
        let id = v.string(o["id"], path.key("id"))
        let jobs = v.arrayOf(o["jobs"], path.key("jobs")) { JobReference.validate($0, $1, v) }
        let registerSourceJob = v.optional(o["registerSourceJob"]) { JobReference.validate($0, path.key("registerSourceJob"), v) }
        guard let id, let jobs, registerSourceJob.ok else { return nil }
        return DynamicTriggerEndpointMetadata(id: id, jobs: jobs, registerSourceJob: registerSourceJob.value)
    }
}

public struct RegisterDynamicSchedulePayload: Sendable, Hashable, Encodable {
    public let id: String
    public let jobs: [JobReference]

    static func validate(_ value: JSONValue?, _ path: JSONPath, _ v: Validator) -> RegisterDynamicSchedulePayload? {
        guard let o = v.object(value, path) else { return nil }
        let id = v.string(o["id"], path.key("id"))
        let jobs = v.arrayOf(o["jobs"], path.key("jobs")) { JobReference.validate($0, $1, v) }
        guard let id, let jobs else { return nil }
        return RegisterDynamicSchedulePayload(id: id, jobs: jobs)
    }
}
