import Foundation
import Hummingbird
import Logging
import Storage
import Tenancy
import Endpoints
import Prometheus
import Queue

/// Everything the routes need, passed in; no globals.
public struct APIDependencies: Sendable {
    public let database: any Database
    public let tenancy: TenancyService
    public let migrations: MigrationRunner
    public let endpoints: EndpointService
    public let queue: JobQueue
    public let metrics: PrometheusCollectorRegistry
    public let logger: Logger
    /// How long `POST /api/v1/endpoints/:slug/index` waits for the worker before answering.
    public var indexWaitTimeout: Duration = .seconds(30)

    public init(database: any Database, endpoints: EndpointService, metrics: PrometheusCollectorRegistry, logger: Logger) {
        self.database = database
        self.tenancy = TenancyService(database: database)
        self.migrations = MigrationRunner(database: database, logger: logger)
        self.endpoints = endpoints
        self.queue = endpoints.queue
        self.metrics = metrics
        self.logger = logger
    }
}

public enum APIServer {
    public static func makeRouter(_ deps: APIDependencies) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: RequestMetricsMiddleware(factory: PrometheusMetricsFactory(registry: deps.metrics)))
        router.add(middleware: JSONErrorMiddleware())
        let methods = MethodNotAllowedMiddleware()
        router.add(middleware: methods)
        HealthRoutes(deps: deps).register(on: router)
        WhoAmIRoutes(deps: deps).register(on: router)
        EndpointRoutes(deps: deps).register(on: router)
        JobRoutes(deps: deps).register(on: router)
        MetaRoutes(deps: deps).register(on: router)
        methods.routes.set(router.routes.map { (method: $0.method, path: "\($0.path)") })
        return router
    }

    public static func makeApplication(
        _ deps: APIDependencies, host: String, port: Int,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: makeRouter(deps),
            configuration: .init(address: .hostname(host, port: port), serverName: "kongflow"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: deps.logger)
    }
}

/// Resolves the request's `Authorization: Bearer <secret key>` to its environment or throws 401.
func authenticate(_ request: Request, _ deps: APIDependencies) async throws -> AuthenticatedEnvironment {
    guard let environment = try await deps.tenancy.authenticate(authorization: request.headers[.authorization]) else {
        throw APIError.unauthorized
    }
    return environment
}

struct HealthRoutes {
    let deps: APIDependencies

    func register(on router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ in
            try JSONResponse.encode(["status": "ok"])
        }
        router.get("/readyz") { _, _ in
            do {
                try await deps.database.ping()
            } catch {
                throw APIError(.serviceUnavailable, "Database unavailable: \(error)")
            }
            guard try await deps.migrations.isCurrent() else {
                throw APIError(.serviceUnavailable, "Database schema is not current; run `kongflow migrate up`")
            }
            return try JSONResponse.encode(["status": "ready"])
        }
    }
}

struct WhoAmIRoutes {
    let deps: APIDependencies

    struct Body: Encodable {
        struct Env: Encodable { let id: String; let slug: String; let type: String }
        struct Proj: Encodable { let id: String; let slug: String; let name: String }
        struct Org: Encodable { let id: String; let slug: String; let title: String }
        let environment: Env
        let project: Proj
        let organization: Org
    }

    func register(on router: Router<BasicRequestContext>) {
        router.get("/api/v1/whoami") { request, _ in
            let env = try await authenticate(request, deps)
            return try JSONResponse.encode(Body(
                environment: .init(id: env.id.lowercasedString, slug: env.slug, type: env.type.rawValue),
                project: .init(id: env.project.id.lowercasedString, slug: env.project.slug, name: env.project.name),
                organization: .init(id: env.organization.id.lowercasedString, slug: env.organization.slug, title: env.organization.title)))
        }
    }
}

extension UUID {
    /// Ids go over the wire in lowercase, as PostgreSQL prints them.
    public var lowercasedString: String { uuidString.lowercased() }
}

/// A known path asked with a method it does not have is 405 with `Allow` (RFC 9110), not the 404 the
/// router alone gives. The route table is filled once the routes are registered.
struct MethodNotAllowedMiddleware: RouterMiddleware {
    final class Routes: @unchecked Sendable {
        private let lock = NSLock()
        private var routes: [(method: HTTPRequest.Method, segments: [Substring])] = []

        func set(_ routes: [(method: HTTPRequest.Method, path: String)]) {
            let parsed = routes.map { (method: $0.method, segments: $0.path.split(separator: "/")) }
            lock.withLock { self.routes = parsed }
        }

        /// The methods of every route whose template matches `path`.
        func methods(for path: String) -> Set<HTTPRequest.Method> {
            let segments = path.split(separator: "/")
            let routes = lock.withLock { self.routes }
            return Set(routes.filter { route in
                route.segments.count == segments.count && zip(route.segments, segments).allSatisfy { template, actual in
                    template.hasPrefix(":") || template.hasPrefix("{") || template == actual
                }
            }.map(\.method))
        }
    }

    let routes = Routes()

    func handle(_ request: Request, context: BasicRequestContext,
                next: (Request, BasicRequestContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = routes.methods(for: request.uri.path)
            guard !allowed.isEmpty, !allowed.contains(request.method) else { throw error }
            var response = try JSONResponse.encode(["error": ErrorMapping.defaultMessage(.methodNotAllowed)], status: .methodNotAllowed)
            response.headers[.allow] = allowed.map(\.rawValue).sorted().joined(separator: ", ")
            return response
        }
    }
}
