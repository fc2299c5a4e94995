import Dashboard
import EndpointClient
import Endpoints
import Foundation
import HTTPAPI
import Hummingbird
import Integrations
import Logging
import Prometheus
import Queue
import Registration
import Runs
import Secrets
import ServiceLifecycle
import Storage

/// The long-lived parts that `serve` and `worker` share, wired together once: queue, endpoint
/// client, services, task handlers and the metrics registry. Tests build the server from it too.
public struct KongflowRuntime: Sendable {
    public let database: any Database
    public let queue: JobQueue
    public let client: EndpointClient
    public let endpoints: EndpointService
    public let runs: RunEngine
    public let integrations: IntegrationService
    public let registration: RegistrationService
    public let registry: TaskRegistry
    public let metrics: PrometheusCollectorRegistry
    let secrets: SecretBox
    public let logger: Logger

    /// `secrets` seals integration credentials; `serve` and `worker` pass the configured key
    /// (`KongflowConfiguration.secretBox()`), tests and benchmarks a process-long one.
    public init(database: any Database, logger: Logger, secrets: SecretBox = .ephemeral(), clientConfiguration: EndpointClientConfiguration = .init(),
         endpointConfiguration: EndpointService.Configuration = .init(), runConfiguration: RunEngine.Configuration = .init(),
         now: @escaping @Sendable () -> Date = Date.init) {
        self.database = database
        self.logger = logger
        self.secrets = secrets
        let metrics = PrometheusCollectorRegistry()
        self.metrics = metrics
        // One clock for every part (tests move it by hand to run schedules without waiting).
        let queue = JobQueue(database: database, now: now)
        self.queue = queue
        let client = EndpointClient(configuration: clientConfiguration, logger: logger)
        self.client = client
        let endpoints = EndpointService(database: database, queue: queue, client: client, configuration: endpointConfiguration,
                                        metricsFactory: PrometheusMetricsFactory(registry: metrics), logger: logger, now: now)
        self.endpoints = endpoints
        let integrations = IntegrationService(database: database, secrets: secrets, now: now)
        self.integrations = integrations
        let runs = RunEngine(database: database, queue: queue, client: client, integrations: integrations, configuration: runConfiguration,
                             metricsFactory: PrometheusMetricsFactory(registry: metrics), logger: logger, now: now)
        self.runs = runs
        var registry = TaskRegistry()
        let registration = RegistrationService(database: database, logger: logger, secrets: secrets, now: now)
        self.registration = registration
        endpoints.registerTasks(in: &registry, registration: registration)
        runs.registerTasks(in: &registry)
        self.registry = registry
    }

    public func makeWorker(configuration: WorkerConfiguration) -> Worker {
        Worker(queue: queue, registry: registry, configuration: configuration, logger: logger)
    }

    /// Keeps every active schedule with a pending tick (runs next to each worker).
    public func makeScheduleKeeper() -> ScheduleKeeper {
        ScheduleKeeper(engine: runs)
    }

    public func apiDependencies() -> APIDependencies {
        APIDependencies(database: database, endpoints: endpoints, runs: runs, integrations: integrations, registration: registration, metrics: metrics, logger: logger)
    }

    public func shutdown() async {
        await client.shutdown()
    }

    /// Every route: the API and, at `/`, the dashboard.
    public func makeRouter(_ deps: APIDependencies) -> Router<APIRequestContext> {
        let router = APIServer.makeRouter(deps)
        DashboardController(deps: deps, secrets: secrets).addRoutes(to: router)
        return router
    }

    /// The HTTP server over `deps` (the runtime's, possibly adjusted), as a service.
    public func makeApplication(_ deps: APIDependencies, host: String, port: Int,
                                onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol & Service {
        Application(
            router: makeRouter(deps),
            server: .guardedHTTP1(),
            configuration: .init(address: .hostname(host, port: port), serverName: "kongflow"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    /// Runs `services` until SIGTERM or SIGINT, then shuts the runtime down, also when they fail.
    public func run(_ services: [any Service]) async throws {
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            await shutdown()
            throw error
        }
        await shutdown()
    }
}
