import Foundation
import JSON

/// `PUT /api/v1/:client/sources/:key` (`io.updateSource` in the SDK's source registration job):
/// `UpdateTriggerSourceBody {registeredEvents, secret?, data?}`.
public struct UpdateTriggerSourceBody: Sendable, Equatable, WireDecodable {
    public let registeredEvents: [String]
    public let secret: String?
    public let data: JSONValue?

    public static func decode(_ value: JSONValue) throws -> UpdateTriggerSourceBody {
        try runValidation { v in
            guard let o = v.object(value, .root) else { return nil }
            let events = v.arrayOf(o["registeredEvents"], JSONPath.root.key("registeredEvents")) { v.string($0, $1) }
            let secret = v.optional(o["secret"]) { v.string($0, JSONPath.root.key("secret")) }
            guard let events, secret.ok else { return nil }
            return UpdateTriggerSourceBody(registeredEvents: events, secret: secret.value, data: o["data"] == .null ? nil : o["data"])
        }
    }
}

/// The SDK's answer to DELIVER_HTTP_SOURCE_REQUEST (`HttpSourceResponseSchema`): the events the
/// webhook becomes, and the response its sender gets `{status, body?, headers?}`.
public struct HttpSourceResponse: Sendable, Equatable, WireDecodable {
    public struct Reply: Sendable, Equatable {
        public let status: Int
        public let body: JSONValue?
        public let headers: [String: String]
    }

    public let events: [SendEventBody]
    public let response: Reply

    public static func decode(_ value: JSONValue) throws -> HttpSourceResponse {
        let events = try (value["events"]?.arrayValue ?? []).map { try SendEventBody.decode(["event": $0]) }
        return try runValidation { v in
            guard let o = v.object(value, .root), v.array(o["events"], JSONPath.root.key("events")) != nil else { return nil }
            let path = JSONPath.root.key("response")
            guard let response = v.object(o["response"], path), let status = v.integer(response["status"], path.key("status")) else { return nil }
            var headers: [String: String] = [:]
            if case .object(let given)? = response["headers"] {
                for (name, field) in given {
                    guard let text = v.string(field, path.key("headers").key(name)) else { return nil }
                    headers[name] = text
                }
            }
            guard (100...599).contains(status) else {
                v.fail(path.key("status"), "must be an HTTP status")
                return nil
            }
            return HttpSourceResponse(events: events, response: Reply(status: status, body: response["body"], headers: headers))
        }
    }
}

/// The payload of `dev.trigger.source.register` (`RegisterSourceEvent`, api.ts:54-73), which runs the
/// SDK's generated registration job for the source `source.key`.
public struct RegisterSourceEvent: Sendable, Equatable, Encodable {
    public struct Source: Sendable, Equatable, Encodable {
        public struct Channel: Sendable, Equatable, Encodable { public let type: String; public let url: String }
        public let key: String
        public let params: JSONValue
        public let active: Bool
        public let secret: String
        public let data: JSONValue?
        public let channel: Channel
        public let clientId: String?
    }

    public let id: String
    public let source: Source
    public let events: [String]
    public let missingEvents: [String]
    public let orphanedEvents: [String]
    public let dynamicTriggerId: String?

    public init(id: String, key: String, params: JSONValue, active: Bool, secret: String, data: JSONValue?, url: String, clientId: String?,
                events: [String], missingEvents: [String], orphanedEvents: [String], dynamicTriggerId: String? = nil) {
        self.id = id
        source = Source(key: key, params: params, active: active, secret: secret, data: data, channel: .init(type: "HTTP", url: url), clientId: clientId)
        self.events = events
        self.missingEvents = missingEvents
        self.orphanedEvents = orphanedEvents
        self.dynamicTriggerId = dynamicTriggerId
    }
}

/// `PUT /api/v1/:client/triggers/:id/registrations/:key` (`io.registerTrigger`) and the endpoint's
/// answer to INITIALIZE_TRIGGER: `RegisterTriggerBody {rule, source, accountId?}`.
public struct RegisterTriggerBody: Sendable, Equatable, WireDecodable {
    public let rule: EventRule
    public let source: SourceMetadata
    public let accountId: String?

    public static func decode(_ value: JSONValue) throws -> RegisterTriggerBody {
        try runValidation { v in
            guard let o = v.object(value, .root) else { return nil }
            let rule = EventRule.validate(o["rule"], JSONPath.root.key("rule"), v)
            let source = SourceMetadata.validate(o["source"], JSONPath.root.key("source"), v)
            let accountId = v.optional(o["accountId"]) { v.string($0, JSONPath.root.key("accountId")) }
            guard let rule, let source, accountId.ok else { return nil }
            return RegisterTriggerBody(rule: rule, source: source, accountId: accountId.value)
        }
    }
}

/// `POST /api/v1/:client/triggers/:id/registrations` (InitializeTrigger): `{id: <registration key>,
/// params, accountId?, metadata?}`.
public struct InitializeTriggerBody: Sendable, Equatable, WireDecodable {
    public let id: String
    public let params: JSONValue
    public let accountId: String?
    public let metadata: JSONValue?

    public static func decode(_ value: JSONValue) throws -> InitializeTriggerBody {
        try runValidation { v in
            guard let o = v.object(value, .root), let id = v.string(o["id"], JSONPath.root.key("id")) else { return nil }
            let accountId = v.optional(o["accountId"]) { v.string($0, JSONPath.root.key("accountId")) }
            guard accountId.ok else { return nil }
            if id.isEmpty { v.fail(JSONPath.root.key("id"), "String must contain at least 1 character(s)"); return nil }
            return InitializeTriggerBody(id: id, params: o["params"] ?? [:], accountId: accountId.value, metadata: o["metadata"])
        }
    }
}
