import Endpoints
import Foundation
import Hummingbird
import Queue
import Tenancy
import TriggerProtocol

/// trigger.dev v2's endpoint API.
struct EndpointRoutes {
    let deps: APIDependencies

    /// Request bodies larger than this are refused with 413.
    static let maximumBodyBytes = 1024 * 1024

    func register(on router: Router<BasicRequestContext>) {
        let endpoints = deps.endpoints

        router.post("/api/v1/endpoints") { request, context in
            let environment = try await authenticate(request, deps)
            let body = try await Self.jsonBody(request, context, required: true, invalid: "Invalid request body")
            guard case .object(let object) = body, case .string(let id) = object["id"], case .string(let url) = object["url"] else {
                throw APIError(.badRequest, "Invalid request body: expected {\"id\": string, \"url\": string}")
            }
            let (endpoint, index) = try await endpoints.createEndpoint(environment: environment, slug: id, url: url)
            return try JSONResponse.encode(EndpointJSON.endpoint(endpoint, index: index))
        }

        router.get("/api/v1/endpoints") { request, _ in
            let environment = try await authenticate(request, deps)
            let list = try await endpoints.endpoints(environment: environment)
            return try JSONResponse.encode(JSONValue.array(list.map { EndpointJSON.endpoint($0.0, index: $0.1) }))
        }

        router.get("/api/v1/endpoints/:endpointSlug") { request, context in
            let environment = try await authenticate(request, deps)
            let endpoint = try await endpoints.endpoint(environment: environment, slug: try context.parameters.require("endpointSlug"))
            return try JSONResponse.encode(EndpointJSON.endpoint(endpoint, index: try await endpoints.latestIndex(endpoint: endpoint)))
        }

        router.delete("/api/v1/endpoints/:endpointSlug") { request, context in
            let environment = try await authenticate(request, deps)
            let endpoint = try await endpoints.deleteEndpoint(environment: environment, slug: try context.parameters.require("endpointSlug"))
            return try JSONResponse.encode(EndpointJSON.endpoint(endpoint, index: nil))
        }

        router.post("/api/v1/endpoints/:endpointSlug/index") { request, context in
            let environment = try await authenticate(request, deps)
            let slug = try context.parameters.require("endpointSlug")
            let body = try await Self.jsonBody(request, context, required: false, invalid: "Invalid body")
            var reason: String? = nil
            var data: JSONValue? = nil
            var source = IndexSource.api
            if let body {
                guard case .object(let object) = body else { throw APIError(.badRequest, "Invalid body") }
                switch object["reason"] {
                case nil: break
                case .string(let text)?: reason = text
                default: throw APIError(.badRequest, "Invalid body: reason must be a string")
                }
                data = object["data"]
                // Kongflow's CLI marks its requests MANUAL, as trigger.dev's dashboard did.
                switch object["source"] {
                case nil, .string("API")?: break
                case .string("MANUAL")?: source = .manual
                default: throw APIError(.badRequest, "Invalid body: source must be \"API\" or \"MANUAL\"")
                }
            }
            let requested = try await endpoints.requestIndex(environment: environment, slug: slug, source: source, reason: reason, sourceData: data)
            // trigger.dev indexed inside the request; here the worker does, and the route waits for
            // it unless `?wait=false` asks for the PENDING index at once.
            let wait = request.uri.queryParameters.get("wait") != "false"
            let index = wait
                ? try await endpoints.waitForIndex(id: requested.id, environmentId: environment.id, timeout: deps.indexWaitTimeout)
                : requested
            return try JSONResponse.encode(EndpointJSON.index(index, registration: try await endpoints.registrationSummary(indexId: index.id)))
        }

        router.get("/api/v1/endpoints/:endpointSlug/indexes") { request, context in
            let environment = try await authenticate(request, deps)
            let slug = try context.parameters.require("endpointSlug")
            let limit = min(max(request.uri.queryParameters.get("limit", as: Int.self) ?? 20, 1), 100)
            let before = try request.uri.queryParameters.get("cursor").map { text -> UUID in
                guard let id = UUID(uuidString: text) else { throw APIError(.badRequest, "Invalid cursor") }
                return id
            }
            let page = try await endpoints.indexes(environment: environment, slug: slug, limit: limit, before: before)
            let next: JSONValue = page.count == limit ? .string(page.last!.id.lowercasedString) : .null
            return try JSONResponse.encode(JSONValue.object(["indexes": .array(page.map { EndpointJSON.index($0) }), "nextCursor": next]))
        }

        router.get("/api/v1/endpointindex/:indexId") { request, context in
            let environment = try await authenticate(request, deps)
            guard let id = UUID(uuidString: try context.parameters.require("indexId")) else {
                throw APIError(.notFound, "EndpointIndex not found")
            }
            let index = try await endpoints.index(environment: environment, id: id)
            return try JSONResponse.encode(EndpointJSON.indexStatus(index, registration: try await endpoints.registrationSummary(indexId: index.id)))
        }

        // The deploy hook: no API key, the identifier in the URL is the secret. Its path is
        // /api/v1/endpoints/:environmentId/:endpointSlug/index/:indexHookIdentifier; the router
        // needs one name per capture position, so the first capture is named as the other routes' is.
        let hook: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, context in
            guard let environmentId = UUID(uuidString: try context.parameters.require("endpointSlug")) else {
                throw APIError(.notFound, "Endpoint not found")
            }
            var body: Data? = nil
            if request.method == .post {
                let buffer = try await request.body.collect(upTo: Self.maximumBodyBytes)
                body = Data(buffer.readableBytesView)
            }
            _ = try await endpoints.triggerHook(environmentId: environmentId, slug: try context.parameters.require("hookEndpointSlug"),
                                                hookIdentifier: try context.parameters.require("indexHookIdentifier"), body: body)
            return try JSONResponse.encode(["ok": true])
        }
        router.get("/api/v1/endpoints/:endpointSlug/:hookEndpointSlug/index/:indexHookIdentifier", use: hook)
        router.post("/api/v1/endpoints/:endpointSlug/:hookEndpointSlug/index/:indexHookIdentifier", use: hook)
    }

    /// The request body as JSON; nil when empty and not required. Oversized bodies are 413,
    /// anything that is not one JSON document is 400 with `invalid`.
    static func jsonBody(_ request: Request, _ context: BasicRequestContext, required: Bool, invalid: String) async throws -> JSONValue? {
        let buffer = try await request.body.collect(upTo: maximumBodyBytes)
        if buffer.readableBytes == 0 {
            if required { throw APIError(.badRequest, invalid) }
            return nil
        }
        do {
            return try JSONValue.parse(Data(buffer.readableBytesView))
        } catch {
            throw APIError(.badRequest, invalid)
        }
    }
}

/// The JSON shapes of the endpoint API (trigger.dev's camelCase fields).
enum EndpointJSON {
    static func endpoint(_ endpoint: Endpoint, index: EndpointIndex?) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(endpoint.id.lowercasedString),
            "slug": .string(endpoint.slug),
            "url": .string(endpoint.url),
            "indexingHookIdentifier": .string(endpoint.indexingHookIdentifier),
            "environmentId": .string(endpoint.environmentId.lowercasedString),
            "organizationId": .string(endpoint.organizationId.lowercasedString),
            "projectId": .string(endpoint.projectId.lowercasedString),
            "version": .string(endpoint.version),
            "sdkVersion": .string(endpoint.sdkVersion),
            "createdAt": .string(JSONResponse.formatDate(endpoint.createdAt)),
            "updatedAt": .string(JSONResponse.formatDate(endpoint.updatedAt)),
        ]
        if let index {
            object["endpointIndex"] = ["id": .string(index.id.lowercasedString), "status": .string(index.status.rawValue)]
        }
        return .object(object)
    }

    /// An index row without `data` (trigger.dev's API index response), with Kongflow's
    /// `registration` summary when known.
    static func index(_ index: EndpointIndex, registration: RegistrationSummary? = nil) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(index.id.lowercasedString),
            "endpointId": .string(index.endpointId.lowercasedString),
            "source": .string(index.source.rawValue),
            "sourceData": index.sourceData ?? .null,
            "reason": index.reason.map(JSONValue.string) ?? .null,
            "status": .string(index.status.rawValue),
            "stats": index.stats ?? .null,
            "createdAt": .string(JSONResponse.formatDate(index.createdAt)),
            "updatedAt": .string(JSONResponse.formatDate(index.updatedAt)),
        ]
        if let error = index.error { object["error"] = failure(error) }
        if let registration, index.status == .success { object["registration"] = summary(registration, stats: index.stats) }
        return .object(object)
    }

    /// `GetEndpointIndexResponse`: `{status, updatedAt}` plus `stats` on SUCCESS, `error` on FAILURE.
    static func indexStatus(_ index: EndpointIndex, registration: RegistrationSummary) -> JSONValue {
        var object: [String: JSONValue] = ["status": .string(index.status.rawValue), "updatedAt": .string(JSONResponse.formatDate(index.updatedAt))]
        if index.status == .success {
            object["stats"] = index.stats ?? .null
            object["registration"] = summary(registration, stats: index.stats)
        }
        if index.status == .failure, let error = index.error { object["error"] = failure(error) }
        return .object(object)
    }

    /// Registration progress of a successful index; `pending` reaches 0 when every item is done.
    static func summary(_ registration: RegistrationSummary, stats: JSONValue?) -> JSONValue {
        let expected = ["jobs", "disabledJobs", "sources", "dynamicTriggers", "dynamicSchedules"].reduce(0) { total, key in
            if case .number(let n)? = stats?[key] { return total + Int(n) }
            return total
        }
        return [
            "pending": .number(Double(max(0, expected - registration.registered - registration.failed))),
            "registered": .number(Double(registration.registered)),
            "failed": .number(Double(registration.failed)),
            "failures": .array(registration.failures.prefix(100).map {
                ["kind": .string($0.kind), "key": .string($0.key), "message": .string($0.message)]
            }),
        ]
    }

    static func failure(_ error: IndexFailure) -> JSONValue {
        var object: [String: JSONValue] = ["message": .string(error.message)]
        if let raw = error.raw { object["raw"] = raw }
        return .object(object)
    }
}
