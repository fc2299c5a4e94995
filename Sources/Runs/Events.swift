import Foundation
import JSON
import Queue
import Storage
import Tenancy
import TriggerProtocol

extension RunEngine {
    // MARK: Ingest (POST /api/v1/events)

    /// Records the event and delivers it, in one transaction: at once when it is due now (one queue
    /// hop fewer between the event and its runs' first EXECUTE_JOB), else by a `deliverEvent` job at
    /// `deliverAt` (or `deliverAfter` seconds from now). The same event id again in this environment
    /// returns the first record and delivers nothing (docs/spec/trigger-v2-runs.md §1.2).
    public func ingest(_ body: SendEventBody, environment: AuthenticatedEnvironment, sourceContext: JSONValue? = nil) async throws -> EventRecord {
        let payloadJSON = (body.payload ?? .object([:])).jsonString(), contextJSON = (body.context ?? .object([:])).jsonString()
        guard payloadJSON.utf8.count + contextJSON.utf8.count <= configuration.maximumPayloadBytes else {
            throw RunServiceError.tooLarge("Event payload is larger than \(configuration.maximumPayloadBytes) bytes")
        }
        let now = self.now()
        let deliverAt = body.deliverAt ?? body.deliverAfter.map { now.addingTimeInterval(TimeInterval($0)) } ?? now
        let eventId = body.id ?? ids.next(now: now, lowercase: false)
        let queue = self.queue
        return try await database.transaction { tx in
            if let inserted = try await tx.queryFirst("""
                INSERT INTO event_records (id, event_id, name, source, timestamp, payload, context, source_context, organization_id, project_id,
                                           environment_id, deliver_at, delivered_at, is_test, created_at, updated_at)
                VALUES (\(UUID()), \(eventId), \(body.name), \(body.source ?? "trigger.dev"), \(body.timestamp ?? now), \(SQLJSON(payloadJSON)),
                        \(SQLJSON(contextJSON)), \(sourceContext.map(SQLJSON.init)), \(environment.organization.id), \(environment.project.id),
                        \(environment.id), \(deliverAt), NULL, \(false), \(now), \(now))
                ON CONFLICT (environment_id, event_id) DO NOTHING
                RETURNING \(unsafeRaw: EventRecord.columns)
                """).map(EventRecord.init) {
                if deliverAt > now {
                    try await queue.enqueue(RunTasks.deliverEvent, payload: DeliverEventPayload(id: inserted.id), options: JobOptions(runAt: deliverAt, scope: environment.id.lowercasedString), in: tx)
                    return inserted
                }
                // Answered as recorded, before delivery, as the webapp answered (`deliveredAt: null`).
                _ = try await self.deliver(id: inserted.id, now: now, in: tx)
                return inserted
            }
            guard let existing = try await tx.queryFirst("""
                SELECT \(unsafeRaw: EventRecord.columns) FROM event_records WHERE environment_id = \(environment.id) AND event_id = \(eventId)
                """).map(EventRecord.init) else { throw RunServiceError.eventNotFound }
            return existing
        }
    }

    // MARK: Delivery (the deliverEvent task)

    /// Matches the event against the environment's dispatchers and starts a run per match, in one
    /// transaction. Marking the event delivered first makes a second delivery of it a no-op.
    func deliverEvent(id: UUID, context: JobContext) async throws {
        let now = self.now()
        let created = try await database.transaction { tx in try await self.deliver(id: id, now: now, in: tx).runs }
        if created > 0 { context.logger.debug("event delivered", metadata: ["event_id": "\(id.lowercasedString)", "runs": "\(created)"]) }
    }

    /// Delivers the event inside `tx`: nothing if it was delivered already.
    func deliver(id: UUID, now: Date, in tx: any Transaction) async throws -> (event: EventRecord?, runs: Int) {
        guard let event = try await tx.queryFirst("""
            UPDATE event_records SET delivered_at = \(now), updated_at = \(now) WHERE id = \(id) AND delivered_at IS NULL
            RETURNING \(unsafeRaw: EventRecord.columns)
            """).map(EventRecord.init) else { return (nil, 0) }
        let dispatchers = try await tx.query("""
            SELECT event, payload_filter, context_filter, dispatchable FROM event_dispatchers
            WHERE environment_id = \(event.environmentId) AND source = \(event.source) AND enabled = \(true) AND manual = \(false)
            ORDER BY created_at, id
            """)
        var versions: [UUID] = []
        for row in dispatchers {
            guard Self.names(try row.json("event")).contains(event.name),
                  Self.matches(event, payloadFilter: try row.json("payload_filter"), contextFilter: try row.json("context_filter")),
                  let dispatchable = try row.json("dispatchable") else { continue }
            // A job version, or a dynamic trigger's jobs at `latest` (a registration's dispatcher).
            versions += try await dispatchedVersions(dispatchable, environmentId: event.environmentId, in: tx) ?? []
        }
        return (event, try await self.createRuns(versionIds: versions, event: event, now: now, in: tx).count)
    }

    /// A dispatcher's `event` is a name or (later SDKs) a list of names.
    static func names(_ event: JSONValue?) -> [String] {
        switch event {
        case .string(let name)?: return [name]
        case .array(let names)?: return names.compactMap(\.stringValue)
        default: return []
        }
    }

    /// No filters at all match everything; otherwise both filters (missing = `{}`) must match.
    static func matches(_ event: EventRecord, payloadFilter: JSONValue?, contextFilter: JSONValue?) -> Bool {
        if (payloadFilter == nil || payloadFilter == .null) && (contextFilter == nil || contextFilter == .null) { return true }
        guard let payload = payloadFilter?.objectValue ?? (payloadFilter == nil || payloadFilter == .null ? [:] : nil),
              let context = contextFilter?.objectValue ?? (contextFilter == nil || contextFilter == .null ? [:] : nil) else { return false }
        return EventFilterMatcher.matches(event.payload, payload) && EventFilterMatcher.matches(event.context, context)
    }

    // MARK: Reads

    public func event(environment: AuthenticatedEnvironment, eventId: String) async throws -> (EventRecord, [JobRun]) {
        guard let event = try await database.queryFirst("""
            SELECT \(unsafeRaw: EventRecord.columns) FROM event_records WHERE environment_id = \(environment.id) AND event_id = \(eventId)
            """).map(EventRecord.init) else { throw RunServiceError.eventNotFound }
        let runs = try await database.query("""
            SELECT \(unsafeRaw: JobRun.columns) FROM \(unsafeRaw: JobRun.joins) WHERE r.event_id = \(event.id) ORDER BY r.created_at, r.id
            """).map(JobRun.init)
        return (event, runs)
    }
}
