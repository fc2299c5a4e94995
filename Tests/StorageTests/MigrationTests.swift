import Foundation
@testable import Storage
import StorageDrivers
import Testing
import TestSupport

@Suite struct MigrationTests {
    @Test(arguments: Backend.available)
    func upDownUpLeavesAnIdenticalSchema(_ backend: Backend) async throws {
        try await TestDatabase.with(backend, migrate: false) { (db: any Database) async throws -> Void in
            let runner = MigrationRunner(database: db, logger: TestDatabase.testLogger)
            #expect(try await runner.currentVersion() == 0)
            #expect(try await runner.isCurrent() == false)
            let applied = try await runner.up()
            #expect(applied == Migrations.all.map(\.version))
            #expect(try await runner.isCurrent())
            let first = try await TestDatabase.schema(of: db)
            #expect(first.contains { $0.contains("endpoint_indexes") })
            let reverted = try await runner.down()
            #expect(reverted == Migrations.all.map(\.version).reversed())
            let empty = try await TestDatabase.schema(of: db)
            #expect(!empty.contains { $0.contains("endpoints") })
            try await runner.up()
            #expect(try await TestDatabase.schema(of: db) == first)
            let status = try await runner.status()
            #expect(status.allSatisfy { $0.appliedAt != nil })
            #expect(try await runner.up().isEmpty)
        }
    }

    @Test(arguments: Backend.available)
    func upAndDownToAVersion(_ backend: Backend) async throws {
        let migrations = [
            Migration(version: 1, name: "one", up: "CREATE TABLE one (x INTEGER);", down: "DROP TABLE one;"),
            Migration(version: 2, name: "two", up: "CREATE TABLE two (x INTEGER);", down: "DROP TABLE two;"),
            Migration(version: 3, name: "three", up: "CREATE TABLE three (x INTEGER);", down: "DROP TABLE three;"),
        ]
        try await TestDatabase.with(backend, migrate: false) { (db: any Database) async throws -> Void in
            let runner = MigrationRunner(database: db, migrations: migrations, logger: TestDatabase.testLogger)
            #expect(try await runner.up(to: 2) == [1, 2])
            #expect(try await runner.currentVersion() == 2)
            #expect(try await runner.down(to: 1) == [2])
            #expect(try await runner.currentVersion() == 1)
            await #expect(throws: StorageError.self) { try await runner.up(to: 9) }
            await #expect(throws: StorageError.self) { try await runner.down(to: 9) }
            #expect(try await runner.up() == [2, 3])
            // A binary that knows fewer migrations than the database has refuses to touch it.
            let older = MigrationRunner(database: db, migrations: Array(migrations.prefix(2)), logger: TestDatabase.testLogger)
            await #expect(throws: StorageError.self) { try await older.up() }
        }
    }

    /// 0014 makes "one PENDING index per endpoint" a constraint; a database that somehow holds two
    /// keeps the newer one PENDING and fails the older, instead of failing to start.
    @Test(arguments: Backend.available)
    func theOnePendingIndexMigrationSupersedesOlderPendingIndexes(_ backend: Backend) async throws {
        try await TestDatabase.with(backend, migrate: false) { (db: any Database) async throws -> Void in
            let runner = MigrationRunner(database: db, logger: TestDatabase.testLogger)
            _ = try await runner.up(to: 13)
            let org = UUID(), project = UUID(), env = UUID(), endpoint = UUID(), older = UUID(), newer = UUID(), other = UUID()
            let then = Date(timeIntervalSince1970: 1_800_000_000), later = then.addingTimeInterval(1)
            try await db.query("INSERT INTO organizations (id, slug, title, created_at, updated_at) VALUES (\(org), 'o', 'O', \(then), \(then))")
            try await db.query("INSERT INTO projects (id, slug, name, organization_id, created_at, updated_at) VALUES (\(project), 'p', 'P', \(org), \(then), \(then))")
            try await db.query("""
                INSERT INTO runtime_environments (id, slug, type, api_key, api_key_hash, pk_api_key, organization_id, project_id, created_at, updated_at)
                VALUES (\(env), 'dev', 'DEVELOPMENT', 'k', \(String(repeating: "0", count: 64)), 'pk', \(org), \(project), \(then), \(then))
                """)
            try await db.query("""
                INSERT INTO endpoints (id, slug, url, indexing_hook_identifier, environment_id, organization_id, project_id, created_at, updated_at)
                VALUES (\(endpoint), 'e', 'http://127.0.0.1/', 'abc', \(env), \(org), \(project), \(then), \(then))
                """)
            for (id, at, status) in [(older, then, "PENDING"), (newer, later, "PENDING"), (other, then, "STARTED")] {
                try await db.query("""
                    INSERT INTO endpoint_indexes (id, endpoint_id, source, status, created_at, updated_at)
                    VALUES (\(id), \(endpoint), 'INTERNAL', \(status), \(at), \(at))
                    """)
            }
            #expect(try await runner.up(to: 14) == [14])
            func status(_ id: UUID) async throws -> String? { try await db.queryFirst("SELECT status FROM endpoint_indexes WHERE id = \(id)")?.decode("status") }
            #expect(try await status(older) == "FAILURE")
            #expect(try await status(newer) == "PENDING")
            #expect(try await status(other) == "STARTED")
            let error = try await db.queryFirst("SELECT error FROM endpoint_indexes WHERE id = \(older)")?.decode("error", as: String.self)
            #expect(error?.contains("Superseded by a newer index") == true)
            // From now on the database itself refuses a second PENDING index.
            await #expect(throws: StorageError.self) {
                try await db.query("UPDATE endpoint_indexes SET status = 'PENDING' WHERE id = \(other)")
            }
        }
    }

    @Test(arguments: Backend.available)
    func aFailedMigrationLeavesThePreviousVersion(_ backend: Backend) async throws {
        let migrations = [
            Migration(version: 1, name: "good", up: "CREATE TABLE good (x INTEGER);", down: "DROP TABLE good;"),
            Migration(version: 2, name: "bad", up: "CREATE TABLE half (x INTEGER);\nCREATE TABLE good (x INTEGER);", down: "DROP TABLE half;"),
        ]
        try await TestDatabase.with(backend, migrate: false) { (db: any Database) async throws -> Void in
            let runner = MigrationRunner(database: db, migrations: migrations, logger: TestDatabase.testLogger)
            await #expect(throws: StorageError.self) { try await runner.up() }
            #expect(try await runner.currentVersion() == 1)
            // The half-applied statement was rolled back with its migration.
            await #expect(throws: StorageError.self) { try await db.query("SELECT * FROM half") }
            try await db.query("SELECT * FROM good")
        }
    }

    @Test func splitsScriptsIntoStatements() {
        let statements = Migration.split("-- comment\nCREATE TABLE a (x INTEGER);\n\nCREATE INDEX b ON a (x);\nSELECT 1")
        #expect(statements == ["CREATE TABLE a (x INTEGER)", "CREATE INDEX b ON a (x)", "SELECT 1"])
    }
}
