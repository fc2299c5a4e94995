import Endpoints
import Foundation
import Hummingbird
import JSON

// The JSON shapes of the endpoint API, trigger.dev's camelCase fields. Ids are UUIDs and dates are
// `Date`s here; the one printer writes them in lowercase and in trigger.dev's ISO form.

/// An endpoint, as `POST /api/v1/endpoints` and the reads answer it. `name` repeats the slug for the
/// SDK's `ApiClient.registerEndpoint`, which types the answer `{id, name, url}`. Built as a
/// `JSONValue` rather than through `Encodable`: it answers the API's hottest routes (every
/// registration, every endpoint list), and the generic encoder's containers cost more than the rest
/// of a cached registration. `endpointIndex` is absent when there is none.
struct EndpointResponse: ResponseEncodable {
    let json: JSONValue

    init(_ endpoint: Endpoint, index: IndexState?) {
        var members: [String: JSONValue] = [
            "id": .string(endpoint.id.lowercasedString),
            "slug": .string(endpoint.slug),
            "name": .string(endpoint.slug),
            "url": .string(endpoint.url),
            "indexingHookIdentifier": .string(endpoint.indexingHookIdentifier),
            "environmentId": .string(endpoint.environmentId.lowercasedString),
            "organizationId": .string(endpoint.organizationId.lowercasedString),
            "projectId": .string(endpoint.projectId.lowercasedString),
            "version": .string(endpoint.version),
            "sdkVersion": .string(endpoint.sdkVersion),
            "createdAt": .string(ISODate.format(endpoint.createdAt)),
            "updatedAt": .string(ISODate.format(endpoint.updatedAt)),
        ]
        if let index {
            members["endpointIndex"] = ["id": .string(index.id.lowercasedString), "status": .string(index.status.rawValue)]
        }
        json = .object(members)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(json)
    }
}

/// An index row without `data` (trigger.dev's API index response), with Kongflow's `registration`
/// summary once it succeeded. `sourceData`, `reason` and `stats` are always present, null when unset.
struct EndpointIndexResponse: ResponseEncodable {
    let id: UUID
    let endpointId: UUID
    let source: String
    let sourceData: JSONValue
    let reason: JSONValue
    let status: String
    let stats: JSONValue
    let createdAt: Date
    let updatedAt: Date
    let error: IndexFailure?
    let registration: RegistrationSummaryResponse?

    init(_ index: EndpointIndex, registration: RegistrationSummary? = nil) {
        id = index.id
        endpointId = index.endpointId
        source = index.source.rawValue
        sourceData = index.sourceData ?? .null
        reason = index.reason.map(JSONValue.string) ?? .null
        status = index.status.rawValue
        stats = index.stats ?? .null
        createdAt = index.createdAt
        updatedAt = index.updatedAt
        error = index.error
        self.registration = index.status == .success ? registration.map { RegistrationSummaryResponse($0, stats: index.stats) } : nil
    }
}

struct IndexPageResponse: ResponseEncodable {
    let indexes: [EndpointIndexResponse]
    let nextCursor: JSONValue
}

/// `GetEndpointIndexResponse`: `{status, updatedAt}`, plus `stats` and `registration` on SUCCESS and
/// `error` on FAILURE.
struct IndexStatusResponse: ResponseEncodable {
    let status: String
    let updatedAt: Date
    let stats: JSONValue?
    let registration: RegistrationSummaryResponse?
    let error: IndexFailure?

    init(_ index: EndpointIndex, registration: RegistrationSummary) {
        status = index.status.rawValue
        updatedAt = index.updatedAt
        let succeeded = index.status == .success
        stats = succeeded ? index.stats ?? .null : nil
        self.registration = succeeded ? RegistrationSummaryResponse(registration, stats: index.stats) : nil
        error = index.status == .failure ? index.error : nil
    }
}

/// Registration progress of a successful index; `pending` reaches 0 when every item is done.
struct RegistrationSummaryResponse: Encodable {
    struct Failure: Encodable { let kind: String; let key: String; let message: String }

    let pending: Int
    let registered: Int
    let failed: Int
    let failures: [Failure]
    let unsupported: [Failure]

    init(_ registration: RegistrationSummary, stats: JSONValue?) {
        let expected = ["jobs", "disabledJobs", "sources", "dynamicTriggers", "dynamicSchedules"].reduce(0) { total, key in
            total + Int(stats?[key]?.numberValue ?? 0)
        }
        pending = max(0, expected - registration.registered - registration.failed)
        registered = registration.registered
        failed = registration.failed
        failures = registration.failures.prefix(100).map { Failure(kind: $0.kind, key: $0.key, message: $0.message) }
        unsupported = registration.unsupported.prefix(100).map { Failure(kind: $0.kind, key: $0.key, message: $0.message) }
    }
}
