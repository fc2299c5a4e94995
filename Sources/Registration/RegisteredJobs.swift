import Foundation
import JSON
import Storage
import TriggerProtocol

/// The read side of registration: what an environment's endpoints have declared.
public struct RegisteredJobs: Sendable {
    let database: any Database

    public init(database: any Database) { self.database = database }

    /// The environment's jobs with their `latest` version, its status, trigger and endpoint.
    public func list(environmentId: UUID) async throws -> [JSONValue] {
        let rows = try await database.query("""
            SELECT j.id, j.slug, j.title, j.internal, a.value AS latest_version, v.status, v.trigger, v.updated_at, e.slug AS endpoint_slug
            FROM jobs j
            JOIN job_aliases a ON a.job_id = j.id AND a.environment_id = \(environmentId) AND a.name = 'latest'
            JOIN job_versions v ON v.id = a.version_id
            JOIN endpoints e ON e.id = v.endpoint_id
            ORDER BY j.slug
            """)
        return try rows.map { row in
            let trigger = try row.json("trigger") ?? .null
            return [
                "id": .string(try row.decode("id", as: UUID.self).lowercasedString),
                "slug": .string(try row.decode("slug")),
                "title": .string(try row.decode("title")),
                "internal": .bool(try row.decode("internal")),
                "latestVersion": .string(try row.decode("latest_version")),
                "status": .string(try row.decode("status")),
                "trigger": Self.summary(trigger),
                "endpoint": .string(try row.decode("endpoint_slug")),
                "updatedAt": .string(Self.date(try row.decode("updated_at"))),
            ]
        }
    }

    /// One job with every version in the environment, its alias, dispatcher, schedule and integrations.
    public func detail(environmentId: UUID, slug: String) async throws -> JSONValue? {
        guard let job = try await database.queryFirst("""
            SELECT DISTINCT j.id, j.slug, j.title, j.internal FROM jobs j JOIN job_versions v ON v.job_id = j.id
            WHERE j.slug = \(slug) AND v.environment_id = \(environmentId)
            """) else { return nil }
        let jobId: UUID = try job.decode("id")
        let versions = try await database.query("""
            SELECT v.id, v.version, v.status, v.trigger, v.event_specification, v.properties, v.start_position, v.preprocess_runs,
                   v.created_at, v.updated_at, e.slug AS endpoint_slug, q.name AS queue_name, q.max_jobs
            FROM job_versions v JOIN endpoints e ON e.id = v.endpoint_id JOIN job_queues q ON q.id = v.queue_id
            WHERE v.job_id = \(jobId) AND v.environment_id = \(environmentId)
            """)
        var versionJSON: [JSONValue] = []
        for row in versions.sorted(by: { Semver.isOrderedBefore(try! $1.decode("version"), try! $0.decode("version")) }) {
            let versionId: UUID = try row.decode("id")
            let integrations = try await database.query("""
                SELECT ji.key, i.slug, i.auth_source FROM job_integrations ji JOIN integrations i ON i.id = ji.integration_id
                WHERE ji.version_id = \(versionId) ORDER BY ji.key
                """).map { row -> JSONValue in
                    ["key": .string(try row.decode("key")), "id": .string(try row.decode("slug")), "authSource": .string(try row.decode("auth_source"))]
                }
            let examples = try await database.query("SELECT slug, name, icon, payload FROM event_examples WHERE job_version_id = \(versionId) ORDER BY slug")
                .map { row -> JSONValue in
                    ["id": .string(try row.decode("slug")), "name": .string(try row.decode("name")),
                     "icon": (try row.decodeIfPresent("icon", as: String.self)).map(JSONValue.string) ?? .null,
                     "payload": try row.json("payload") ?? .null]
                }
            versionJSON.append([
                "version": .string(try row.decode("version")),
                "status": .string(try row.decode("status")),
                "endpoint": .string(try row.decode("endpoint_slug")),
                "queue": ["name": .string(try row.decode("queue_name")), "maxJobs": .number(Double(try row.decode("max_jobs", as: Int.self)))],
                "startPosition": .string(try row.decode("start_position")),
                "preprocessRuns": .bool(try row.decode("preprocess_runs")),
                "trigger": try row.json("trigger") ?? .null,
                "eventSpecification": try row.json("event_specification") ?? .null,
                "properties": try row.json("properties") ?? .null,
                "integrations": .array(integrations),
                "examples": .array(examples),
                "createdAt": .string(Self.date(try row.decode("created_at"))),
                "updatedAt": .string(Self.date(try row.decode("updated_at"))),
            ])
        }
        let alias = try await database.queryFirst("""
            SELECT value FROM job_aliases WHERE job_id = \(jobId) AND environment_id = \(environmentId) AND name = 'latest'
            """).map { JSONValue.string(try $0.decode("value")) } ?? .null
        let dispatcherRow = try await database.queryFirst("""
            SELECT id, event, source, payload_filter, context_filter, manual, enabled, dispatchable FROM event_dispatchers
            WHERE dispatchable_id = \(jobId.lowercasedString) AND environment_id = \(environmentId)
            """)
        var dispatcher: JSONValue = .null
        var schedule: JSONValue = .null
        if let row = dispatcherRow {
            dispatcher = [
                "event": try row.json("event") ?? .null, "source": .string(try row.decode("source")),
                "payloadFilter": try row.json("payload_filter") ?? .null, "contextFilter": try row.json("context_filter") ?? .null,
                "manual": .bool(try row.decode("manual")), "enabled": .bool(try row.decode("enabled")),
                "dispatchable": try row.json("dispatchable") ?? .null,
            ]
            if let source = try await database.queryFirst("""
                SELECT schedule, next_run_at, last_event_timestamp, active, metadata FROM schedule_sources WHERE dispatcher_id = \(try row.decode("id", as: UUID.self))
                """) {
                schedule = [
                    "schedule": try source.json("schedule") ?? .null,
                    "nextRunAt": (try source.decodeIfPresent("next_run_at", as: Date.self)).map { .string(Self.date($0)) } ?? .null,
                    "lastRunAt": (try source.decodeIfPresent("last_event_timestamp", as: Date.self)).map { .string(Self.date($0)) } ?? .null,
                    "active": .bool(try source.decode("active")),
                    "metadata": try source.json("metadata") ?? .null,
                ]
            }
        }
        return [
            "id": .string(jobId.lowercasedString), "slug": .string(try job.decode("slug")), "title": .string(try job.decode("title")),
            "internal": .bool(try job.decode("internal")), "latestVersion": alias, "versions": .array(versionJSON),
            "dispatcher": dispatcher, "schedule": schedule,
        ]
    }

    /// "static: user.created", "scheduled: cron 0 9 * * *", "dynamic: github-issues".
    static func summary(_ trigger: JSONValue) -> JSONValue {
        switch trigger["type"]?.stringValue {
        case "static": return .string("static: \(trigger["rule"]?["event"].map(Self.text) ?? "?")")
        case "dynamic": return .string("dynamic: \(trigger["id"]?.stringValue ?? "?")")
        case "scheduled":
            let schedule = trigger["schedule"]
            if schedule?["type"]?.stringValue == "cron" { return .string("scheduled: cron \(schedule?["options"]?["cron"]?.stringValue ?? "?")") }
            return .string("scheduled: every \(schedule?["options"]?["seconds"].map(Self.text) ?? "?")s")
        case let other?: return .string(other)
        case nil: return .null
        }
    }

    static func text(_ value: JSONValue) -> String {
        if case .string(let s) = value { return s }
        return value.jsonString()
    }

    static func date(_ date: Date) -> String {
        ISODate.format(date)
    }
}
