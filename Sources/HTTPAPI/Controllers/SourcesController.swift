import Foundation
import HTTPTypes
import Hummingbird
import JSON
import NIOCore
import Registration
import Runs
import TriggerProtocol

/// Webhook sources: the SDK's `updateSource` (behind the API key) and the receiver third parties
/// post to (no key: the SDK checks their signatures with the source's secret).
struct SourcesController {
    let deps: APIDependencies

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        let engine = deps.runs
        group.put(":client/sources/:key") { request, context in
            let body = try await request.decode(UpdateTriggerSourceBody.self, context: context, message: "Invalid request body", limit: 1024 * 1024)
            let key = try context.parameters.require("key")
            let updated = try await engine.updateSource(environment: try context.requireEnvironment(), client: try context.parameters.require("client"),
                                                        key: key.removingPercentEncoding ?? key, body: body)
            return ["id": .string(updated.id.lowercasedString), "key": .string(updated.key)] as JSONValue
        }
        // io.registerTrigger: a registration of a dynamic trigger, with its webhook source.
        let registration = deps.registration
        group.put(":client/triggers/:id/registrations/:key") { request, context in
            let body = try await request.decode(RegisterTriggerBody.self, context: context, message: "Invalid request body", limit: 1024 * 1024)
            let key = try context.parameters.require("key")
            return try await registration.registerTrigger(environment: try context.requireEnvironment(), client: try context.parameters.require("client"),
                                                          triggerSlug: try context.parameters.require("id"), key: key.removingPercentEncoding ?? key,
                                                          body: body, publicURL: engine.configuration.publicURL)
        }
        // The server starts a registration: the endpoint says what it needs (INITIALIZE_TRIGGER).
        group.post(":client/triggers/:id/registrations") { request, context in
            let body = try await request.decode(InitializeTriggerBody.self, context: context, message: "Invalid request body", limit: 1024 * 1024)
            return try await engine.initializeTrigger(environment: try context.requireEnvironment(), client: try context.parameters.require("client"),
                                                      triggerSlug: try context.parameters.require("id"), body: body, registration: registration)
        }
    }

    func addReceiverRoutes(to router: Router<APIRequestContext>) {
        let engine = deps.runs
        let limit = engine.configuration.maximumWebhookBytes
        let receive: @Sendable (Request, APIRequestContext) async throws -> Response = { request, context in
            guard let sourceId = UUID(uuidString: try context.parameters.require("id")) else { throw APIError(.notFound, "Source not found") }
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: limit)
            } catch is NIOTooManyBytesError {
                throw APIError(.contentTooLarge, "Request body is too large: the limit is \(limit) bytes")
            }
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = headers[field.name.canonicalName].map { "\($0), \(field.value)" } ?? field.value }
            let scheme = headers["x-forwarded-proto"] ?? "http"
            let host = headers["host"] ?? "127.0.0.1"
            let url = "\(scheme)://\(host)\(request.uri.description)"
            switch try await engine.receiveWebhook(sourceId: sourceId, method: request.method.rawValue, url: url, headers: headers,
                                                   body: [UInt8](body.readableBytesView)) {
            case .inactive:
                return try APIJSONEncoder.response(["active": false] as JSONValue)
            case .accepted(let id):
                return try APIJSONEncoder.response(["status": "accepted", "id": .string(id.lowercasedString)] as JSONValue, status: .accepted)
            case .answered(let status, let body, let answerHeaders):
                var fields = HTTPFields()
                for (name, value) in answerHeaders {
                    if let name = HTTPField.Name(name), name != .contentLength, name != .transferEncoding, name != .connection { fields[name] = value }
                }
                let bytes: ByteBuffer
                switch body {
                case .none, .some(.null): bytes = ByteBuffer()
                case .some(.string(let text)):
                    bytes = ByteBuffer(string: text)
                    if fields[.contentType] == nil { fields[.contentType] = "text/plain; charset=utf-8" }
                case .some(let json):
                    bytes = ByteBuffer(bytes: json.jsonBytes())
                    if fields[.contentType] == nil { fields[.contentType] = "application/json; charset=utf-8" }
                }
                return Response(status: HTTPResponse.Status(code: status), headers: fields, body: .init(byteBuffer: bytes))
            }
        }
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("/api/v1/sources/http/:id", method: method, use: receive)
        }
    }
}

extension RegisterSourceEvent: ResponseEncodable {}
