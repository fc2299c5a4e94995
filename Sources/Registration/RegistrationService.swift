import Endpoints
import Foundation
import Logging
import Queue
import Storage
import TriggerProtocol

/// Persists what an endpoint declares.
public struct RegistrationService: RegistrationHandling {
    let database: any Database
    let logger: Logger

    public init(database: any Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    public func registerJob(endpointId: UUID, indexId: UUID?, job: JobMetadata, context: JobContext) async throws {
        throw RegistrationError.notAvailable
    }

    public func registerSource(endpointId: UUID, indexId: UUID?, source: SourceMetadata, context: JobContext) async throws {
        throw RegistrationError.notAvailable
    }

    public func registerDynamicTrigger(endpointId: UUID, indexId: UUID?, trigger: DynamicTriggerEndpointMetadata, context: JobContext) async throws {
        throw RegistrationError.notAvailable
    }

    public func registerDynamicSchedule(endpointId: UUID, indexId: UUID?, schedule: RegisterDynamicSchedulePayload, context: JobContext) async throws {
        throw RegistrationError.notAvailable
    }
}

public enum RegistrationError: Error, Sendable, Equatable, CustomStringConvertible {
    case notAvailable

    public var description: String {
        switch self {
        case .notAvailable: return "Registration is not available yet"
        }
    }
}
