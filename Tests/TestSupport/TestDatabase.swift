import Foundation
import Logging
import PostgresStorage
import SQLiteStorage
import Storage
import StorageDrivers

/// The backends a test runs against. SQLite always; PostgreSQL when the test command started one
/// (`KONGFLOW_TEST_POSTGRES_URL`) or requires it (`KONGFLOW_TEST_REQUIRE_POSTGRES=1`, in which case a
/// missing server fails the tests instead of skipping them).
public enum Backend: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }

    public static var available: [Backend] {
        let env = ProcessInfo.processInfo.environment
        if env["KONGFLOW_TEST_REQUIRE_POSTGRES"] == "1" || env["KONGFLOW_TEST_POSTGRES_URL"] != nil {
            return [.sqlite, .postgres]
        }
        return [.sqlite]
    }
}

public struct TestDatabaseUnavailable: Error, CustomStringConvertible {
    public let description: String
}

public enum TestDatabase {
    /// A database URL for a brand-new, empty database of `backend`.
    public static func freshURL(_ backend: Backend) async throws -> String {
        switch backend {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kongflow-tests-\(UUID().uuidString)")
            return "sqlite:\(dir.path)/test.sqlite"
        case .postgres:
            guard let base = ProcessInfo.processInfo.environment["KONGFLOW_TEST_POSTGRES_URL"] else {
                throw TestDatabaseUnavailable(description: "KONGFLOW_TEST_POSTGRES_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL")
            }
            let name = "kf_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
            let admin = try await PostgresStore.connect(url: try PostgresURL(base))
            defer { Task { await admin.close() } }
            try await admin.query(SQLQuery(unsafeSQL: "CREATE DATABASE \(name)"))
            await admin.close()
            var components = URLComponents(string: base)!
            components.path = "/\(name)"
            return components.string!
        }
    }

    /// Opens a fresh database; migrated to the latest schema unless `migrate` is false.
    public static func make(_ backend: Backend, migrate: Bool = true) async throws -> any Database {
        let url = try await freshURL(backend)
        let database = try await DatabaseURL(url).open(logger: testLogger)
        if migrate { try await MigrationRunner(database: database, logger: testLogger).up() }
        return database
    }

    /// Runs `body` with a fresh database and closes it afterwards.
    /// Watched: a hang names the test and the step it was in (`Watchdog`).
    public static func with<T>(_ backend: Backend, migrate: Bool = true, _ body: (any Database) async throws -> T) async throws -> T {
        try await Watchdog.watch(backend.rawValue) {
            Watchdog.step("opening the database")
            let database = try await make(backend, migrate: migrate)
            do {
                Watchdog.step("test body")
                let result = try await body(database)
                Watchdog.step("closing the database")
                await database.close()
                return result
            } catch {
                Watchdog.step("closing the database after: \(error)")
                await database.close()
                throw error
            }
        }
    }

    public static let testLogger: Logger = {
        var logger = Logger(label: "kongflow.tests")
        logger.logLevel = ProcessInfo.processInfo.environment["KONGFLOW_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        return logger
    }()

    /// Tables, columns, indexes and constraints, as text, to compare schemas.
    public static func schema(of database: any Database) async throws -> [String] {
        switch database.dialect {
        case .sqlite:
            return try await database.query("""
                SELECT type || ' ' || name || ': ' || COALESCE(sql, '') AS line FROM sqlite_master
                WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name
                """).map { try $0.decode("line") }
        case .postgres:
            let columns = try await database.query("""
                SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || COALESCE(character_maximum_length::text, '') AS line
                FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position
                """)
            let indexes = try await database.query("SELECT indexdef AS line FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname")
            let constraints = try await database.query("""
                SELECT c.conrelid::regclass::text || ' ' || c.conname || ' ' || pg_get_constraintdef(c.oid) AS line
                FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
                WHERE n.nspname = 'public' ORDER BY 1
                """)
            return try (columns + indexes + constraints).map { try $0.decode("line") }
        }
    }
}
