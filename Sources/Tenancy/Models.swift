import Foundation

public enum EnvironmentType: String, Sendable, Codable, CaseIterable {
    case development = "DEVELOPMENT"
    case production = "PRODUCTION"
    case staging = "STAGING"
    case preview = "PREVIEW"

    /// `RuntimeEnvironment.slug` as trigger.dev writes it.
    public var slug: String {
        switch self {
        case .development: return "dev"
        case .production: return "prod"
        case .staging: return "staging"
        case .preview: return "preview"
        }
    }

    /// The short form inside API keys (`tr_dev_…`, `tr_stg_…`), as later trigger.dev v2.
    public var keyPrefix: String {
        switch self {
        case .development: return "dev"
        case .production: return "prod"
        case .staging: return "stg"
        case .preview: return "prev"
        }
    }

    /// Accepts `development`, `DEVELOPMENT` or the slug `dev`.
    public init?(argument: String) {
        let lower = argument.lowercased()
        guard let match = EnvironmentType.allCases.first(where: { $0.rawValue.lowercased() == lower || $0.slug == lower }) else {
            return nil
        }
        self = match
    }
}

public struct Organization: Sendable, Codable, Equatable {
    public let id: UUID
    public let slug: String
    public let title: String
}

public struct Project: Sendable, Codable, Equatable {
    public let id: UUID
    public let slug: String
    public let name: String
    public let organizationId: UUID
}

/// A runtime environment with its owners: what an API key authenticates as.
public struct AuthenticatedEnvironment: Sendable, Equatable {
    public let id: UUID
    public let slug: String
    public let type: EnvironmentType
    /// The secret key. The server needs it in plaintext because it sends it to the user's endpoint.
    public let apiKey: String
    public let pkApiKey: String
    public let createdAt: Date
    public let project: Project
    public let organization: Organization
}
