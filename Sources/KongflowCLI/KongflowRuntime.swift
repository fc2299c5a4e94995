import Foundation
import Logging
import Queue
import Storage

/// The long-lived parts that `serve` and `worker` share: the queue and the task handlers.
struct KongflowRuntime: Sendable {
    let database: any Database
    let queue: JobQueue
    let registry: TaskRegistry
    let logger: Logger

    init(database: any Database, logger: Logger) throws {
        self.database = database
        self.queue = JobQueue(database: database)
        self.registry = TaskRegistry()
        self.logger = logger
    }

    func makeWorker(configuration: WorkerConfiguration) -> Worker {
        Worker(queue: queue, registry: registry, configuration: configuration, logger: logger)
    }

    func shutdown() async {}
}
