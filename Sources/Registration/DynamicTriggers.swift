import Foundation
import JSON
import Storage
import Tenancy
import TriggerProtocol

/// A dynamic trigger's registration that cannot be made: what is missing, or what is wrong.
public enum DynamicTriggerError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .notFound(let message), .invalid(let message): message
        }
    }
}

extension RegistrationService {
    /// RegisterTriggerSourceService (docs/spec/trigger-v2-runs.md §7.3): registration `key` of the endpoint's dynamic trigger
    /// `triggerSlug` gets its webhook source and a dispatcher that runs the trigger's jobs (their `latest`
    /// versions) for events matching `rule`. Answers the `RegisterSourceEvent` the SDK registers the
    /// webhook with. Registering the same key again updates it.
    public func registerTrigger(environment: AuthenticatedEnvironment, client: String, triggerSlug: String, key: String,
                                body: RegisterTriggerBody, metadata: JSONValue? = nil, publicURL: String) async throws -> RegisterSourceEvent {
        let now = self.now()
        let secrets = self.secrets
        return try await database.transaction { tx in
            guard let endpoint = try await tx.queryFirst("""
                SELECT id FROM endpoints WHERE environment_id = \(environment.id) AND slug = \(client) AND deleted_at IS NULL
                """), let owner = try await Self.owner(endpointId: try endpoint.decode("id"), in: tx) else {
                throw DynamicTriggerError.notFound("Endpoint \(client) not found")
            }
            guard let trigger = try await tx.queryFirst("""
                SELECT id FROM dynamic_triggers WHERE endpoint_id = \(owner.endpointId) AND slug = \(triggerSlug) AND type = 'EVENT'
                """) else { throw DynamicTriggerError.notFound("Dynamic trigger \(triggerSlug) not found") }
            let triggerId: UUID = try trigger.decode("id")
            let sourceId: UUID
            do {
                sourceId = try await self.upsertSource(body.source, owner: owner, now: now, dynamic: (triggerId, key), in: tx)
            } catch let error as RegistrationError {
                throw DynamicTriggerError.invalid(error.description)
            }
            let id = triggerId.lowercasedString
            _ = try await self.upsertDispatchers([JobRegistrationPlan.Dispatcher(
                dispatchableId: sourceId.lowercasedString, dispatchable: ["type": "DYNAMIC_TRIGGER", "id": .string(id)],
                event: try JSONValue(encoding: body.rule.event), source: body.rule.source,
                payloadFilter: try body.rule.payload.map { try JSONValue(encoding: $0) }, contextFilter: try body.rule.context.map { try JSONValue(encoding: $0) },
                manual: false)], environmentId: owner.environmentId, now: now, in: tx)
            guard let registration = try await tx.queryFirst("""
                INSERT INTO dynamic_trigger_registrations (id, key, dynamic_trigger_id, source_id, metadata, created_at, updated_at)
                VALUES (\(UUID()), \(key), \(triggerId), \(sourceId), \(metadata.map(SQLJSON.init)), \(now), \(now))
                ON CONFLICT (dynamic_trigger_id, key) DO UPDATE SET source_id = excluded.source_id, metadata = excluded.metadata, updated_at = excluded.updated_at
                RETURNING id
                """) else { throw DynamicTriggerError.invalid("The registration could not be stored") }
            guard let source = try await StoredSource.read(id: sourceId, in: tx),
                  let secret = try StoredSource.openSecret(source.storedSecret, with: secrets) else {
                throw DynamicTriggerError.invalid("Only HTTP sources can be registered")
            }
            return RegisterSourceEvent(
                id: try registration.decode("id", as: UUID.self).lowercasedString, key: source.key, params: source.params ?? [:],
                active: source.active, secret: secret, data: source.channelData,
                url: "\(publicURL)/api/v1/sources/http/\(sourceId.lowercasedString)", clientId: source.integrationSlug,
                events: Array(Set(body.source.eventNames)).sorted(), missingEvents: [], orphanedEvents: [])
        }
    }
}
