import EndpointClient
import Endpoints
import Foundation
import HTTPAPI
import Logging
import Prometheus
import Queue
import Registration
import Storage

/// The long-lived parts that `serve` and `worker` share, wired together once: queue, endpoint
/// client, services, task handlers and the metrics registry.
struct KongflowRuntime: Sendable {
    let database: any Database
    let queue: JobQueue
    let client: EndpointClient
    let endpoints: EndpointService
    let registry: TaskRegistry
    let metrics: PrometheusCollectorRegistry
    let logger: Logger

    init(database: any Database, logger: Logger, clientConfiguration: EndpointClientConfiguration = .init(),
         endpointConfiguration: EndpointService.Configuration = .init()) {
        self.database = database
        self.logger = logger
        let metrics = PrometheusCollectorRegistry()
        self.metrics = metrics
        let queue = JobQueue(database: database)
        self.queue = queue
        let client = EndpointClient(configuration: clientConfiguration, logger: logger)
        self.client = client
        let endpoints = EndpointService(database: database, queue: queue, client: client, configuration: endpointConfiguration,
                                        metricsFactory: PrometheusMetricsFactory(registry: metrics), logger: logger)
        self.endpoints = endpoints
        var registry = TaskRegistry()
        endpoints.registerTasks(in: &registry, registration: RegistrationService(database: database, logger: logger))
        self.registry = registry
    }

    func makeWorker(configuration: WorkerConfiguration) -> Worker {
        Worker(queue: queue, registry: registry, configuration: configuration, logger: logger)
    }

    func apiDependencies() -> APIDependencies {
        APIDependencies(database: database, endpoints: endpoints, metrics: metrics, logger: logger)
    }

    func shutdown() async {
        await client.shutdown()
    }
}
