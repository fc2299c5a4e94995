import Foundation
import JSON
import Secrets
import Storage
import Tenancy
import TriggerProtocol

/// An environment's connection to a HOSTED integration, as listed: never its token.
public struct IntegrationConnection: Sendable, Equatable {
    public let id: String
    public let service: String
    public let authType: String
    public let scopes: [String]?
    public let createdAt: Date
    public let updatedAt: Date
}

public enum IntegrationError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(String)
    /// The stored secret cannot be opened (the key changed): an operator's problem, not the caller's.
    case sealed(String)

    public var description: String {
        switch self {
        case .notFound(let id): "Integration \(id) not found"
        case .sealed(let message): message
        }
    }
}

/// Integrations (HOSTED connections) of an environment: created with their credentials (sealed
/// by `SecretBox` before they reach the database), listed without them, opened for `getAuth` and
/// for the `connections` of an EXECUTE_JOB. The integration itself is the organization's (jobs
/// name it by slug, as trigger.dev's were); its credentials are per environment, so a token made for
/// development never reaches production.
public struct IntegrationService: Sendable {
    let database: any Database
    /// The server's key, shared with the other secrets it seals (webhook sources).
    public let secrets: SecretBox
    let now: @Sendable () -> Date

    public init(database: any Database, secrets: SecretBox, now: @escaping @Sendable () -> Date = Date.init) {
        self.database = database
        self.secrets = secrets
        self.now = now
    }

    struct Secret: Codable { let accessToken: String; let additionalFields: [String: String]? }

    /// Creates the integration (or takes over the organization's one of that slug, which becomes
    /// HOSTED) and sets this environment's credentials; calling it again replaces them.
    @discardableResult
    public func create(_ body: CreateIntegrationBody, environment: AuthenticatedEnvironment) async throws -> IntegrationConnection {
        let now = self.now()
        let secret = try secrets.seal(String(decoding: try JSONEncoder().encode(Secret(accessToken: body.auth.accessToken,
                                                                                          additionalFields: body.auth.additionalFields)), as: UTF8.self))
        let scopes = body.auth.scopes.map { SQLJSON(.array($0.map(JSONValue.string))) }
        try await database.transaction { tx in
            try await tx.query("""
                INSERT INTO integration_definitions (id, name, instructions, created_at, updated_at)
                VALUES (\(body.service), \(body.service), NULL, \(now), \(now))
                ON CONFLICT (id) DO NOTHING
                """)
            guard let row = try await tx.queryFirst("""
                INSERT INTO integrations (id, slug, title, auth_source, connection_type, definition_id, organization_id, created_at, updated_at)
                VALUES (\(UUID()), \(body.id), \(body.service), 'HOSTED', 'DEVELOPER', \(body.service), \(environment.organization.id), \(now), \(now))
                ON CONFLICT (organization_id, slug) DO UPDATE SET auth_source = 'HOSTED', definition_id = excluded.definition_id, updated_at = excluded.updated_at
                RETURNING id
                """) else { throw IntegrationError.notFound(body.id) }
            let integrationId: UUID = try row.decode("id")
            try await tx.query("""
                INSERT INTO integration_connections (id, integration_id, environment_id, auth_type, secret, scopes, created_at, updated_at)
                VALUES (\(UUID()), \(integrationId), \(environment.id), \(body.auth.type), \(secret), \(scopes), \(now), \(now))
                ON CONFLICT (integration_id, environment_id) DO UPDATE SET auth_type = excluded.auth_type, secret = excluded.secret,
                    scopes = excluded.scopes, updated_at = excluded.updated_at
                """)
        }
        guard let created = try await list(environment: environment).first(where: { $0.id == body.id }) else { throw IntegrationError.notFound(body.id) }
        return created
    }

    public func list(environment: AuthenticatedEnvironment) async throws -> [IntegrationConnection] {
        try await database.query("""
            SELECT i.slug, i.definition_id, c.auth_type, c.scopes, c.created_at, c.updated_at
            FROM integration_connections c JOIN integrations i ON i.id = c.integration_id
            WHERE c.environment_id = \(environment.id)
            ORDER BY i.slug
            """).map { row in
            IntegrationConnection(id: try row.decode("slug"), service: try row.decode("definition_id"), authType: try row.decode("auth_type"),
                                  scopes: try row.json("scopes")?.arrayValue?.compactMap(\.stringValue),
                                  createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"))
        }
    }

    /// Removes this environment's credentials; jobs that use the integration fail to register on the
    /// next index, and their runs get no connection.
    public func delete(id: String, environment: AuthenticatedEnvironment) async throws {
        let deleted = try await database.query("""
            DELETE FROM integration_connections
            WHERE environment_id = \(environment.id)
              AND integration_id IN (SELECT id FROM integrations WHERE organization_id = \(environment.organization.id) AND slug = \(id))
            RETURNING id
            """)
        guard !deleted.isEmpty else { throw IntegrationError.notFound(id) }
    }

    /// `getAuth`: the environment's credentials for integration `id`.
    public func auth(id: String, environment: AuthenticatedEnvironment) async throws -> ConnectionAuth {
        guard let row = try await database.queryFirst("""
            SELECT c.auth_type, c.secret, c.scopes FROM integration_connections c JOIN integrations i ON i.id = c.integration_id
            WHERE c.environment_id = \(environment.id) AND i.organization_id = \(environment.organization.id) AND i.slug = \(id)
            """) else { throw IntegrationError.notFound(id) }
        return try open(row)
    }

    /// EXECUTE_JOB's `connections`: the job version's integrations (by the key the job gave them)
    /// that this environment has credentials for.
    public func connections(versionId: UUID, environmentId: UUID, in executor: any SQLExecutor) async throws -> [String: ConnectionAuth] {
        var connections: [String: ConnectionAuth] = [:]
        for row in try await executor.query("""
            SELECT ji.key, c.auth_type, c.secret, c.scopes FROM job_integrations ji
            JOIN integration_connections c ON c.integration_id = ji.integration_id AND c.environment_id = \(environmentId)
            WHERE ji.version_id = \(versionId)
            """) {
            connections[try row.decode("key")] = try open(row)
        }
        return connections
    }

    func open(_ row: SQLRow) throws -> ConnectionAuth {
        let plaintext: String
        do { plaintext = try secrets.open(try row.decode("secret")) } catch let error as SecretError { throw IntegrationError.sealed(error.description) }
        let secret = try JSONDecoder().decode(Secret.self, from: Data(plaintext.utf8))
        return ConnectionAuth(type: try row.decode("auth_type"), accessToken: secret.accessToken,
                              scopes: try row.json("scopes")?.arrayValue?.compactMap(\.stringValue), additionalFields: secret.additionalFields)
    }

    /// Re-seals every stored secret that was sealed with a previous key; returns how many.
    public func reencrypt() async throws -> Int {
        try await database.transaction { tx in
            var moved = 0
            for row in try await tx.query("SELECT id, secret FROM integration_connections") {
                let sealed: String = try row.decode("secret")
                guard self.secrets.isStale(sealed) else { continue }
                let resealed = try self.secrets.seal(try self.secrets.open(sealed))
                try await tx.query("UPDATE integration_connections SET secret = \(resealed) WHERE id = \(try row.decode("id", as: UUID.self))")
                moved += 1
            }
            return moved
        }
    }
}
