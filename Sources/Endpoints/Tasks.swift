import Foundation
import TriggerProtocol

/// Task identifiers and payloads, named as trigger.dev names them (spec 4.2).
public enum EndpointTasks {
    public static let indexEndpoint = "indexEndpoint"
    public static let registerJob = "registerJob"
    public static let registerSource = "registerSource"
    public static let registerDynamicTrigger = "registerDynamicTrigger"
    public static let registerDynamicSchedule = "registerDynamicSchedule"
    /// Kongflow's: after an index's items, disables the jobs the endpoint no longer declares.
    public static let finishRegistration = "finishRegistration"

    /// The serial queue that orders an endpoint's indexing and registrations.
    public static func queueName(endpointId: UUID) -> String { "endpoint-\(endpointId.uuidString.lowercased())" }

    /// Attempts for indexing: a developer watching the CLI wants the error now; elsewhere a
    /// flaky deploy gets several tries (later trigger.dev: 7, and 1 in DEVELOPMENT).
    public static func indexAttempts(environmentType: String) -> Int { environmentType == "DEVELOPMENT" ? 1 : 7 }

    public static let registrationAttempts = 3
}

public struct IndexEndpointPayload: Codable, Sendable, Equatable {
    /// The endpoint id (trigger.dev's `indexEndpoint {id}`).
    public let id: String
    public let indexId: String
}

/// The payload of the four register tasks. Field names as trigger.dev's (`{endpointId, job}`,
/// `{endpointId, source}`, …); `indexId` lets registration report back to its index.
public struct RegisterPayload: Sendable {
    public let endpointId: String
    public let indexId: String?
    public let item: JSONValue

    static func field(for task: String) -> String? {
        switch task {
        case EndpointTasks.registerJob: return "job"
        case EndpointTasks.registerSource: return "source"
        case EndpointTasks.registerDynamicTrigger: return "dynamicTrigger"
        case EndpointTasks.registerDynamicSchedule: return "dynamicSchedule"
        default: return nil
        }
    }

    static func encode(task: String, endpointId: UUID, indexId: UUID, item: some Encodable) -> String {
        JSONValue.object([
            "endpointId": .string(endpointId.uuidString.lowercased()),
            "indexId": .string(indexId.uuidString.lowercased()),
            field(for: task)!: item.jsonValue(),
        ]).jsonString()
    }

    /// Reads a register task's payload; a wrong shape is a clear error, not a crash.
    public static func decode(task: String, json: String) throws -> RegisterPayload {
        guard let field = field(for: task) else { throw EndpointServiceError.invalidInput("Unknown register task \(task)") }
        guard let value = try? JSONValue.parse(json), case .object(let object) = value,
              case .string(let endpointId) = object["endpointId"], let item = object[field] else {
            throw EndpointServiceError.invalidInput("Invalid payload for task '\(task)': expected {endpointId, \(field)}")
        }
        return RegisterPayload(endpointId: endpointId, indexId: object["indexId"]?.stringValue, item: item)
    }
}
