import Endpoints
import Foundation
import Secrets
import JSON
import Logging
import Queue
import Storage
import TriggerProtocol

/// A problem with one declared item that retrying cannot fix (a missing HOSTED integration, an
/// invalid cron expression). It fails that item only; the index records it.
public struct RegistrationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Persists what an endpoint declares (docs/spec/trigger-v2-endpoints.md §5.3–5.6), each item in one transaction, idempotently:
/// registering the same metadata again changes nothing but `updated_at`.
public struct RegistrationService: RegistrationHandling {
    let database: any Database
    let logger: Logger
    /// Seals the HTTP secrets of webhook sources.
    let secrets: SecretBox
    let now: @Sendable () -> Date

    public init(database: any Database, logger: Logger, secrets: SecretBox, now: @escaping @Sendable () -> Date = Date.init) {
        self.database = database
        self.logger = logger
        self.secrets = secrets
        self.now = now
    }

    enum Kind: String { case job = "JOB", source = "SOURCE", dynamicTrigger = "DYNAMIC_TRIGGER", dynamicSchedule = "DYNAMIC_SCHEDULE" }

    struct Owner {
        let endpointId: UUID
        let environmentId: UUID
        let organizationId: UUID
        let projectId: UUID
    }

    // MARK: Task entry points

    public func registerJobs(endpointId: UUID, indexId: UUID?, jobs: [JobMetadata], context: JobContext) async throws {
        try await register(.job, keys: jobs.map(\.id), endpointId: endpointId, indexId: indexId, context: context) { owner, now, tx in
            try await self.upsertJobs(jobs, owner: owner, now: now, in: tx)
        }
    }

    public func registerSource(endpointId: UUID, indexId: UUID?, source: SourceMetadata, context: JobContext) async throws {
        try await register(.source, keys: [source.key], endpointId: endpointId, indexId: indexId, context: context) { owner, now, tx in
            try await self.upsertSource(source, owner: owner, now: now, in: tx)
            return [:]
        }
    }

    public func registerDynamicTrigger(endpointId: UUID, indexId: UUID?, trigger: DynamicTriggerEndpointMetadata, context: JobContext) async throws {
        try await register(.dynamicTrigger, keys: [trigger.id], endpointId: endpointId, indexId: indexId, context: context) { owner, now, tx in
            _ = try await self.upsertDynamicTrigger(slug: trigger.id, type: "EVENT", jobs: trigger.jobs, owner: owner, now: now, in: tx)
            return [:]
        }
    }

    public func registerDynamicSchedule(endpointId: UUID, indexId: UUID?, schedule: RegisterDynamicSchedulePayload, context: JobContext) async throws {
        try await register(.dynamicSchedule, keys: [schedule.id], endpointId: endpointId, indexId: indexId, context: context) { owner, now, tx in
            let triggerId = try await self.upsertDynamicTrigger(slug: schedule.id, type: "SCHEDULE", jobs: schedule.jobs, owner: owner, now: now, in: tx)
            let id = triggerId.lowercasedString
            _ = try await self.upsertDispatchers([JobRegistrationPlan.Dispatcher(dispatchableId: id, dispatchable: ["type": "DYNAMIC_TRIGGER", "id": .string(id)],
                                                             event: "dev.trigger.scheduled", source: "trigger.dev", payloadFilter: [:],
                                                             contextFilter: [:], manual: true)],
                                                 environmentId: owner.environmentId, now: now, in: tx)
            return [:]
        }
    }

    /// After every item of a successful index: jobs this endpoint registered before but no longer
    /// declares become DISABLED in its environment (trigger.dev #382, #1041).
    public func finishIndex(endpointId: UUID, indexId: UUID, declaredJobs: [String]?, context: JobContext) async throws {
        let now = self.now()
        try await database.transaction { tx in
            guard let owner = try await Self.owner(endpointId: endpointId, in: tx),
                  let row = try await tx.queryFirst("SELECT \(unsafeRaw: declaredJobs == nil ? "data" : "NULL AS data") FROM endpoint_indexes WHERE id = \(indexId) AND status = 'SUCCESS'")
            else { return }
            var declared = declaredJobs ?? []
            if declaredJobs == nil, let data = try row.decodeIfPresent("data", as: SQLJSON.self), case .array(let jobs)? = try JSONValue.parse(data.text)["jobs"] {
                for job in jobs where job["enabled"] != .bool(false) { if let id = job["id"]?.stringValue { declared.append(id) } }
            }
            let stale = try await tx.query("""
                SELECT DISTINCT v.job_id FROM job_versions v JOIN jobs j ON j.id = v.job_id
                WHERE v.endpoint_id = \(endpointId) AND v.environment_id = \(owner.environmentId) AND v.status = 'ACTIVE'
                  AND \("j.slug", notIn: declared)
                """).map { try $0.decode("job_id", as: UUID.self) }
            try await Self.disable(jobIds: stale, environmentId: owner.environmentId, now: now, in: tx)
            if !stale.isEmpty {
                context.logger.info("disabled jobs no longer declared", metadata: ["count": "\(stale.count)"])
            }
        }
    }

    /// Runs the registration of items of one kind in a transaction and records each item's outcome on
    /// the index. `body` returns the items that cannot register, by position in `keys`; throwing a
    /// `RegistrationError` fails them all.
    private func register(_ kind: Kind, keys: [String], endpointId: UUID, indexId: UUID?, context: JobContext,
                          _ body: @escaping @Sendable (Owner, Date, any Transaction) async throws -> [Int: RegistrationError]) async throws {
        let now = self.now()
        @Sendable func outcomes(_ failures: [Int: RegistrationError]) -> [(key: String, error: String?)] {
            keys.enumerated().map { ($1, failures[$0]?.description) }
        }
        func logFailures(_ failures: [Int: RegistrationError]) {
            for (position, error) in failures.sorted(by: { $0.key < $1.key }) {
                context.logger.warning("registration failed", metadata: ["kind": "\(kind.rawValue)", "key": "\(keys[position])", "error": "\(error)"])
            }
        }
        do {
            let failures = try await database.transaction { tx in
                guard let owner = try await Self.owner(endpointId: endpointId, in: tx) else {
                    throw RegistrationError("Endpoint was deleted")
                }
                let failures = try await body(owner, now, tx)
                if let indexId { try await Self.record(indexId: indexId, kind: kind, outcomes: outcomes(failures), now: now, in: tx) }
                return failures
            }
            logFailures(failures)
        } catch let error as RegistrationError {
            let failures = Dictionary(uniqueKeysWithValues: keys.indices.map { ($0, error) })
            logFailures(failures)
            if let indexId { try await Self.record(indexId: indexId, kind: kind, outcomes: outcomes(failures), now: now, in: database) }
        } catch {
            // Possibly transient (database, lock): the queue retries; the last attempt is recorded.
            if context.job.attempts >= context.job.maxAttempts, let indexId {
                let failures = Dictionary(uniqueKeysWithValues: keys.indices.map { ($0, RegistrationError("\(error)")) })
                try? await Self.record(indexId: indexId, kind: kind, outcomes: outcomes(failures), now: now, in: database)
            }
            throw error
        }
    }

    /// Upserts one row per item into `endpoint_index_registrations`; for a key given twice, the last outcome.
    static func record(indexId: UUID, kind: Kind, outcomes: [(key: String, error: String?)], now: Date, in executor: any SQLExecutor) async throws {
        var latest: [String: String?] = [:]
        for outcome in outcomes { latest[outcome.key] = .some(outcome.error) }
        let rows = latest.keys.sorted().map { key -> SQLQuery in
            let error = latest[key]!
            return "(\(indexId), \(kind.rawValue), \(key), \(error == nil ? "REGISTERED" : "FAILED"), \(error), \(now))"
        }
        _ = try await chunked(rows) { rows in
            try await executor.query("""
                INSERT INTO endpoint_index_registrations (index_id, kind, item_key, status, error, updated_at)
                VALUES \(SQLQuery.joined(rows))
                ON CONFLICT (index_id, kind, item_key) DO UPDATE SET status = excluded.status, error = excluded.error, updated_at = excluded.updated_at
                """)
        }
    }

    static func owner(endpointId: UUID, in tx: any Transaction) async throws -> Owner? {
        try await tx.queryFirst("""
            SELECT environment_id, organization_id, project_id FROM endpoints WHERE id = \(endpointId) AND deleted_at IS NULL
            """).map { Owner(endpointId: endpointId, environmentId: try $0.decode("environment_id"),
                             organizationId: try $0.decode("organization_id"), projectId: try $0.decode("project_id")) }
    }

    static func json(_ value: some Encodable) throws -> SQLJSON { try SQLJSON(encoding: value) }
}
