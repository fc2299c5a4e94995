import Foundation
import Logging
import PostgresStorage
import SQLiteStorage
import Storage

/// Where the data lives, as given by `--database-url` or `KONGFLOW_DATABASE_URL`:
/// `sqlite:PATH` (the default, `./.kongflow/kongflow.sqlite`) or `postgres://…`.
public enum DatabaseURL: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(String)

    public static let defaultSQLitePath = ".kongflow/kongflow.sqlite"
    public static let environmentVariable = "KONGFLOW_DATABASE_URL"

    public init(_ string: String) throws {
        let trimmed = string.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("postgres://") || trimmed.hasPrefix("postgresql://") {
            _ = try PostgresURL(trimmed)
            self = .postgres(trimmed)
        } else if trimmed.hasPrefix("sqlite:") {
            var path = String(trimmed.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path = String(path.dropFirst(2)) }
            guard !path.isEmpty else { throw StorageError.invalidURL("Invalid database URL '\(string)': sqlite: needs a file path, e.g. sqlite:./data/kongflow.sqlite") }
            self = .sqlite(path: path)
        } else {
            throw StorageError.invalidURL("Invalid database URL '\(string)': use postgres://USER[:PASS]@HOST:PORT/DB or sqlite:PATH")
        }
    }

    /// The URL given on the command line, else the environment, else the embedded default.
    public static func resolve(_ flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DatabaseURL {
        if let flag { return try DatabaseURL(flag) }
        if let value = environment[environmentVariable], !value.isEmpty { return try DatabaseURL(value) }
        return .sqlite(path: defaultSQLitePath)
    }

    /// Opens the database; `poolSize` is PostgreSQL's connections per process (SQLite has one).
    public func open(logger: Logger = Logger(label: "kongflow.storage"), poolSize: Int = PostgresStore.Options().maximumConnections) async throws -> any Database {
        switch self {
        case .sqlite(let path):
            return try await SQLiteStore.open(path: path, logger: logger)
        case .postgres(let url):
            var options = PostgresStore.Options()
            options.maximumConnections = poolSize
            return try await PostgresStore.connect(url: try PostgresURL(url), options: options, logger: logger)
        }
    }
}
