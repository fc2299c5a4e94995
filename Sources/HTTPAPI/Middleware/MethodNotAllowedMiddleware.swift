import Hummingbird
import NIOConcurrencyHelpers

/// A known path asked with a method it does not have is 405 with `Allow` (RFC 9110), not the 404 the
/// router alone gives. The route table is filled once the routes are registered.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    final class Routes: Sendable {
        private let routes = NIOLockedValueBox<[(method: HTTPRequest.Method, segments: [Substring])]>([])

        func set(_ routes: [(method: HTTPRequest.Method, path: String)]) {
            let parsed = routes.map { (method: $0.method, segments: $0.path.split(separator: "/")) }
            self.routes.withLockedValue { $0 = parsed }
        }

        /// The methods of every route whose template matches `path`.
        func methods(for path: String) -> Set<HTTPRequest.Method> {
            let segments = path.split(separator: "/")
            let routes = self.routes.withLockedValue { $0 }
            return Set(routes.filter { route in
                route.segments.count == segments.count && zip(route.segments, segments).allSatisfy { template, actual in
                    template.hasPrefix(":") || template.hasPrefix("{") || template == actual
                }
            }.map(\.method))
        }
    }

    let routes = Routes()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = routes.methods(for: request.uri.path)
            guard !allowed.isEmpty, !allowed.contains(request.method) else { throw error }
            var response = try APIJSONEncoder.response(["error": ErrorMapping.defaultMessage(.methodNotAllowed)], status: .methodNotAllowed)
            response.headers[.allow] = allowed.map(\.rawValue).sorted().joined(separator: ", ")
            return response
        }
    }
}
