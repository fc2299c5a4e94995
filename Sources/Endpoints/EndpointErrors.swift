/// Errors of the endpoint services, with the messages trigger.dev shows.
public enum EndpointServiceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// CreateEndpointError FAILED_PING: the endpoint did not answer PING correctly.
    case failedPing(String)
    /// CreateEndpointError FAILED_UPSERT: the endpoint could not be stored.
    case failedUpsert(String)
    case endpointNotFound
    case endpointIndexNotFound
    case invalidHookIdentifier
    case invalidInput(String)

    public var description: String {
        switch self {
        case .failedPing(let message), .failedUpsert(let message), .invalidInput(let message): return message
        case .endpointNotFound: return "Endpoint not found"
        case .endpointIndexNotFound: return "EndpointIndex not found"
        case .invalidHookIdentifier: return "Index hook identifier is invalid"
        }
    }
}
