import Foundation
import JSON
import Storage

public enum TenancyError: Error, Sendable, Equatable, CustomStringConvertible {
    case environmentNotFound(String)
    case invalidName(String)

    public var description: String {
        switch self {
        case .environmentNotFound(let id): return "Environment \(id) not found"
        case .invalidName(let message): return message
        }
    }
}

/// Reads and writes organizations, projects and environments.
public struct TenancyRepository: Sendable {
    public init() {}

    /// trigger.dev's slug rules: lowercase, whitespace to `-`, drop everything outside `[a-z0-9-._~]`.
    public static func slugify(_ name: String) -> String {
        let lowered = name.lowercased()
        var result = ""
        var lastWasSpace = false
        for scalar in lowered.unicodeScalars {
            if CharacterSet.whitespacesAndNewlines.contains(scalar) {
                if !lastWasSpace { result.append("-") }
                lastWasSpace = true
                continue
            }
            lastWasSpace = false
            if scalar.isASCII, CharacterSet.alphanumerics.contains(scalar) || "-._~".unicodeScalars.contains(scalar) {
                result.unicodeScalars.append(scalar)
            }
        }
        return String(result.prefix(100))
    }

    public func findOrCreateOrganization(named name: String, now: Date, in tx: any Transaction) async throws -> Organization {
        let slug = Self.slugify(name)
        guard !slug.isEmpty else { throw TenancyError.invalidName("Organization name '\(name)' has no usable characters") }
        let id = UUID()
        // DO UPDATE (a no-op write) rather than DO NOTHING, so RETURNING yields the existing row too.
        let row = try await tx.queryFirst("""
            INSERT INTO organizations (id, slug, title, created_at, updated_at)
            VALUES (\(id), \(slug), \(name), \(now), \(now))
            ON CONFLICT (slug) DO UPDATE SET slug = excluded.slug
            RETURNING id, slug, title
            """)!
        return Organization(id: try row.decode("id"), slug: try row.decode("slug"), title: try row.decode("title"))
    }

    public func findOrCreateProject(named name: String, organization: Organization, now: Date, in tx: any Transaction) async throws -> Project {
        let slug = Self.slugify(name)
        guard !slug.isEmpty else { throw TenancyError.invalidName("Project name '\(name)' has no usable characters") }
        let row = try await tx.queryFirst("""
            INSERT INTO projects (id, slug, name, organization_id, created_at, updated_at)
            VALUES (\(UUID()), \(slug), \(name), \(organization.id), \(now), \(now))
            ON CONFLICT (organization_id, slug) DO UPDATE SET slug = excluded.slug
            RETURNING id, slug, name, organization_id
            """)!
        return Project(id: try row.decode("id"), slug: try row.decode("slug"), name: try row.decode("name"), organizationId: try row.decode("organization_id"))
    }

    public func createEnvironment(type: EnvironmentType, project: Project, now: Date, in tx: any Transaction) async throws -> UUID {
        var rng = SystemRandomNumberGenerator()
        let id = UUID()
        let apiKey = APIKeys.secretKey(for: type, using: &rng)
        let pkApiKey = APIKeys.publicKey(for: type, using: &rng)
        try await tx.query("""
            INSERT INTO runtime_environments (id, slug, type, api_key, api_key_hash, pk_api_key, organization_id, project_id, created_at, updated_at)
            VALUES (\(id), \(type.slug), \(type.rawValue), \(apiKey), \(APIKeys.digest(apiKey)), \(pkApiKey), \(project.organizationId), \(project.id), \(now), \(now))
            """)
        return id
    }

    /// Replaces an environment's secret and public keys; the old ones stop working at commit.
    public func rotateKeys(environmentId: UUID, now: Date, in tx: any Transaction) async throws {
        guard let row = try await tx.queryFirst("SELECT type FROM runtime_environments WHERE id = \(environmentId)"),
              let type = EnvironmentType(rawValue: try row.decode("type")) else {
            throw TenancyError.environmentNotFound(environmentId.lowercasedString)
        }
        var rng = SystemRandomNumberGenerator()
        let apiKey = APIKeys.secretKey(for: type, using: &rng)
        let pkApiKey = APIKeys.publicKey(for: type, using: &rng)
        try await tx.query("""
            UPDATE runtime_environments
            SET api_key = \(apiKey), api_key_hash = \(APIKeys.digest(apiKey)), pk_api_key = \(pkApiKey), updated_at = \(now)
            WHERE id = \(environmentId)
            """)
    }

    static let environmentColumns: SQLQuery = """
        SELECT e.id, e.slug, e.type, e.api_key, e.pk_api_key, e.created_at,
               p.id AS project_id, p.slug AS project_slug, p.name AS project_name,
               o.id AS organization_id, o.slug AS organization_slug, o.title AS organization_title
        FROM runtime_environments e
        JOIN projects p ON p.id = e.project_id
        JOIN organizations o ON o.id = e.organization_id
        """

    public func environment(id: UUID, in executor: any SQLExecutor) async throws -> AuthenticatedEnvironment? {
        try await executor.queryFirst("\(Self.environmentColumns) WHERE e.id = \(id)").map(Self.environment)
    }

    public func environment(apiKeyDigest digest: String, in executor: any SQLExecutor) async throws -> AuthenticatedEnvironment? {
        try await executor.queryFirst("\(Self.environmentColumns) WHERE e.api_key_hash = \(digest)").map(Self.environment)
    }

    public func environments(in executor: any SQLExecutor) async throws -> [AuthenticatedEnvironment] {
        try await executor.query("\(Self.environmentColumns) ORDER BY o.slug, p.slug, e.created_at, e.id").map(Self.environment)
    }

    public func environmentCount(in executor: any SQLExecutor) async throws -> Int {
        try await executor.queryFirst("SELECT COUNT(*) AS n FROM runtime_environments")!.decode("n")
    }

    static func environment(_ row: SQLRow) throws -> AuthenticatedEnvironment {
        let organization = Organization(id: try row.decode("organization_id"), slug: try row.decode("organization_slug"), title: try row.decode("organization_title"))
        let typeText: String = try row.decode("type")
        guard let type = EnvironmentType(rawValue: typeText) else {
            throw StorageError.decoding(column: "type", expected: "environment type", found: typeText)
        }
        return AuthenticatedEnvironment(
            id: try row.decode("id"),
            slug: try row.decode("slug"),
            type: type,
            apiKey: try row.decode("api_key"),
            pkApiKey: try row.decode("pk_api_key"),
            createdAt: try row.decode("created_at"),
            project: Project(id: try row.decode("project_id"), slug: try row.decode("project_slug"), name: try row.decode("project_name"), organizationId: organization.id),
            organization: organization)
    }
}
