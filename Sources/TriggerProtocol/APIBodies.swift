// Request bodies of Kongflow's own endpoint API, validated the way the protocol types are.

/// `POST /api/v1/endpoints`: `{id, url}` as the CLI sends it, or `{name, url}` as the SDK's
/// `ApiClient.registerEndpoint` sends it (`name` stands for `id` when `id` is absent).
public struct CreateEndpointBody: Sendable, Equatable, WireDecodable {
    public let id: String
    public let url: String

    public static func decode(_ value: JSONValue) throws -> CreateEndpointBody {
        try runValidation { v in
            guard let o = v.object(value, .root) else { return nil }
            let id = v.string(o["id"] ?? o["name"], JSONPath.root.key(o["id"] == nil && o["name"] != nil ? "name" : "id"))
            let url = v.string(o["url"], JSONPath.root.key("url"))
            guard let id, let url else { return nil }
            return CreateEndpointBody(id: id, url: url)
        }
    }
}

/// `POST /api/v1/endpoints/:slug/index`: `{reason?, data?, source?}`; `source` is `API` unless
/// Kongflow's CLI marks its request `MANUAL`, as trigger.dev's dashboard did.
public struct IndexRequestBody: Sendable, Equatable, WireDecodable {
    public let reason: String?
    public let data: JSONValue?
    public let manual: Bool

    public static func decode(_ value: JSONValue) throws -> IndexRequestBody {
        try runValidation { v in
            guard let o = v.object(value, .root) else { return nil }
            let reason = v.optional(o["reason"]) { v.string($0, JSONPath.root.key("reason")) }
            let source = v.optional(o["source"]) { v.enumeration($0, ["API", "MANUAL"], JSONPath.root.key("source")) }
            guard reason.ok, source.ok else { return nil }
            return IndexRequestBody(reason: reason.value, data: o["data"], manual: source.value == "MANUAL")
        }
    }
}
