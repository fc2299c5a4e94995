import Foundation
import JSON
import TriggerProtocol

/// Task identifiers and payloads, named as trigger.dev names them (docs/spec/trigger-v2-endpoints.md §4.2).
public enum EndpointTasks {
    public static let indexEndpoint = "indexEndpoint"
    public static let registerJob = "registerJob"
    public static let registerSource = "registerSource"
    public static let registerDynamicTrigger = "registerDynamicTrigger"
    public static let registerDynamicSchedule = "registerDynamicSchedule"
    /// Kongflow's: after an index's items, disables the jobs the endpoint no longer declares.
    public static let finishRegistration = "finishRegistration"

    /// The serial queue that orders an endpoint's indexing and registrations.
    public static func queueName(endpointId: UUID) -> String { "endpoint-\(endpointId.lowercasedString)" }

    /// Calls to the endpoint an index makes before it fails: a developer watching the CLI wants the
    /// error now; elsewhere a flaky deploy gets several tries (later trigger.dev: 7, and 1 in DEVELOPMENT).
    public static func endpointCallAttempts(environmentType: String) -> Int { environmentType == "DEVELOPMENT" ? 1 : 7 }

    /// Queue attempts of the indexing and registration tasks, in every environment. Only errors that
    /// retrying can fix use them up (the database going away, a crash); with exponential backoff, 7
    /// attempts ride out about ten minutes of database outage (RELIABILITY.md).
    public static let indexAttempts = 7
    public static let registrationAttempts = 7

    /// Jobs per `registerJob` task that indexing enqueues.
    public static let jobsPerRegistration = 500
}

public struct IndexEndpointPayload: Codable, Sendable, Equatable {
    /// The endpoint id (trigger.dev's `indexEndpoint {id}`).
    public let id: String
    public let indexId: String
    /// On `finishRegistration`: the jobs the index declared enabled; the others are disabled. (Jobs
    /// queued before this field existed read them from the stored index.)
    public var declaredJobs: [String]? = nil
}

/// The payload of the four register tasks. Field names as trigger.dev's (`{endpointId, job}`,
/// `{endpointId, source}`, …); `indexId` lets registration report back to its index. Indexing sends
/// `registerJob` a batch, `{endpointId, indexId, jobs: […]}`: registering jobs set-based is what keeps
/// a 1,000-job endpoint under a second; trigger.dev's one-job shape is still accepted.
public struct RegisterPayload: Sendable {
    public let endpointId: String
    public let indexId: String?
    public let items: [JSONValue]

    static func field(for task: String) -> String? {
        switch task {
        case EndpointTasks.registerJob: return "job"
        case EndpointTasks.registerSource: return "source"
        case EndpointTasks.registerDynamicTrigger: return "dynamicTrigger"
        case EndpointTasks.registerDynamicSchedule: return "dynamicSchedule"
        default: return nil
        }
    }

    static func encode(task: String, endpointId: UUID, indexId: UUID, item: JSONValue) -> String {
        encode(endpointId: endpointId, indexId: indexId, field(for: task)!, item)
    }

    static func encode(jobs: [JSONValue], endpointId: UUID, indexId: UUID) -> String {
        encode(endpointId: endpointId, indexId: indexId, "jobs", .array(jobs))
    }

    private static func encode(endpointId: UUID, indexId: UUID, _ field: String, _ value: JSONValue) -> String {
        JSONValue.object([
            "endpointId": .string(endpointId.lowercasedString),
            "indexId": .string(indexId.lowercasedString),
            field: value,
        ]).jsonString()
    }

    /// Reads a register task's payload; a wrong shape is a clear error, not a crash.
    public static func decode(task: String, json: String) throws -> RegisterPayload {
        guard let field = field(for: task) else { throw EndpointServiceError.invalidInput("Unknown register task \(task)") }
        guard let value = try? JSONValue.parse(json), case .object(let object) = value,
              case .string(let endpointId) = object["endpointId"] else {
            throw EndpointServiceError.invalidInput("Invalid payload for task '\(task)': expected {endpointId, \(field)}")
        }
        let items: [JSONValue]
        if task == EndpointTasks.registerJob, case .array(let jobs)? = object["jobs"] {
            items = jobs
        } else if let item = object[field] {
            items = [item]
        } else {
            throw EndpointServiceError.invalidInput("Invalid payload for task '\(task)': expected {endpointId, \(field)}")
        }
        return RegisterPayload(endpointId: endpointId, indexId: object["indexId"]?.stringValue, items: items)
    }
}
