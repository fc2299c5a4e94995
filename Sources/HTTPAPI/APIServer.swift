import Foundation
import Hummingbird
import Integrations
import Logging
import Prometheus
import Queue
import Registration
import Runs
import Storage
import Tenancy
import Endpoints

/// Everything the routes need, passed in; no globals.
public struct APIDependencies: Sendable {
    public let database: any Database
    public let tenancy: TenancyService
    public let migrations: MigrationRunner
    public let endpoints: EndpointService
    public let runs: RunEngine
    public let integrations: IntegrationService
    public let registration: RegistrationService
    public let queue: JobQueue
    public let metrics: PrometheusCollectorRegistry
    public let logger: Logger
    /// How long `POST /api/v1/endpoints/:slug/index` waits for the worker before answering.
    public var indexWaitTimeout: Duration = .seconds(30)

    public init(database: any Database, endpoints: EndpointService, runs: RunEngine, integrations: IntegrationService,
                registration: RegistrationService, metrics: PrometheusCollectorRegistry, logger: Logger) {
        self.database = database
        // Keys verified in the last 2 s skip their lookup; README (Security) states the revocation delay.
        self.tenancy = TenancyService(database: database, verifiedKeys: VerifiedKeys(lifetime: .seconds(2)))
        self.migrations = MigrationRunner(database: database, logger: logger)
        self.endpoints = endpoints
        self.runs = runs
        self.integrations = integrations
        self.registration = registration
        self.queue = endpoints.queue
        self.metrics = metrics
        self.logger = logger
    }
}

public enum APIServer {
    /// The whole API: open routes (health, metrics, the deploy hook) and, behind the API key, the
    /// routes of one environment.
    public static func makeRouter(_ deps: APIDependencies) -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: RequestMetricsMiddleware(factory: PrometheusMetricsFactory(registry: deps.metrics)))
        router.add(middleware: JSONErrorMiddleware())
        let methods = MethodNotAllowedMiddleware<APIRequestContext>()
        router.add(middleware: methods)

        HealthController(deps: deps).addRoutes(to: router)
        MetaController(deps: deps).addRoutes(to: router)
        EndpointsController(deps: deps).addHookRoutes(to: router)
        SourcesController(deps: deps).addReceiverRoutes(to: router)

        let api = router.group("api/v1").add(middleware: APIKeyAuthenticator(tenancy: deps.tenancy))
        WhoAmIController().addRoutes(to: api)
        DashboardLinksController(deps: deps).addRoutes(to: api)
        EndpointsController(deps: deps).addRoutes(to: api)
        JobsController(deps: deps).addRoutes(to: api)
        RunsController(deps: deps).addRoutes(to: api)
        SchedulesController(deps: deps).addRoutes(to: api)
        IntegrationsController(deps: deps).addRoutes(to: api)
        SourcesController(deps: deps).addRoutes(to: api)
        RunsController(deps: deps).addV2Routes(to: router.group("api/v2").add(middleware: APIKeyAuthenticator(tenancy: deps.tenancy)))

        methods.routes.set(router.routes.map { (method: $0.method, path: "\($0.path)") })
        return router
    }
}
