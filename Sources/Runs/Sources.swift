import EndpointClient
import Foundation
import JSON
import NIOCore
import Queue
import Registration
import Secrets
import Storage
import Tenancy
import TriggerProtocol

/// A webhook as the receiver took it in, for the route to answer.
public enum WebhookOutcome: Sendable, Equatable {
    /// The SDK's `response`, relayed to the sender.
    case answered(status: Int, body: JSONValue?, headers: [String: String])
    /// Stored and queued; the endpoint did not answer within the wait (it will get it, retried).
    case accepted(id: UUID)
    /// The source exists but is not active yet: nothing is delivered.
    case inactive
}

extension RunEngine {
    // MARK: Activation (docs/spec/trigger-v2-runs.md §7.1)

    /// ActivateSourceService: ingests `dev.trigger.source.register` with the source's secret and
    /// channel URL, which runs the SDK's generated registration job for the source's key.
    func activateSource(_ payload: SourceTasks.ActivatePayload, context: JobContext) async throws {
        guard let source = try await StoredSource.read(id: payload.id, in: database), source.channel == "HTTP" else { return }
        let secret = try openSourceSecret(source.storedSecret)
        let events = try await database.query("SELECT name, registered FROM trigger_source_events WHERE source_id = \(payload.id) ORDER BY name")
        let names = try events.map { try $0.decode("name", as: String.self) }
        let unregistered = try events.filter { try !$0.decode("registered", as: Bool.self) }.map { try $0.decode("name", as: String.self) }
        let active = source.active
        let event = RegisterSourceEvent(
            id: payload.id.lowercasedString, key: source.key, params: source.params ?? [:], active: active, secret: secret,
            data: source.channelData, url: "\(configuration.publicURL)/api/v1/sources/http/\(payload.id.lowercasedString)",
            clientId: source.integrationSlug, events: active ? names.filter { !unregistered.contains($0) } : names,
            missingEvents: active ? unregistered : [], orphanedEvents: payload.orphanedEvents)
        guard let environment = try await TenancyService(database: database).environment(id: source.environmentId) else { return }
        _ = try await ingest(SendEventBody(id: "\(payload.id.lowercasedString):\(context.job.id)", name: "dev.trigger.source.register", source: "trigger.dev",
                                           payload: try JSONValue(encoding: event)), environment: environment)
    }

    /// The source's HTTP secret: sealed by registration (`{"sealed"}`), or as trigger.dev stored it (`{"secret"}`).
    func openSourceSecret(_ stored: JSONValue?) throws -> String {
        guard let secret = try StoredSource.openSecret(stored, with: integrations.secrets) else { throw RunServiceError.notFound("HTTP Secret not found") }
        return secret
    }

    // MARK: PUT /api/v1/:client/sources/:key

    /// UpdateSourceService: the SDK's registration job registered the webhook; the source becomes
    /// active with its events registered, its channel data and (if it sent one) a new secret. An
    /// event the source does not have is a 400 (upstream threw inside its update).
    public func updateSource(environment: AuthenticatedEnvironment, client: String, key: String, body: UpdateTriggerSourceBody) async throws -> (id: UUID, key: String) {
        let now = self.now()
        let secrets = integrations.secrets
        return try await database.transaction { tx in
            guard let endpoint = try await tx.queryFirst("""
                SELECT id FROM endpoints WHERE environment_id = \(environment.id) AND slug = \(client) AND deleted_at IS NULL
                """) else { throw RunServiceError.notFound("Endpoint \(client) not found") }
            guard let source = try await tx.queryFirst("""
                SELECT s.id, sr.key AS secret_key FROM trigger_sources s JOIN secret_references sr ON sr.id = s.secret_reference_id
                WHERE s.environment_id = \(environment.id) AND s.key = \(key)
                """) else { throw RunServiceError.notFound("Source \(key) not found") }
            let sourceId: UUID = try source.decode("id")
            let known = Set(try await tx.query("SELECT name FROM trigger_source_events WHERE source_id = \(sourceId)").map { try $0.decode("name", as: String.self) })
            if let unknown = body.registeredEvents.first(where: { !known.contains($0) }) {
                throw RunServiceError.invalidInput("Source \(key) has no event \(unknown)")
            }
            try await tx.query("""
                UPDATE trigger_sources SET active = \(true), channel_data = \(body.data.map(SQLJSON.init)), endpoint_id = \(try endpoint.decode("id", as: UUID.self)),
                                           updated_at = \(now)
                WHERE id = \(sourceId)
                """)
            if !body.registeredEvents.isEmpty {
                try await tx.query("""
                    UPDATE trigger_source_events SET registered = \(true), updated_at = \(now) WHERE source_id = \(sourceId) AND name IN (\(list: body.registeredEvents))
                    """)
            }
            if let secret = body.secret {
                try await tx.query("""
                    INSERT INTO secret_store (key, value, created_at, updated_at)
                    VALUES (\(try source.decode("secret_key", as: String.self)), \(SQLJSON(JSONValue.object(["sealed": .string(try secrets.seal(secret))]))), \(now), \(now))
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                    """)
            }
            return (sourceId, key)
        }
    }

    // MARK: ANY /api/v1/sources/http/:id (§7.2)

    /// HandleHttpSourceService, made durable: the webhook is stored and queued in one transaction
    /// (nothing is lost while the endpoint is down), then answered with the SDK's response if it
    /// comes within `sourceResponseWait`, else 202.
    public func receiveWebhook(sourceId: UUID, method: String, url: String, headers: [String: String], body: [UInt8]) async throws -> WebhookOutcome {
        let now = self.now()
        let queue = self.queue
        let id = UUID()
        let stored = try await database.transaction { tx -> Bool in
            guard let source = try await tx.queryFirst("SELECT active, environment_id FROM trigger_sources WHERE id = \(sourceId)") else {
                throw RunServiceError.notFound("Source not found")
            }
            guard try source.decode("active", as: Bool.self) else { return false }
            let environmentId: UUID = try source.decode("environment_id")
            try await tx.query("""
                INSERT INTO http_source_requests (id, source_id, environment_id, method, url, headers, body, response, events, delivered_at, created_at)
                VALUES (\(id), \(sourceId), \(environmentId), \(method), \(url),
                        \(SQLJSON(JSONValue.object(headers.mapValues(JSONValue.string)))), \(body.isEmpty ? nil : Data(body).base64EncodedString()),
                        NULL, NULL, NULL, \(now))
                """)
            try await queue.enqueue(SourceTasks.deliver, payload: SourceTasks.DeliverPayload(id: id),
                                    options: JobOptions(maxAttempts: SourceTasks.deliveryAttempts, scope: environmentId.lowercasedString), in: tx)
            return true
        }
        guard stored else { return .inactive }
        // The worker (usually in this process) delivers it now; wait a little for the SDK's response.
        let deadline = ContinuousClock.now + configuration.sourceResponseWait
        var pause = Duration.milliseconds(10)
        while ContinuousClock.now < deadline {
            if let row = try await database.queryFirst("SELECT response FROM http_source_requests WHERE id = \(id) AND delivered_at IS NOT NULL"),
               let response = try row.json("response") {
                let headers = (response["headers"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
                return .answered(status: Int(response["status"]?.numberValue ?? 200), body: response["body"], headers: headers)
            }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(200))
        }
        return .accepted(id: id)
    }

    /// DeliverHttpSourceRequestService: the webhook to the endpoint; the SDK checks it and answers
    /// with events, which are ingested (duplicates by event id are no-ops, so a retried delivery
    /// starts nothing twice), and the response for the sender. A failure throws and the queue retries.
    func deliverWebhook(_ payload: SourceTasks.DeliverPayload, context: JobContext) async throws {
        guard let request = try await database.queryFirst("""
            SELECT r.method, r.url, r.headers, r.body, r.delivered_at, s.key, s.params, s.channel_data, s.active, s.environment_id,
                   e.url AS endpoint_url, e.deleted_at AS endpoint_deleted_at, env.api_key, dt.slug AS dynamic_trigger_slug, st.value AS secret
            FROM http_source_requests r
            JOIN trigger_sources s ON s.id = r.source_id
            JOIN endpoints e ON e.id = s.endpoint_id
            JOIN runtime_environments env ON env.id = s.environment_id
            JOIN secret_references sr ON sr.id = s.secret_reference_id
            LEFT JOIN secret_store st ON st.key = sr.key
            LEFT JOIN dynamic_triggers dt ON dt.id = s.dynamic_trigger_id
            WHERE r.id = \(payload.id)
            """), try request.decodeIfPresent("delivered_at", as: Date.self) == nil else { return }
        guard try request.decode("active", as: Bool.self), try request.decodeIfPresent("endpoint_deleted_at", as: Date.self) == nil else {
            context.logger.info("webhook dropped: its source is inactive or its endpoint deleted", metadata: ["request_id": "\(payload.id.lowercasedString)"])
            return
        }
        let secret = try openSourceSecret(try request.json("secret"))
        let originalHeaders = try request.json("headers") ?? [:]
        var headers: [(String, String)] = [
            ("x-ts-key", try request.decode("key")), ("x-ts-secret", secret),
            ("x-ts-params", (try request.json("params") ?? [:]).jsonString()), ("x-ts-data", (try request.json("channel_data") ?? [:]).jsonString()),
            ("x-ts-http-url", try request.decode("url")), ("x-ts-http-method", try request.decode("method")),
            ("x-ts-http-headers", originalHeaders.jsonString()),
        ]
        if let dynamic = try request.decodeIfPresent("dynamic_trigger_slug", as: String.self) { headers.append(("x-ts-dynamic-id", dynamic)) }
        let body = try request.decodeIfPresent("body", as: String.self).flatMap { Data(base64Encoded: $0) }.map { [UInt8]($0) } ?? []
        let (status, answer) = try await client.deliverHttpSourceRequest(url: try request.decode("endpoint_url"), apiKey: try request.decode("api_key"),
                                                                         headers: headers, body: body)
        guard (200..<300).contains(status) else {
            throw RunServiceError.invalidInput("The endpoint answered DELIVER_HTTP_SOURCE_REQUEST with status \(status): \(Self.excerpt(answer))")
        }
        let response: HttpSourceResponse
        do {
            response = try HttpSourceResponse.decode(try JSONValue.parse(Data(answer.readableBytesView)))
        } catch {
            throw RunServiceError.invalidInput("The endpoint's answer to DELIVER_HTTP_SOURCE_REQUEST is not {events, response}: \(Self.excerpt(answer))")
        }
        guard let environment = try await TenancyService(database: database).environment(id: try request.decode("environment_id")) else { return }
        for event in response.events { _ = try await ingest(event, environment: environment) }
        let reply: JSONValue = ["status": .number(Double(response.response.status)), "body": response.response.body ?? .null,
                                "headers": .object(response.response.headers.mapValues(JSONValue.string))]
        try await database.query("""
            UPDATE http_source_requests SET response = \(SQLJSON(reply)), events = \(response.events.count), delivered_at = \(now())
            WHERE id = \(payload.id)
            """)
        context.logger.debug("webhook delivered", metadata: ["request_id": "\(payload.id.lowercasedString)", "events": "\(response.events.count)"])
    }
}

extension RunEngine {
    // MARK: POST /api/v1/:client/triggers/:id/registrations (§7.4)

    /// InitializeTrigger: asks the endpoint what registering its dynamic trigger with `params` takes
    /// (INITIALIZE_TRIGGER), registers that, and sends `dev.trigger.source.register` with the trigger's
    /// id, which runs the SDK's `register-dynamic-trigger-<id>` job to create the webhook.
    public func initializeTrigger(environment: AuthenticatedEnvironment, client: String, triggerSlug: String, body: InitializeTriggerBody,
                                  registration: RegistrationService) async throws -> RegisterSourceEvent {
        guard let endpoint = try await database.queryFirst("""
            SELECT url FROM endpoints WHERE environment_id = \(environment.id) AND slug = \(client) AND deleted_at IS NULL
            """) else { throw DynamicTriggerError.notFound("Endpoint \(client) not found") }
        let answer: JSONValue
        do {
            answer = try await self.client.initializeTrigger(url: try endpoint.decode("url"), apiKey: environment.apiKey, id: triggerSlug, params: body.params)
        } catch let error as EndpointCallError {
            throw DynamicTriggerError.invalid("The endpoint could not initialize trigger \(triggerSlug): \(error.message)")
        }
        let registerBody: RegisterTriggerBody
        do { registerBody = try RegisterTriggerBody.decode(answer) } catch {
            throw DynamicTriggerError.invalid("The endpoint's answer to INITIALIZE_TRIGGER is not a RegisterTriggerBody: \(answer.jsonString().prefix(300))")
        }
        let event = try await registration.registerTrigger(environment: environment, client: client, triggerSlug: triggerSlug, key: body.id,
                                                           body: registerBody, metadata: body.metadata, publicURL: configuration.publicURL)
        var payload = try JSONValue(encoding: event)
        if case .object(var object) = payload {
            object["dynamicTriggerId"] = .string(triggerSlug)
            payload = .object(object)
        }
        _ = try await ingest(SendEventBody(id: "\(event.id):\(ids.next(now: now()))", name: "dev.trigger.source.register", source: "trigger.dev",
                                           payload: payload), environment: environment)
        return event
    }
}
