import Foundation
import Storage
import TriggerProtocol

public enum IndexSource: String, Sendable, Codable, CaseIterable {
    /// A person asked (CLI `endpoints index`).
    case manual = "MANUAL"
    /// `POST /api/v1/endpoints/:slug/index`.
    case api = "API"
    /// Right after the endpoint was created or updated.
    case `internal` = "INTERNAL"
    /// The deploy hook URL.
    case hook = "HOOK"
}

public enum IndexStatus: String, Sendable, Codable {
    case pending = "PENDING"
    case started = "STARTED"
    case success = "SUCCESS"
    case failure = "FAILURE"

    public var isTerminal: Bool { self == .success || self == .failure }
}

/// `EndpointIndex.error`: trigger.dev's `{message, raw?}`.
public struct IndexFailure: Sendable, Codable, Equatable {
    public let message: String
    public let raw: JSONValue?

    public init(message: String, raw: JSONValue? = nil) {
        self.message = message
        self.raw = raw
    }
}

public struct Endpoint: Sendable, Equatable {
    public let id: UUID
    public let slug: String
    public let url: String
    public let indexingHookIdentifier: String
    public let environmentId: UUID
    public let organizationId: UUID
    public let projectId: UUID
    public let version: String
    public let sdkVersion: String
    public let createdAt: Date
    public let updatedAt: Date
    public let deletedAt: Date?

    static let columns = "id, slug, url, indexing_hook_identifier, environment_id, organization_id, project_id, version, sdk_version, created_at, updated_at, deleted_at"
    /// `columns` of the table aliased `e`.
    static let qualifiedColumns = Storage.qualifiedColumns(columns, alias: "e")
    static let columnCount = columns.split(separator: ",").count

    /// Whether a PING's versions leave this endpoint's as they are: an unknown one keeps the stored one,
    /// as the upsert does.
    func keeps(version newVersion: String?, sdkVersion newSDKVersion: String?) -> Bool {
        func keeps(_ new: String?, _ old: String) -> Bool { new == nil || new == "unknown" || new == old }
        return keeps(newVersion, version) && keeps(newSDKVersion, sdkVersion)
    }

    init(row: SQLRow) throws {
        id = try row.decode("id")
        slug = try row.decode("slug")
        url = try row.decode("url")
        indexingHookIdentifier = try row.decode("indexing_hook_identifier")
        environmentId = try row.decode("environment_id")
        organizationId = try row.decode("organization_id")
        projectId = try row.decode("project_id")
        version = try row.decode("version")
        sdkVersion = try row.decode("sdk_version")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
        deletedAt = try row.decodeIfPresent("deleted_at")
    }
}

public struct EndpointIndex: Sendable, Equatable {
    public let id: UUID
    public let endpointId: UUID
    public let source: IndexSource
    public let sourceData: JSONValue?
    public let reason: String?
    public let status: IndexStatus
    public let stats: JSONValue?
    public let data: JSONValue?
    public let error: IndexFailure?
    public let createdAt: Date
    public let updatedAt: Date

    static let columns = "id, endpoint_id, source, source_data, reason, status, stats, data, error, created_at, updated_at"
    /// Everything but the (possibly large) `data` document.
    static let summaryColumns = "id, endpoint_id, source, source_data, reason, status, stats, NULL AS data, error, created_at, updated_at"
    /// `summaryColumns` of the table aliased `i`.
    static let qualifiedSummaryColumns = Storage.qualifiedColumns(summaryColumns, alias: "i")

    init(row: SQLRow) throws {
        id = try row.decode("id")
        endpointId = try row.decode("endpoint_id")
        source = try row.enumeration("source")
        status = try row.enumeration("status")
        sourceData = try row.json("source_data")
        reason = try row.decodeIfPresent("reason")
        stats = try row.json("stats")
        data = try row.json("data")
        error = try row.decodeIfPresent("error", as: SQLJSON.self).map { try $0.decode(IndexFailure.self) }
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
    }
}

/// What the endpoint API shows of an endpoint's latest index (`endpointIndex: {id, status}`).
public struct IndexState: Sendable, Equatable {
    public let id: UUID
    public let status: IndexStatus

    public init(id: UUID, status: IndexStatus) {
        self.id = id
        self.status = status
    }

    init(row: SQLRow) throws {
        id = try row.decode("id")
        status = try row.enumeration("status")
    }
}

extension EndpointIndex {
    public var state: IndexState { IndexState(id: id, status: status) }
}

/// An endpoint together with the environment it belongs to (its key and type).
public struct EndpointWithEnvironment: Sendable {
    public let endpoint: Endpoint
    public let apiKey: String
    public let environmentType: String
}
