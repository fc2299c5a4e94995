import Foundation
import Hummingbird
import Integrations
import JSON
import TriggerProtocol

/// An environment's integrations (their credentials are written, never read back), and the SDK's
/// `getAuth`.
struct IntegrationsController {
    let deps: APIDependencies

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        let integrations = deps.integrations
        group.post("integrations") { request, context in
            let body = try await request.decode(CreateIntegrationBody.self, context: context, message: "Invalid request body", limit: 64 * 1024)
            return IntegrationResponse(try await integrations.create(body, environment: try context.requireEnvironment()))
        }
        group.get("integrations") { _, context in
            IntegrationListResponse(integrations: try await integrations.list(environment: try context.requireEnvironment()).map(IntegrationResponse.init))
        }
        group.delete("integrations/:id") { _, context in
            try await integrations.delete(id: try context.parameters.require("id"), environment: try context.requireEnvironment())
            return ["ok": true] as JSONValue
        }
        // The SDK's getAuth(client, id): 404 means "no auth" to it.
        group.get(":client/auth/:id") { _, context in
            let environment = try context.requireEnvironment()
            _ = try await deps.endpoints.endpoint(environment: environment, slug: try context.parameters.require("client"))
            return try await integrations.auth(id: try context.parameters.require("id"), environment: environment)
        }
    }
}

/// An integration as listed: what it is and when it was connected, never its token.
struct IntegrationResponse: ResponseEncodable {
    let id: String
    let service: String
    let authType: String
    let scopes: [String]?
    let createdAt: Date
    let updatedAt: Date

    init(_ connection: IntegrationConnection) {
        id = connection.id
        service = connection.service
        authType = connection.authType
        scopes = connection.scopes
        createdAt = connection.createdAt
        updatedAt = connection.updatedAt
    }
}

struct IntegrationListResponse: ResponseEncodable {
    let integrations: [IntegrationResponse]
}

extension ConnectionAuth: ResponseEncodable {}
