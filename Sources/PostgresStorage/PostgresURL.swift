import Foundation
import NIOSSL
import PostgresNIO
import Storage

/// `postgres://USER[:PASS]@HOST[:PORT]/DB[?host=/socket/dir&sslmode=disable|prefer|require&statement_cache_size=N]`.
public struct PostgresURL: Sendable {
    /// How many distinct statements a store prepares (`PreparedStatements`; each connection prepares
    /// those it runs); 0 sends every one unnamed, as a connection pooler in transaction mode (PgBouncer
    /// before 1.21) needs. The name is asyncpg's.
    public let statementCacheSize: Int
    /// Where and how each connection connects.
    package let connectionConfiguration: PostgresConnection.Configuration
    /// The URL with the password replaced, for logs and errors.
    public let redacted: String

    public init(_ string: String) throws {
        guard let components = URLComponents(string: string),
              let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw StorageError.invalidURL("Invalid PostgreSQL URL: expected postgres://USER[:PASS]@HOST[:PORT]/DB")
        }
        let user = components.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? "postgres"
        let password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else {
            throw StorageError.invalidURL("Invalid PostgreSQL URL: the database name is missing (postgres://USER@HOST:PORT/DB)")
        }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let port = components.port ?? Int(query["port"] ?? "") ?? 5432
        if let size = query["statement_cache_size"] {
            guard let size = Int(size), size >= 0 else {
                throw StorageError.invalidURL("Invalid PostgreSQL URL: statement_cache_size must be a whole number, 0 or more")
            }
            statementCacheSize = size
        } else {
            statementCacheSize = 500
        }
        let configuration: PostgresConnection.Configuration
        if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
            configuration = .init(unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user, password: password, database: database)
        } else {
            guard let host = components.host, !host.isEmpty else {
                throw StorageError.invalidURL("Invalid PostgreSQL URL: the host is missing")
            }
            let tls: PostgresConnection.Configuration.TLS
            switch query["sslmode"] ?? "disable" {
            case "disable": tls = .disable
            case "prefer": tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case "require": tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case let other: throw StorageError.invalidURL("Invalid PostgreSQL URL: unsupported sslmode '\(other)' (disable, prefer or require)")
            }
            configuration = .init(host: host, port: port, username: user, password: password, database: database, tls: tls)
        }
        self.connectionConfiguration = configuration
        var shown = components
        if shown.password != nil { shown.password = "***" }
        self.redacted = shown.string ?? "postgres://"
    }
}
