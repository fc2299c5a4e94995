import Hummingbird
import JSON
import Tenancy

/// Resolves `Authorization: Bearer <secret key>` to its environment for the routes below it, or
/// answers 401 `Invalid or Missing API key` before they run.
struct APIKeyAuthenticator: RouterMiddleware {
    typealias Context = APIRequestContext
    let tenancy: TenancyService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let environment = try await tenancy.authenticate(authorization: request.headers[.authorization]) else {
            throw APIError.unauthorized
        }
        var context = context
        context.environment = environment
        context.logger[metadataKey: "environment_id"] = "\(environment.id.lowercasedString)"
        return try await next(request, context)
    }
}
