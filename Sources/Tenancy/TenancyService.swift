import Foundation
import Storage

/// Creates environments (with their organization and project) and authenticates API keys.
public struct TenancyService: Sendable {
    public let database: any Database
    let repository = TenancyRepository()
    let now: @Sendable () -> Date

    public init(database: any Database, now: @escaping @Sendable () -> Date = Date.init) {
        self.database = database
        self.now = now
    }

    /// Creates a new environment, and its organization and project if they do not exist yet (by slug).
    public func createEnvironment(organization: String, project: String, type: EnvironmentType) async throws -> AuthenticatedEnvironment {
        let now = self.now()
        let repository = self.repository
        return try await database.transaction { tx in
            let org = try await repository.findOrCreateOrganization(named: organization, now: now, in: tx)
            let proj = try await repository.findOrCreateProject(named: project, organization: org, now: now, in: tx)
            let id = try await repository.createEnvironment(type: type, project: proj, now: now, in: tx)
            return try await repository.environment(id: id, in: tx)!
        }
    }

    public func environments() async throws -> [AuthenticatedEnvironment] {
        try await repository.environments(in: database)
    }

    public func environment(id: UUID) async throws -> AuthenticatedEnvironment? {
        try await repository.environment(id: id, in: database)
    }

    public func rotateKeys(environmentId: UUID) async throws -> AuthenticatedEnvironment {
        let now = self.now()
        let repository = self.repository
        return try await database.transaction { tx in
            try await repository.rotateKeys(environmentId: environmentId, now: now, in: tx)
            return try await repository.environment(id: environmentId, in: tx)!
        }
    }

    /// On an empty database, creates a default organization, project and DEVELOPMENT environment
    /// so that a newcomer can start straight away. Returns it when it was created.
    public func bootstrapIfEmpty() async throws -> AuthenticatedEnvironment? {
        guard try await repository.environmentCount(in: database) == 0 else { return nil }
        return try await createEnvironment(organization: "Default", project: "Default", type: .development)
    }

    /// Resolves an `Authorization` header to its environment, or nil for anything that is not a
    /// valid, known secret key (missing header, other scheme, public `pk_` key, unknown key).
    public func authenticate(authorization header: String?) async throws -> AuthenticatedEnvironment? {
        guard let header, header.hasPrefix("Bearer ") else { return nil }
        let key = String(header.dropFirst("Bearer ".count))
        guard APIKeys.looksLikeSecretKey(key) else { return nil }
        guard let environment = try await repository.environment(apiKeyDigest: APIKeys.digest(key), in: database),
              APIKeys.constantTimeEquals(environment.apiKey, key) else { return nil }
        return environment
    }
}
