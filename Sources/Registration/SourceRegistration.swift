import Foundation
import JSON
import Queue
import Secrets
import Storage
import Tenancy
import TriggerProtocol

extension RegistrationService {
    /// RegisterSourceService (docs/spec/trigger-v2-endpoints.md §5.4), updating the params and channel trigger.dev forgot, and
    /// removing events the source no longer has. The HTTP secret is sealed (`SecretBox`) before it is
    /// stored. A source that is not active, lost events or has events not registered yet gets an
    /// activation planned (`SourceTasks.activate`), in the same transaction.
    /// A dynamic trigger's source (`dynamic`) is keyed `<trigger id>:<registration key>:<source key>` and
    /// not activated here: the SDK's `registerTrigger` registers it in the same run.
    @discardableResult
    func upsertSource(_ source: SourceMetadata, owner: Owner, now: Date, dynamic: (triggerId: UUID, key: String)? = nil,
                      in tx: any Transaction) async throws -> UUID {
        guard case .resolved(let ids) = try await resolveIntegrations([["integration": source.integration]], owner: owner, now: now, in: tx)[0] else {
            throw RegistrationError("Integration not found")
        }
        let integrationId = try require(ids, "integration", "integration id")
        let sourceKey = dynamic.map { "\($0.triggerId.lowercasedString):\($0.key):\(source.key)" } ?? source.key
        let secretKey = "\(owner.endpointId.lowercasedString):\(sourceKey)"
        let secretReferenceId: UUID = try await tx.queryFirst("""
            INSERT INTO secret_references (id, key, provider, created_at, updated_at)
            VALUES (\(UUID()), \(secretKey), 'DATABASE', \(now), \(now))
            ON CONFLICT (key) DO UPDATE SET updated_at = excluded.updated_at
            RETURNING id
            """)!.decode("id")
        let sourceId: UUID = try await tx.queryFirst("""
            INSERT INTO trigger_sources (id, key, version, params, options, channel, secret_reference_id, organization_id, environment_id,
                                         endpoint_id, project_id, integration_id, dynamic_trigger_id, active, created_at, updated_at)
            VALUES (\(UUID()), \(sourceKey), \(source.version), \(try source.params.map { try Self.json($0) }), \(try source.options.map { try Self.json($0) }),
                    \(source.channel.rawValue), \(secretReferenceId), \(owner.organizationId), \(owner.environmentId), \(owner.endpointId),
                    \(owner.projectId), \(integrationId), \(dynamic?.triggerId), \(false), \(now), \(now))
            ON CONFLICT (key, environment_id) DO UPDATE
            SET version = excluded.version, params = excluded.params, options = excluded.options, channel = excluded.channel,
                endpoint_id = excluded.endpoint_id, integration_id = excluded.integration_id, updated_at = excluded.updated_at
            RETURNING id
            """)!.decode("id")
        if source.channel == .http {
            var rng = SystemRandomNumberGenerator()
            let secret = APIKeys.hex((0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
            try await tx.query("""
                INSERT INTO secret_store (key, value, created_at, updated_at)
                VALUES (\(secretKey), \(try Self.json(JSONValue.object(["sealed": .string(try secrets.seal(secret))]))), \(now), \(now))
                ON CONFLICT (key) DO NOTHING
                """)
        }
        let events = Array(Set(source.eventNames)).sorted()
        let before = try await tx.query("SELECT name, registered FROM trigger_source_events WHERE source_id = \(sourceId)")
        let orphaned = try before.map { try $0.decode("name", as: String.self) }.filter { !events.contains($0) }.sorted()
        let registered = Set(try before.filter { try $0.decode("registered", as: Bool.self) }.map { try $0.decode("name", as: String.self) })
        let active = try await tx.queryFirst("SELECT active FROM trigger_sources WHERE id = \(sourceId)")?.decode("active", as: Bool.self) ?? false
        if !events.isEmpty {
            try await tx.query("""
                INSERT INTO trigger_source_events (id, name, source_id, registered, created_at, updated_at)
                VALUES \(SQLQuery.joined(events.map { "(\(UUID()), \($0), \(sourceId), \(false), \(now), \(now))" }))
                ON CONFLICT (name, source_id) DO NOTHING
                """)
        }
        try await tx.query("DELETE FROM trigger_source_events WHERE source_id = \(sourceId) AND \("name", notIn: events)")
        if dynamic == nil, source.channel == .http, !active || !orphaned.isEmpty || !Set(events).isSubset(of: registered) {
            try await SourceTasks.planActivation(sourceId: sourceId, environmentId: owner.environmentId, orphanedEvents: orphaned, queue: JobQueue(database: database, now: self.now), in: tx)
        }
        return sourceId
    }

    /// RegisterDynamicTriggerService (docs/spec/trigger-v2-endpoints.md §5.5): the trigger links exactly the listed jobs that this
    /// endpoint has registered. Returns the trigger's id.
    func upsertDynamicTrigger(slug: String, type: String, jobs: [JobReference], owner: Owner, now: Date, in tx: any Transaction) async throws -> UUID {
        let triggerId: UUID = try await tx.queryFirst("""
            INSERT INTO dynamic_triggers (id, slug, type, endpoint_id, created_at, updated_at)
            VALUES (\(UUID()), \(slug), \(type), \(owner.endpointId), \(now), \(now))
            ON CONFLICT (endpoint_id, slug, type) DO UPDATE SET updated_at = excluded.updated_at
            RETURNING id
            """)!.decode("id")
        let jobIds = try await tx.query("""
            SELECT DISTINCT j.id FROM jobs j JOIN job_versions v ON v.job_id = j.id
            WHERE j.project_id = \(owner.projectId) AND j.slug IN (\(list: jobs.map(\.id))) AND v.endpoint_id = \(owner.endpointId)
            """).map { try $0.decode("id", as: UUID.self) }
        try await tx.query("DELETE FROM dynamic_trigger_jobs WHERE dynamic_trigger_id = \(triggerId) AND \("job_id", notIn: jobIds)")
        if !jobIds.isEmpty {
            try await tx.query("""
                INSERT INTO dynamic_trigger_jobs (dynamic_trigger_id, job_id)
                VALUES \(SQLQuery.joined(jobIds.map { "(\(triggerId), \($0))" }))
                ON CONFLICT (dynamic_trigger_id, job_id) DO NOTHING
                """)
        }
        return triggerId
    }
}
