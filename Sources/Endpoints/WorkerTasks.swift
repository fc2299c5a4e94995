import Foundation
import Queue
import TriggerProtocol

/// Something that persists what an endpoint declares (the registration module). Kept behind a
/// protocol so that indexing does not depend on how registration stores things.
public protocol RegistrationHandling: Sendable {
    func registerJobs(endpointId: UUID, indexId: UUID?, jobs: [JobMetadata], context: JobContext) async throws
    func registerSource(endpointId: UUID, indexId: UUID?, source: SourceMetadata, context: JobContext) async throws
    func registerDynamicTrigger(endpointId: UUID, indexId: UUID?, trigger: DynamicTriggerEndpointMetadata, context: JobContext) async throws
    func registerDynamicSchedule(endpointId: UUID, indexId: UUID?, schedule: RegisterDynamicSchedulePayload, context: JobContext) async throws
    /// Runs after every item of a successful index was registered.
    func finishIndex(endpointId: UUID, indexId: UUID, declaredJobs: [String]?, context: JobContext) async throws
}

extension EndpointService {
    /// Adds the `indexEndpoint`, four `register*` and `finishRegistration` handlers to `registry`.
    public func registerTasks(in registry: inout TaskRegistry, registration: any RegistrationHandling) {
        registry.register(EndpointTasks.indexEndpoint, payload: IndexEndpointPayload.self) { payload, context in
            try await self.performIndex(payload, job: context.job)
        }
        registry.register(EndpointTasks.finishRegistration, payload: IndexEndpointPayload.self) { payload, context in
            guard let endpointId = UUID(uuidString: payload.id), let indexId = UUID(uuidString: payload.indexId) else {
                throw EndpointServiceError.invalidInput("Invalid payload for task '\(EndpointTasks.finishRegistration)'")
            }
            try await registration.finishIndex(endpointId: endpointId, indexId: indexId, declaredJobs: payload.declaredJobs, context: context)
        }
        registry.register(EndpointTasks.registerJob) { json, context in
            let (endpointId, indexId, items) = try Self.decodeRegister(EndpointTasks.registerJob, json)
            try await registration.registerJobs(endpointId: endpointId, indexId: indexId, jobs: try items.map(JobMetadata.decode), context: context)
        }
        registry.register(EndpointTasks.registerSource) { json, context in
            let (endpointId, indexId, items) = try Self.decodeRegister(EndpointTasks.registerSource, json)
            try await registration.registerSource(endpointId: endpointId, indexId: indexId, source: try SourceMetadata.decode(items[0]), context: context)
        }
        registry.register(EndpointTasks.registerDynamicTrigger) { json, context in
            let (endpointId, indexId, items) = try Self.decodeRegister(EndpointTasks.registerDynamicTrigger, json)
            try await registration.registerDynamicTrigger(endpointId: endpointId, indexId: indexId, trigger: try DynamicTriggerEndpointMetadata.decode(items[0]), context: context)
        }
        registry.register(EndpointTasks.registerDynamicSchedule) { json, context in
            let (endpointId, indexId, items) = try Self.decodeRegister(EndpointTasks.registerDynamicSchedule, json)
            try await registration.registerDynamicSchedule(endpointId: endpointId, indexId: indexId, schedule: try RegisterDynamicSchedulePayload.decode(items[0]), context: context)
        }
    }

    static func decodeRegister(_ task: String, _ json: String) throws -> (UUID, UUID?, [JSONValue]) {
        let payload = try RegisterPayload.decode(task: task, json: json)
        guard let endpointId = UUID(uuidString: payload.endpointId) else {
            throw EndpointServiceError.invalidInput("Invalid payload for task '\(task)': endpointId is not a UUID")
        }
        return (endpointId, payload.indexId.flatMap(UUID.init(uuidString:)), payload.items)
    }
}
