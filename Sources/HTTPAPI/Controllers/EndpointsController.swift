import Endpoints
import Foundation
import Hummingbird
import JSON
import TriggerProtocol

/// trigger.dev v2's endpoint API, and its deploy hook.
struct EndpointsController {
    let deps: APIDependencies

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        let endpoints = deps.endpoints
        let waitTimeout = deps.indexWaitTimeout

        group.post("endpoints") { request, context in
            let environment = try context.requireEnvironment()
            let body = try await request.decode(CreateEndpointBody.self, context: context, message: "Invalid request body")
            let (endpoint, index) = try await endpoints.createEndpoint(environment: environment, slug: body.id, url: body.url)
            return EndpointResponse(endpoint, index: index)
        }

        group.get("endpoints") { _, context in
            try await endpoints.endpointsWithIndexState(environment: try context.requireEnvironment()).map { EndpointResponse($0.0, index: $0.1) }
        }

        group.get("endpoints/:endpointSlug") { _, context in
            let (endpoint, index) = try await endpoints.endpointWithIndexState(environment: try context.requireEnvironment(), slug: try context.parameters.require("endpointSlug"))
            return EndpointResponse(endpoint, index: index)
        }

        group.delete("endpoints/:endpointSlug") { _, context in
            let endpoint = try await endpoints.deleteEndpoint(environment: try context.requireEnvironment(), slug: try context.parameters.require("endpointSlug"))
            return EndpointResponse(endpoint, index: nil)
        }

        group.post("endpoints/:endpointSlug/index") { request, context in
            let environment = try context.requireEnvironment()
            let body = try await request.decode(IndexRequestBody.self, context: context, message: "Invalid body", required: false)
            let requested = try await endpoints.requestIndex(environment: environment, slug: try context.parameters.require("endpointSlug"),
                                                             source: body.manual ? .manual : .api, reason: body.reason, sourceData: body.data)
            // trigger.dev indexed inside the request; here the worker does, and the route waits for
            // it unless `?wait=false` asks for the PENDING index at once.
            let index = request.uri.queryParameters.get("wait") != "false"
                ? try await endpoints.waitForIndex(id: requested.id, environmentId: environment.id, timeout: waitTimeout)
                : requested
            return EndpointIndexResponse(index, registration: try await endpoints.registrationSummary(indexId: index.id))
        }

        group.get("endpoints/:endpointSlug/indexes") { request, context in
            let environment = try context.requireEnvironment()
            let limit = min(max(request.uri.queryParameters.get("limit", as: Int.self) ?? 20, 1), 100)
            let before = try request.uri.queryParameters.get("cursor").map { text -> UUID in
                guard let id = UUID(uuidString: text) else { throw APIError(.badRequest, "Invalid cursor") }
                return id
            }
            let page = try await endpoints.indexes(environment: environment, slug: try context.parameters.require("endpointSlug"), limit: limit, before: before)
            let next: JSONValue = page.count == limit ? .string(page.last!.id.lowercasedString) : .null
            return IndexPageResponse(indexes: page.map { EndpointIndexResponse($0) }, nextCursor: next)
        }

        group.get("endpointindex/:indexId") { _, context in
            guard let id = UUID(uuidString: try context.parameters.require("indexId")) else {
                throw APIError(.notFound, "EndpointIndex not found")
            }
            let index = try await endpoints.index(environment: try context.requireEnvironment(), id: id)
            return IndexStatusResponse(index, registration: try await endpoints.registrationSummary(indexId: index.id))
        }
    }

    /// The deploy hook, `/api/v1/endpoints/:environmentId/:endpointSlug/index/:indexHookIdentifier`: no
    /// API key; the identifier in the URL is the secret. Hummingbird's router allows one capture name
    /// per position and the endpoint routes own the fourth segment's (`:endpointSlug`), so the hook's
    /// captures are read by position through `HookPath`.
    func addHookRoutes(to router: Router<APIRequestContext>) {
        let endpoints = deps.endpoints
        let hook: @Sendable (Request, APIRequestContext) async throws -> [String: Bool] = { request, context in
            let path = try HookPath(context.parameters)
            var body: Data? = nil
            if request.method == .post {
                let buffer = try await request.body.collect(upTo: context.maxUploadSize)
                body = Data(buffer.readableBytesView)
            }
            _ = try await endpoints.triggerHook(environmentId: path.environmentId, slug: path.endpointSlug, hookIdentifier: path.identifier, body: body)
            return ["ok": true]
        }
        router.get("/api/v1/endpoints/:endpointSlug/:hookEndpointSlug/index/:indexHookIdentifier", use: hook)
        router.post("/api/v1/endpoints/:endpointSlug/:hookEndpointSlug/index/:indexHookIdentifier", use: hook)
    }
}

/// The deploy hook's captures by position (see `EndpointsController.addHookRoutes`).
struct HookPath {
    let environmentId: UUID
    let endpointSlug: String
    let identifier: String

    init(_ parameters: Parameters) throws {
        guard let environmentId = UUID(uuidString: try parameters.require("endpointSlug")) else {
            throw APIError(.notFound, "Endpoint not found")
        }
        self.environmentId = environmentId
        endpointSlug = try parameters.require("hookEndpointSlug")
        identifier = try parameters.require("indexHookIdentifier")
    }
}
