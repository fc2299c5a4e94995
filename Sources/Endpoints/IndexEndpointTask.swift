import EndpointClient
import Foundation
import Logging
import Queue
import Storage
import TriggerProtocol

extension EndpointService {
    /// The `indexEndpoint` task: INDEX_ENDPOINT, then in one transaction the index becomes SUCCESS
    /// (stats, data) and the register tasks are enqueued on the endpoint's serial queue. A failed
    /// call is recorded on the index; it goes back to PENDING while the environment allows more calls
    /// and ends as FAILURE on the last one (or at once when a newer index of the endpoint is already
    /// PENDING to call again), so every index reaches SUCCESS or FAILURE exactly once.
    /// A database error is thrown: the queue retries it, whatever the environment.
    public func performIndex(_ payload: IndexEndpointPayload, job: Job) async throws {
        guard let indexId = UUID(uuidString: payload.indexId) else {
            throw EndpointServiceError.invalidInput("Invalid payload for task 'indexEndpoint': indexId is not a UUID")
        }
        var logger = self.logger
        logger[metadataKey: "index_id"] = "\(payload.indexId)"
        logger[metadataKey: "endpoint_id"] = "\(payload.id)"
        guard let index = try await repository.index(id: indexId, in: database) else {
            logger.warning("index no longer exists; nothing to do")
            return
        }
        if index.status.isTerminal { return }
        guard let target = try await repository.endpointWithEnvironment(id: index.endpointId, in: database) else { return }
        if target.endpoint.deletedAt != nil {
            _ = try await repository.setStatus(indexId: indexId, to: .failure, from: [.pending, .started],
                                               error: IndexFailure(message: "Endpoint was deleted"), now: now(), in: database)
            return
        }
        guard try await repository.setStatus(indexId: indexId, to: .started, from: [.pending, .started], now: now(), in: database) else {
            return
        }
        let started = ContinuousClock.now
        let result: IndexResult
        do {
            result = try await client.indexEndpoint(url: target.endpoint.url, apiKey: target.apiKey)
        } catch let error as EndpointCallError {
            let failure = IndexFailure(message: error.message, raw: error.raw)
            let last = job.attempts >= min(job.maxAttempts, EndpointTasks.endpointCallAttempts(environmentType: target.environmentType))
            let final: Bool
            if last {
                _ = try await repository.setStatus(indexId: indexId, to: .failure, from: [.started], error: failure, now: now(), in: database)
                final = true
            } else {
                final = try await repository.returnToPending(indexId: indexId, error: failure, now: now(), in: database) != .pending
            }
            metrics.index(outcome: final ? "failure" : "retry", duration: ContinuousClock.now - started)
            logger.info("index failed", metadata: ["error": "\(error.message)", "attempt": "\(job.attempts)", "final": "\(final)"])
            if final { return }
            throw error
        }

        let response = result.response
        let endpointId = target.endpoint.id
        let queueName = EndpointTasks.queueName(endpointId: endpointId)
        let options = JobOptions(queueName: queueName, maxAttempts: EndpointTasks.registrationAttempts, scope: target.endpoint.environmentId.lowercasedString)
        // trigger.dev's order: jobs first (dynamic triggers and schedules look jobs up), then
        // sources, dynamic triggers, dynamic schedules. Disabled jobs are registered too, so that
        // registration can disable them.
        // The items go as the endpoint sent them (validated already; registration validates again).
        let document = result.document
        func items(_ field: String) -> [JSONValue] { document[field]?.arrayValue ?? [] }
        func tasks(_ task: String, _ field: String) -> [JobQueue.NewJob] {
            items(field).map { .init(task: task, payloadJSON: RegisterPayload.encode(task: task, endpointId: endpointId, indexId: indexId, item: $0), options: options) }
        }
        let declaredJobs = items("jobs")
        var newJobs: [JobQueue.NewJob] = stride(from: 0, to: declaredJobs.count, by: EndpointTasks.jobsPerRegistration).map {
            JobQueue.NewJob(task: EndpointTasks.registerJob, payloadJSON: RegisterPayload.encode(
                jobs: Array(declaredJobs[$0..<min($0 + EndpointTasks.jobsPerRegistration, declaredJobs.count)]), endpointId: endpointId, indexId: indexId),
                            options: options)
        }
        newJobs += tasks(EndpointTasks.registerSource, "sources")
        newJobs += tasks(EndpointTasks.registerDynamicTrigger, "dynamicTriggers")
        newJobs += tasks(EndpointTasks.registerDynamicSchedule, "dynamicSchedules")
        var finish = IndexEndpointPayload(id: endpointId.lowercasedString, indexId: indexId.lowercasedString)
        finish.declaredJobs = response.jobs.filter(\.enabled).map(\.id)
        newJobs.append(try .init(task: EndpointTasks.finishRegistration, payload: finish, options: options))
        let jobs = newJobs
        let stats = try JSONValue(encoding: response.stats)
        let data = try JSONValue(encoding: response)
        let now = self.now()
        let repository = self.repository
        let queue = self.queue
        let recorded = try await database.transaction { tx -> Bool in
            guard try await repository.setStatus(indexId: indexId, to: .success, from: [.started], stats: stats, data: data, now: now, in: tx) else {
                return false
            }
            try await repository.updateAfterIndex(endpointId: endpointId, url: result.info.permanentRedirectURL,
                                                  version: result.info.triggerVersion, sdkVersion: result.info.triggerSdkVersion, now: now, in: tx)
            try await queue.enqueue(jobs, in: tx)
            try await RegistrationSummary.recordUnsupported(indexId: indexId, webhooks: response.webhooks ?? [],
                                                            httpEndpoints: response.httpEndpoints ?? [], now: now, in: tx)
            return true
        }
        metrics.index(outcome: recorded ? "success" : "superseded", duration: ContinuousClock.now - started)
        if let moved = result.info.permanentRedirectURL {
            logger.notice("endpoint moved permanently; url updated", metadata: ["url": "\(moved)"])
        }
        logger.info("indexed", metadata: ["jobs": "\(response.jobs.count)", "sources": "\(response.sources.count)",
                                          "dynamic_triggers": "\(response.dynamicTriggers.count)", "dynamic_schedules": "\(response.dynamicSchedules.count)"])
    }
}

extension EndpointService {
    /// The `reason` a deploy hook body gives (exposed for tests and tools).
    public static func vercelReason(_ body: JSONValue) -> String? { VercelDeployment.reason(body) }
}

/// Reads the `reason` of an index from a Vercel deploy webhook body (trigger.dev's
/// `parseReasonFromBody`); any other body gives no reason.
enum VercelDeployment {
    static func reason(_ body: JSONValue) -> String? {
        guard body["type"]?.stringValue == "deployment.succeeded", case .number = body["createdAt"],
              let deployment = body["payload"]?["deployment"],
              let name = deployment["name"]?.stringValue, let url = deployment["url"]?.stringValue else { return nil }
        if let meta = deployment["meta"], let message = meta["githubCommitMessage"]?.stringValue,
           let ref = meta["githubCommitRef"]?.stringValue, let sha = meta["githubCommitSha"]?.stringValue {
            return "\"\(message)\" was deployed from \(ref) (\(sha.prefix(7))) to \(name)"
        }
        return "Vercel project \(name) was deployed to \(url)"
    }
}
