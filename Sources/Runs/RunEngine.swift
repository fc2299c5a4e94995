import CoreMetrics
import EndpointClient
import Foundation
import Integrations
import JSON
import Logging
import Queue
import Registration
import Storage
import Timing

/// Running what is registered: events in, matching dispatchers, runs, EXECUTE_JOB, the SDK's task
/// calls, waits and retries by replay. One value holds the dependencies; the parts live in the
/// extensions next to this file (events, run creation, execution, tasks, reads).
public struct RunEngine: Sendable {
    public struct Configuration: Sendable {
        /// EXECUTE_JOB attempts that fail in transport, time out or answer 5xx/408/429 before the run
        /// fails (trigger.dev: 10, 500 ms × 1.5ⁿ apart, about a minute in all).
        public var executionRetries = 10
        public var executionRetryBase: TimeInterval = 0.5
        /// A job queue's limit when its job declares none (trigger.dev's `maxJobs` default).
        public var defaultQueueConcurrency = 100
        /// Largest event payload, task body and task output accepted, in bytes.
        public var maximumPayloadBytes = 3 * 1024 * 1024
        /// Where third parties reach this server (`KONGFLOW_PUBLIC_URL`): webhook sources' channel URLs.
        public var publicURL = "http://127.0.0.1:3030"
        /// How long a webhook's sender waits for the SDK's response before it gets 202 (delivery goes on).
        public var sourceResponseWait: Duration = .seconds(5)
        /// Largest webhook body accepted, in bytes.
        public var maximumWebhookBytes = 1024 * 1024
        public init() {}
    }

    public let database: any Database
    public let queue: JobQueue
    let client: EndpointClient
    /// The credentials a run's HOSTED integrations get (EXECUTE_JOB's `connections`).
    let integrations: IntegrationService
    public let configuration: Configuration
    let metrics: RunMetrics
    let logger: Logger
    let now: @Sendable () -> Date
    let ids = ULIDGenerator()

    public init(database: any Database, queue: JobQueue, client: EndpointClient, integrations: IntegrationService, configuration: Configuration = .init(),
                metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance,
                logger: Logger = Logger(label: "kongflow.runs"), now: @escaping @Sendable () -> Date = Date.init) {
        self.database = database
        self.queue = queue
        self.client = client
        self.integrations = integrations
        self.configuration = configuration
        self.metrics = RunMetrics(factory: metricsFactory)
        self.logger = logger
        self.now = now
    }

    /// Adds the `deliverEvent`, `performRunExecution`, `fireSchedule`, `activateSource` and
    /// `deliverHttpSourceRequest` handlers to `registry`.
    public func registerTasks(in registry: inout TaskRegistry) {
        registry.register(RunTasks.deliverEvent, payload: DeliverEventPayload.self) { payload, context in
            try await self.deliverEvent(id: payload.id, context: context)
        }
        registry.register(RunTasks.performRunExecution, payload: ExecutionPayload.self) { payload, context in
            try await self.performExecution(payload, context: context)
        }
        registry.register(ScheduleTicks.task, payload: ScheduleTicks.Payload.self) { payload, context in
            try await self.fireSchedule(payload, context: context)
        }
        registry.register(SourceTasks.activate, payload: SourceTasks.ActivatePayload.self) { payload, context in
            try await self.activateSource(payload, context: context)
        }
        registry.register(SourceTasks.deliver, payload: SourceTasks.DeliverPayload.self) { payload, context in
            try await self.deliverWebhook(payload, context: context)
        }
    }
}

/// Task identifiers and payloads of the run engine (docs/spec/trigger-v2-runs.md §4.6).
public enum RunTasks {
    public static let deliverEvent = "deliverEvent"
    public static let performRunExecution = "performRunExecution"

    /// The queue a job queue's executions run on; its limit is the job's `maxConcurrent`.
    static func queueName(jobQueueId: UUID) -> String { "runs-\(jobQueueId.lowercasedString)" }
}

struct DeliverEventPayload: Codable, Sendable { let id: UUID }

struct ExecutionPayload: Codable, Sendable {
    let runId: UUID
    /// The task this execution resumes (a wait that is over, a retry that is due).
    let resumeTaskId: String?
}

/// The counters and timers of runs.
struct RunMetrics: Sendable {
    let factory: any MetricsFactory

    func finished(_ status: RunStatus) {
        Counter(label: "kongflow_runs_finished_total", dimensions: [("status", status.rawValue)], factory: factory).increment()
    }

    func created(_ count: Int) {
        Counter(label: "kongflow_runs_created_total", factory: factory).increment(by: count)
    }

    func execution(outcome: String, duration: Duration) {
        Counter(label: "kongflow_run_executions_total", dimensions: [("outcome", outcome)], factory: factory).increment()
        CoreMetrics.Timer(label: "kongflow_run_execution_duration_seconds", factory: factory).recordNanoseconds(duration.nanoseconds)
    }

    /// A schedule's tick: fired, a duplicate (fired before), or the chain's end; and how late it fired.
    func tick(outcome: String, lag: TimeInterval) {
        Counter(label: "kongflow_schedule_ticks_total", dimensions: [("outcome", outcome)], factory: factory).increment()
        if outcome == "fired" {
            CoreMetrics.Timer(label: "kongflow_schedule_tick_lag_seconds", factory: factory).recordNanoseconds(Int64(max(0, lag) * 1e9))
        }
    }

    /// From the event's arrival to the first EXECUTE_JOB of a run it started.
    func firstExecutionLag(_ seconds: TimeInterval) {
        CoreMetrics.Timer(label: "kongflow_event_to_execution_seconds", factory: factory).recordNanoseconds(Int64(max(0, seconds) * 1e9))
    }
}
