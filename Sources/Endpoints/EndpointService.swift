import CoreMetrics
import EndpointClient
import Foundation
import JSON
import Logging
import Queue
import Storage
import Tenancy
import TriggerProtocol
import Timing

/// CreateEndpoint, IndexEndpoint and the deploy hook: the mission's core.
public struct EndpointService: Sendable {
    public struct Configuration: Sendable {
        /// The deploy hook indexes this long after it is called (trigger.dev: 5 s), so the new
        /// deployment is serving by then.
        public var hookDelay: TimeInterval = 5
        /// An endpoint's indexes start at least this far apart (counted from creation): every
        /// INDEX_ENDPOINT is a call into the user's app, and a watcher or script that registers in a
        /// loop would otherwise keep it answering back to back. A registration inside the interval is
        /// not lost: it joins the PENDING index, which runs when the interval is over and so calls
        /// INDEX_ENDPOINT after that registration.
        public var indexInterval: TimeInterval = 1
        public init() {}
    }

    public let database: any Database
    public let queue: JobQueue
    let client: EndpointClient
    let repository = EndpointRepository()
    let configuration: Configuration
    let now: @Sendable () -> Date
    let logger: Logger
    let metrics: EndpointMetrics

    public init(database: any Database, queue: JobQueue, client: EndpointClient, configuration: Configuration = .init(),
                metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance,
                logger: Logger = Logger(label: "kongflow.endpoints"), now: @escaping @Sendable () -> Date = Date.init) {
        self.database = database
        self.queue = queue
        self.client = client
        self.configuration = configuration
        self.metrics = EndpointMetrics(factory: metricsFactory)
        self.logger = logger
        self.now = now
    }

    // MARK: CreateEndpoint

    /// PINGs `url` as `slug` with the environment's key; then, in one transaction, upserts the
    /// endpoint, adds a PENDING index (source INTERNAL) and enqueues its indexing. Answers with the
    /// index that will see this registration.
    public func createEndpoint(environment: AuthenticatedEnvironment, slug: String, url: String) async throws -> (Endpoint, IndexState) {
        try Self.validate(slug: slug, url: url)
        // Given with each message rather than set on the logger: this route is hot and its messages are
        // rare, so the metadata is only built for a message that is written.
        let logger = self.logger
        func context(_ extra: Logger.Metadata) -> Logger.Metadata {
            extra.merging(["endpoint_slug": "\(slug)", "environment_id": "\(environment.id.lowercasedString)"]) { mine, _ in mine }
        }
        let pong: PingResult
        do {
            pong = try await client.ping(url: url, apiKey: environment.apiKey, endpointId: slug)
            metrics.ping(outcome: "ok")
        } catch let error as EndpointCallError {
            metrics.ping(outcome: "failed")
            logger.info("ping failed", metadata: context(["error": "\(error.message)"]))
            throw EndpointServiceError.failedPing(error.message)
        }
        let now = self.now()
        let repository = self.repository
        do {
            // A registration that changes nothing (same URL and versions) writes no endpoint row, so it
            // takes no row lock (`trigger.dev dev` registers again on every change, and one slug's
            // writes would queue on its row); `updatedAt` stays. While an index is still PENDING it is
            // answered from this one read: that index calls INDEX_ENDPOINT after this PING, so it sees
            // what this request would have it see.
            if let (endpoint, pending) = try await repository.endpointWithPendingIndex(environmentId: environment.id, slug: slug, in: database),
               endpoint.url == url, endpoint.keeps(version: pong.triggerVersion, sdkVersion: pong.triggerSdkVersion) {
                if let pending {
                    metrics.coalesced()
                    logger.debug("endpoint unchanged; index already pending", metadata: context(["endpoint_id": "\(endpoint.id.lowercasedString)", "index_id": "\(pending.id.lowercasedString)"]))
                    return (endpoint, pending)
                }
                let index = try await database.transaction { tx in
                    try await self.requestIndex(endpoint: endpoint, source: .internal, reason: nil, sourceData: nil, delay: 0, now: now, in: tx)
                }
                logger.info("endpoint unchanged; indexing", metadata: context(["endpoint_id": "\(endpoint.id.lowercasedString)", "index_id": "\(index.id.lowercasedString)"]))
                return (endpoint, index.state)
            }
            let result = try await database.transaction { tx in
                let endpoint = try await repository.upsert(
                    environmentId: environment.id, organizationId: environment.organization.id, projectId: environment.project.id,
                    slug: slug, url: url, version: pong.triggerVersion, sdkVersion: pong.triggerSdkVersion, now: now, in: tx)
                let index = try await self.requestIndex(endpoint: endpoint,
                                                        source: .internal, reason: nil, sourceData: nil, delay: 0, now: now, in: tx)
                return (endpoint, index.state)
            }
            logger.info("endpoint registered", metadata: context(["endpoint_id": "\(result.0.id.lowercasedString)", "index_id": "\(result.1.id.lowercasedString)"]))
            return result
        } catch let error as StorageError {
            logger.error("endpoint upsert failed", metadata: context(["error": "\(error)"]))
            if case .unavailable = error { throw error }
            throw EndpointServiceError.failedUpsert("Something went wrong")
        }
    }

    static func validate(slug: String, url: String) throws {
        guard !slug.isEmpty, slug.count <= 100 else {
            throw EndpointServiceError.invalidInput("Invalid request body: id must be 1 to 100 characters")
        }
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = parsed.host, !host.isEmpty, url.count <= 2048 else {
            throw EndpointServiceError.invalidInput("Invalid request body: url must be an http or https URL")
        }
    }

    // MARK: Requesting an index

    /// Adds a PENDING index for `endpoint` and enqueues the job that runs it, inside `tx`.
    ///
    /// Coalescing: while the endpoint already has a PENDING index (queued, not started), that
    /// index is returned instead of adding another, so bursts (the CLI re-registers on every file
    /// save, deploy hooks fire per region) cost one INDEX_ENDPOINT call. An index that has started
    /// is not reused: changes made after it began need a fresh one. A unique index keeps the one
    /// PENDING index per endpoint, so concurrent requests do not serialise on the endpoint's row.
    func requestIndex(endpoint: Endpoint, source: IndexSource, reason: String?, sourceData: JSONValue?,
                      delay: TimeInterval, now: Date, in tx: any Transaction) async throws -> EndpointIndex {
        let (index, created) = try await repository.insertOrJoinPendingIndex(
            endpointId: endpoint.id, source: source, reason: reason, sourceData: sourceData, now: now, in: tx)
        guard created else {
            metrics.coalesced()
            return index
        }
        var runAt = now.addingTimeInterval(delay)
        if configuration.indexInterval > 0,
           let previous = try await repository.previousIndexCreatedAt(endpointId: endpoint.id, excluding: index.id, in: tx) {
            runAt = max(runAt, previous.addingTimeInterval(configuration.indexInterval))
        }
        try await queue.enqueue(
            EndpointTasks.indexEndpoint,
            payload: IndexEndpointPayload(id: endpoint.id.lowercasedString, indexId: index.id.lowercasedString),
            options: JobOptions(queueName: EndpointTasks.queueName(endpointId: endpoint.id),
                                runAt: runAt > now ? runAt : nil,
                                maxAttempts: EndpointTasks.indexAttempts, scope: endpoint.environmentId.lowercasedString),
            in: tx)
        return index
    }

    /// Queues an index of the environment's endpoint `slug` (source API or MANUAL).
    public func requestIndex(environment: AuthenticatedEnvironment, slug: String, source: IndexSource, reason: String?, sourceData: JSONValue?) async throws -> EndpointIndex {
        let now = self.now()
        let repository = self.repository
        return try await database.transaction { tx in
            guard let endpoint = try await repository.endpoint(environmentId: environment.id, slug: slug, in: tx) else {
                throw EndpointServiceError.endpointNotFound
            }
            return try await self.requestIndex(endpoint: endpoint, source: source,
                                               reason: reason, sourceData: sourceData, delay: 0, now: now, in: tx)
        }
    }

    /// Waits until the index is SUCCESS or FAILURE, or `timeout` passes; returns it as it is then.
    public func waitForIndex(id: UUID, environmentId: UUID, timeout: Duration) async throws -> EndpointIndex {
        let deadline = ContinuousClock.now + timeout
        var pause = Duration.milliseconds(20)
        while true {
            guard let index = try await repository.index(id: id, environmentId: environmentId, in: database) else {
                throw EndpointServiceError.endpointIndexNotFound
            }
            if index.status.isTerminal || ContinuousClock.now + pause > deadline { return index }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(250))
        }
    }

    // MARK: Deploy hook

    /// `GET|POST /api/v1/endpoints/:environmentId/:slug/index/:hookIdentifier`: no API key; the
    /// identifier in the URL is the secret. Indexes after `hookDelay` with source HOOK.
    public func triggerHook(environmentId: UUID, slug: String, hookIdentifier: String, body: Data?) async throws -> EndpointIndex {
        let now = self.now()
        let repository = self.repository
        let sourceData = body.flatMap { $0.isEmpty ? nil : try? JSONValue.parse($0) }
        let reason = sourceData.flatMap(VercelDeployment.reason)
        return try await database.transaction { tx in
            guard let endpoint = try await repository.endpoint(environmentId: environmentId, slug: slug, in: tx) else {
                throw EndpointServiceError.endpointNotFound
            }
            guard APIKeys.constantTimeEquals(endpoint.indexingHookIdentifier, hookIdentifier) else {
                throw EndpointServiceError.invalidHookIdentifier
            }
            return try await self.requestIndex(endpoint: endpoint, source: .hook,
                                               reason: reason, sourceData: sourceData, delay: self.configuration.hookDelay, now: now, in: tx)
        }
    }

    // MARK: Reads and delete

    public func endpoint(environment: AuthenticatedEnvironment, slug: String) async throws -> Endpoint {
        guard let endpoint = try await repository.endpoint(environmentId: environment.id, slug: slug, in: database) else {
            throw EndpointServiceError.endpointNotFound
        }
        return endpoint
    }

    public func endpoints(environment: AuthenticatedEnvironment) async throws -> [(Endpoint, EndpointIndex?)] {
        try await repository.endpointsWithLatestIndex(environmentId: environment.id, in: database)
    }

    /// The environment's endpoints with their latest index's id and status, as the endpoint API shows them.
    public func endpointsWithIndexState(environment: AuthenticatedEnvironment) async throws -> [(Endpoint, IndexState?)] {
        try await repository.endpointsWithLatestIndexState(environmentId: environment.id, in: database)
    }

    /// The endpoint called `slug` and its latest index's id and status.
    public func endpointWithIndexState(environment: AuthenticatedEnvironment, slug: String) async throws -> (Endpoint, IndexState?) {
        guard let found = try await repository.endpointsWithLatestIndexState(environmentId: environment.id, slug: slug, in: database).first else {
            throw EndpointServiceError.endpointNotFound
        }
        return found
    }

    public func indexes(environment: AuthenticatedEnvironment, slug: String, limit: Int, before: UUID?) async throws -> [EndpointIndex] {
        let endpoint = try await self.endpoint(environment: environment, slug: slug)
        return try await repository.indexes(endpointId: endpoint.id, limit: limit, before: before, in: database)
    }

    public func index(environment: AuthenticatedEnvironment, id: UUID) async throws -> EndpointIndex {
        guard let index = try await repository.index(id: id, environmentId: environment.id, in: database) else {
            throw EndpointServiceError.endpointIndexNotFound
        }
        return index
    }

    public func registrationSummary(indexId: UUID) async throws -> RegistrationSummary {
        try await repository.registrationSummary(indexId: indexId, in: database)
    }

    /// Soft-deletes: the endpoint disappears from reads and stops being indexed; its index history stays.
    public func deleteEndpoint(environment: AuthenticatedEnvironment, slug: String) async throws -> Endpoint {
        let endpoint = try await self.endpoint(environment: environment, slug: slug)
        try await repository.softDelete(endpointId: endpoint.id, now: now(), in: database)
        return endpoint
    }
}

/// The counters and timers this service reports.
struct EndpointMetrics: Sendable {
    let factory: any MetricsFactory

    func ping(outcome: String) {
        Counter(label: "kongflow_endpoint_pings_total", dimensions: [("outcome", outcome)], factory: factory).increment()
    }

    func index(outcome: String, duration: Duration) {
        Counter(label: "kongflow_endpoint_indexes_total", dimensions: [("outcome", outcome)], factory: factory).increment()
        CoreMetrics.Timer(label: "kongflow_endpoint_index_duration_seconds", factory: factory).recordNanoseconds(
            duration.nanoseconds)
    }

    func coalesced() {
        Counter(label: "kongflow_endpoint_index_requests_coalesced_total", factory: factory).increment()
    }
}
