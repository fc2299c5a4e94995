import Foundation
import JSON

/// `ConnectionAuth`: what `getAuth` answers and EXECUTE_JOB's `connections` carry for a HOSTED
/// integration: `{type, accessToken, scopes?, additionalFields?}`.
public struct ConnectionAuth: Sendable, Equatable, Codable {
    public let type: String
    public let accessToken: String
    public let scopes: [String]?
    public let additionalFields: [String: String]?

    public init(type: String, accessToken: String, scopes: [String]?, additionalFields: [String: String]?) {
        self.type = type
        self.accessToken = accessToken
        self.scopes = scopes
        self.additionalFields = additionalFields
    }
}

/// `POST /api/v1/integrations`: `{id, service, auth: {type: "oauth2"|"apiKey", accessToken, scopes?,
/// additionalFields?}}`. `id` is the slug jobs name in `integrations` (e.g. `github`); `service` the
/// integration's kind (its definition, e.g. `github`).
public struct CreateIntegrationBody: Sendable, Equatable, WireDecodable {
    public let id: String
    public let service: String
    public let auth: ConnectionAuth

    public static func decode(_ value: JSONValue) throws -> CreateIntegrationBody {
        try runValidation { v in
            guard let o = v.object(value, .root) else { return nil }
            let id = v.string(o["id"], JSONPath.root.key("id"))
            let service = v.string(o["service"], JSONPath.root.key("service"))
            let authPath = JSONPath.root.key("auth")
            let auth = v.object(o["auth"], authPath)
            let type = auth.flatMap { v.enumeration($0["type"], ["oauth2", "apiKey"], authPath.key("type")) }
            let token = auth.flatMap { v.string($0["accessToken"], authPath.key("accessToken")) }
            let scopes = auth.map { a in v.optional(a["scopes"]) { v.arrayOf($0, authPath.key("scopes")) { v.string($0, $1) } } }
            let fields = auth.map { a in
                v.optional(a["additionalFields"]) { value -> [String: String]? in
                    guard let object = v.object(value, authPath.key("additionalFields")) else { return nil }
                    var out: [String: String] = [:]
                    for (key, field) in object {
                        guard let text = v.string(field, authPath.key("additionalFields").key(key)) else { return nil }
                        out[key] = text
                    }
                    return out
                }
            }
            guard let id, let service, let type, let token, let scopes, scopes.ok, let fields, fields.ok else { return nil }
            guard Self.isSlug(id) else {
                v.fail(JSONPath.root.key("id"), "must be 1-100 characters of letters, digits, '-' and '_'")
                return nil
            }
            guard !token.isEmpty else {
                v.fail(authPath.key("accessToken"), "must not be empty")
                return nil
            }
            return CreateIntegrationBody(id: id, service: service, auth: ConnectionAuth(type: type, accessToken: token, scopes: scopes.value,
                                                                                        additionalFields: fields.value))
        }
    }

    static func isSlug(_ text: String) -> Bool {
        (1...100).contains(text.count) && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }
}
