import Foundation
import Logging

public struct MigrationStatus: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let appliedAt: Date?
}

/// Applies numbered migrations, each in its own transaction together with its `schema_migrations`
/// row, so a failed step leaves the database at the previous version.
public struct MigrationRunner: Sendable {
    public let database: any Database
    public let migrations: [Migration]
    let logger: Logger

    public init(database: any Database, migrations: [Migration] = Migrations.all, logger: Logger = Logger(label: "kongflow.migrations")) {
        self.database = database
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.logger = logger
    }

    public var latestVersion: Int { migrations.last?.version ?? 0 }

    func ensureTable() async throws {
        let timestampType = database.dialect == .postgres ? "TIMESTAMPTZ" : "TEXT"
        try await database.query(SQLQuery(unsafeSQL: """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at \(timestampType) NOT NULL
            )
            """))
    }

    public func appliedVersions() async throws -> [Int: Date] {
        try await ensureTable()
        var result: [Int: Date] = [:]
        for row in try await database.query("SELECT version, applied_at FROM schema_migrations") {
            result[try row.decode("version")] = try row.decode("applied_at", as: Date.self)
        }
        return result
    }

    public func currentVersion() async throws -> Int {
        try await appliedVersions().keys.max() ?? 0
    }

    public func status() async throws -> [MigrationStatus] {
        let applied = try await appliedVersions()
        return migrations.map { MigrationStatus(version: $0.version, name: $0.name, appliedAt: applied[$0.version]) }
    }

    /// True when every known migration is applied and nothing newer is.
    public func isCurrent() async throws -> Bool {
        let applied = Set(try await appliedVersions().keys)
        return applied == Set(migrations.map(\.version))
    }

    /// Applies pending migrations up to `target` (default: all). Returns the versions applied.
    @discardableResult
    public func up(to target: Int? = nil) async throws -> [Int] {
        let applied = try await appliedVersions()
        if let newest = applied.keys.max(), newest > latestVersion {
            throw StorageError.migration("the database is at schema version \(newest), newer than this kongflow (\(latestVersion)); upgrade kongflow")
        }
        if let target, target != 0, !migrations.contains(where: { $0.version == target }) {
            throw StorageError.migration("unknown migration version \(target)")
        }
        var done: [Int] = []
        for migration in migrations where applied[migration.version] == nil {
            if let target, migration.version > target { break }
            try await apply(migration, .up)
            done.append(migration.version)
        }
        return done
    }

    /// Reverts applied migrations down to `target` (exclusive; default 0 = all). Returns the versions reverted.
    @discardableResult
    public func down(to target: Int = 0) async throws -> [Int] {
        if target != 0, !migrations.contains(where: { $0.version == target }) {
            throw StorageError.migration("unknown migration version \(target)")
        }
        let applied = try await appliedVersions()
        var done: [Int] = []
        for migration in migrations.reversed() where applied[migration.version] != nil && migration.version > target {
            try await apply(migration, .down)
            done.append(migration.version)
        }
        return done
    }

    private func apply(_ migration: Migration, _ direction: Migration.Direction) async throws {
        let statements = try migration.statements(direction, for: database.dialect)
        let version = migration.version, name = migration.name
        do {
            try await database.transaction { tx in
                for statement in statements {
                    try await tx.query(SQLQuery(unsafeSQL: statement))
                }
                switch direction {
                case .up:
                    try await tx.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (\(version), \(name), \(Date()))")
                case .down:
                    try await tx.query("DELETE FROM schema_migrations WHERE version = \(version)")
                }
            }
        } catch {
            throw StorageError.migration("migration \(version) (\(name)) \(direction) failed: \(error)")
        }
        logger.info("migrated", metadata: ["version": "\(version)", "name": "\(name)", "direction": "\(direction.rawValue)"])
    }
}
