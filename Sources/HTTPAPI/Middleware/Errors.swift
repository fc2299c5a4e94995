import Foundation
import Hummingbird
import Integrations
import Registration
import Logging
import Storage
import Tenancy
import Endpoints
import Runs

/// What the client sees of a failure: a status and trigger.dev's `{"error": "<message>"}` body.
public struct APIError: Error, HTTPResponseError, Equatable {
    public let status: HTTPResponse.Status
    public let message: String

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    public static let unauthorized = APIError(.unauthorized, "Invalid or Missing API key")

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        try APIJSONEncoder.response(["error": message], status: status)
    }
}

/// The one place where errors of every module become HTTP statuses.
public enum ErrorMapping {
    public static func apiError(for error: any Error, logger: Logger) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as HTTPError:
            return APIError(error.status, error.body ?? defaultMessage(error.status))
        case let error as any HTTPResponseError:
            return APIError(error.status, defaultMessage(error.status))
        case let error as StorageError:
            switch error {
            case .unavailable:
                logger.error("database unavailable", metadata: ["error": "\(error)"])
                return APIError(.serviceUnavailable, "Database unavailable, try again shortly")
            default:
                logger.error("storage error", metadata: ["error": "\(error)"])
                return APIError(.internalServerError, "Something went wrong")
            }
        case let error as TenancyError:
            return APIError(.badRequest, error.description)
        case let error as RunServiceError:
            switch error {
            case .runNotFound, .taskNotFound, .eventNotFound, .jobNotFound, .notFound: return APIError(.notFound, error.description)
            case .invalidInput: return APIError(.badRequest, error.description)
            case .tooLarge: return APIError(.contentTooLarge, error.description)
            }
        case let error as DynamicTriggerError:
            switch error {
            case .notFound: return APIError(.notFound, error.description)
            case .invalid: return APIError(.badRequest, error.description)
            }
        case let error as IntegrationError:
            switch error {
            case .notFound: return APIError(.notFound, error.description)
            case .sealed:
                logger.error("integration secret cannot be opened", metadata: ["error": "\(error)"])
                return APIError(.internalServerError, "The integration's credentials cannot be read with this server's encryption key")
            }
        case let error as EndpointServiceError:
            switch error {
            case .failedPing, .failedUpsert, .invalidInput: return APIError(.badRequest, error.description)
            case .endpointNotFound, .endpointIndexNotFound, .invalidHookIdentifier: return APIError(.notFound, error.description)
            }
        default:
            logger.error("unhandled error", metadata: ["error": "\(error)"])
            return APIError(.internalServerError, "Something went wrong")
        }
    }

    static func defaultMessage(_ status: HTTPResponse.Status) -> String {
        switch status.code {
        case 404: return "Not found"
        case 405: return "Method Not Allowed"
        case 413: return "Request body is too large"
        default: return status.reasonPhrase
        }
    }
}

/// Turns every error thrown below it into a JSON error response, and logs server-side failures.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = ErrorMapping.apiError(for: error, logger: context.logger)
            return try APIJSONEncoder.response(["error": apiError.message], status: apiError.status)
        }
    }
}
