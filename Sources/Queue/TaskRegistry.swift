import Foundation
import JSON
import Logging

/// What a task handler gets besides its payload.
public struct JobContext: Sendable {
    public let job: Job
    public let workerId: String
    public let logger: Logger
}

/// Handlers by task identifier. An unknown identifier or a payload the handler cannot decode
/// fails that job with a clear `last_error`; the worker carries on.
public struct TaskRegistry: Sendable {
    public typealias Handler = @Sendable (_ payload: String, _ context: JobContext) async throws -> Void

    private var handlers: [String: Handler] = [:]

    public init() {}

    public var identifiers: [String] { handlers.keys.sorted() }

    /// Registers a handler that receives the raw JSON payload.
    public mutating func register(_ identifier: String, _ handler: @escaping Handler) {
        handlers[identifier] = handler
    }

    /// Registers a handler for a `Decodable` payload.
    public mutating func register<P: Decodable & Sendable>(_ identifier: String, payload: P.Type,
                                                          _ handler: @escaping @Sendable (P, JobContext) async throws -> Void) {
        handlers[identifier] = { json, context in
            let value: P
            do {
                value = try Self.decoder.decode(P.self, from: Data(json.utf8))
            } catch {
                throw TaskError.invalidPayload(task: identifier, message: "\(error)")
            }
            try await handler(value, context)
        }
    }

    func handler(for identifier: String) -> Handler? { handlers[identifier] }

    /// Payloads are printed by the one JSON printer, so dates are trigger.dev's ISO strings.
    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = ISODate.parse(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO 8601 date: \(text)"))
            }
            return date
        }
        return decoder
    }()
}

public enum TaskError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownTask(String)
    case invalidPayload(task: String, message: String)

    public var description: String {
        switch self {
        case .unknownTask(let id): return "Unknown task identifier '\(id)': no handler is registered for it"
        case .invalidPayload(let task, let message): return "Invalid payload for task '\(task)': \(message)"
        }
    }
}
