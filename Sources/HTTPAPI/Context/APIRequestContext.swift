import Foundation
import Hummingbird
import JSON
import NIOCore
import Tenancy
import TriggerProtocol

/// The request context of every route: Hummingbird's core storage plus the environment the API key
/// authenticated as (set by `APIKeyAuthenticator` on the authenticated group).
public struct APIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var environment: AuthenticatedEnvironment?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        environment = nil
    }

    /// Request bodies larger than this are refused with 413.
    public var maxUploadSize: Int { 1024 * 1024 }

    public var responseEncoder: APIJSONEncoder { APIJSONEncoder() }

    /// The authenticated environment; routes of the authenticated group always have one.
    public func requireEnvironment() throws -> AuthenticatedEnvironment {
        guard let environment else { throw APIError.unauthorized }
        return environment
    }
}

/// Answers are printed by the one JSON printer (`JSONValue`): sorted keys, dates as trigger.dev's
/// ISO form with milliseconds, ids in lowercase.
public struct APIJSONEncoder: ResponseEncoder {
    public init() {}

    public func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response {
        try Self.response(value)
    }

    public static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(bytes: try JSONValue(encoding: value).jsonBytes())))
    }
}

extension Request {
    /// The body as one JSON document; nil when empty and not `required`. Over the context's limit
    /// is 413; anything else that is not one JSON document is 400 with `message`.
    func jsonBody(context: APIRequestContext, required: Bool, message: String, limit: Int? = nil) async throws -> JSONValue? {
        let maximum = limit ?? context.maxUploadSize
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: maximum)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "Request body is too large: the limit is \(maximum) bytes")
        }
        if buffer.readableBytes == 0 {
            if required { throw APIError(.badRequest, message) }
            return nil
        }
        do {
            return try buffer.withUnsafeReadableBytes { try JSONValue.parse(Data($0)) }
        } catch {
            throw APIError(.badRequest, message)
        }
    }

    /// The body decoded and validated as `T`, once, at the edge. 400 with `message` (and zod's
    /// wording of every issue) when it does not fit.
    func decode<T: WireDecodable>(_ type: T.Type, context: APIRequestContext, message: String, required: Bool = true,
                                  limit: Int? = nil) async throws -> T {
        let json = try await jsonBody(context: context, required: required, message: message, limit: limit) ?? .object([:])
        do {
            return try T.decode(json)
        } catch let error as ValidationError {
            throw APIError(.badRequest, error.message(prefix: message))
        }
    }
}
