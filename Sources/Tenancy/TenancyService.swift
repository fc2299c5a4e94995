import Foundation
import Storage

/// Creates environments (with their organization and project) and authenticates API keys.
public struct TenancyService: Sendable {
    public let database: any Database
    let repository = TenancyRepository()
    let now: @Sendable () -> Date
    /// Set for the API server (see `VerifiedKeys`); nil elsewhere, where every check reads the database.
    let verifiedKeys: VerifiedKeys?

    public init(database: any Database, now: @escaping @Sendable () -> Date = Date.init, verifiedKeys: VerifiedKeys? = nil) {
        self.database = database
        self.now = now
        self.verifiedKeys = verifiedKeys
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
        verifiedKeys?.removeAll()
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

    /// A one-time link to sign in to the dashboard as `environmentId`: the token is returned once
    /// (only its digest is stored), expires after `lifetime` and works once. Issuing one also clears
    /// links that expired a day ago or more.
    public func issueLoginLink(environmentId: UUID, lifetime: TimeInterval = 15 * 60) async throws -> (token: String, expiresAt: Date) {
        var rng = SystemRandomNumberGenerator()
        let token = "kfl_" + APIKeys.randomString(count: 32, using: &rng)
        let now = self.now()
        let expiresAt = now.addingTimeInterval(lifetime)
        try await database.transaction { tx in
            try await tx.query("DELETE FROM dashboard_login_links WHERE expires_at < \(now.addingTimeInterval(-86400))")
            try await tx.query("""
                INSERT INTO dashboard_login_links (token_digest, environment_id, expires_at, used_at, created_at)
                VALUES (\(APIKeys.digest(token)), \(environmentId), \(expiresAt), NULL, \(now))
                """)
        }
        return (token, expiresAt)
    }

    /// The environment of a login link that is valid, unused and unexpired, marking it used; nil otherwise.
    public func redeemLoginLink(_ token: String) async throws -> AuthenticatedEnvironment? {
        guard token.hasPrefix("kfl_"), token.count <= 64 else { return nil }
        let now = self.now()
        guard let row = try await database.queryFirst("""
            UPDATE dashboard_login_links SET used_at = \(now)
            WHERE token_digest = \(APIKeys.digest(token)) AND used_at IS NULL AND expires_at > \(now)
            RETURNING environment_id
            """) else { return nil }
        return try await environment(id: try row.decode("environment_id"))
    }

    /// Resolves an `Authorization` header to its environment, or nil for anything that is not a
    /// valid, known secret key (missing header, other scheme, public `pk_` key, unknown key).
    public func authenticate(authorization header: String?) async throws -> AuthenticatedEnvironment? {
        guard let header, header.hasPrefix("Bearer ") else { return nil }
        let key = String(header.dropFirst("Bearer ".count))
        guard APIKeys.looksLikeSecretKey(key) else { return nil }
        let digest = APIKeys.digest(key)
        if let cached = verifiedKeys?.environment(digest: digest), APIKeys.constantTimeEquals(cached.apiKey, key) { return cached }
        guard let environment = try await repository.environment(apiKeyDigest: digest, in: database),
              APIKeys.constantTimeEquals(environment.apiKey, key) else { return nil }
        verifiedKeys?.remember(environment, digest: digest)
        return environment
    }
}
