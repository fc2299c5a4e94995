import Foundation
import Storage
import StorageDrivers
import Testing
import TestSupport

/// The storage contract, run against both backends: what passes here is what "works on both" means.
@Suite struct StorageConformanceTests {
    static let createScratch: SQLQuery = """
        CREATE TABLE scratch (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            flag BOOLEAN,
            ratio DOUBLE PRECISION,
            at_time \(unsafeRaw: "TIMESTAMP_TYPE"),
            ref_id \(unsafeRaw: "UUID_TYPE"),
            doc \(unsafeRaw: "JSON_TYPE")
        )
        """

    func createScratch(_ db: any Database) async throws {
        let (sql, _) = Self.createScratch.render(placeholderPrefix: "$")
        let types = db.dialect == .postgres ? ("TIMESTAMPTZ", "UUID", "JSONB") : ("TEXT", "TEXT", "TEXT")
        try await db.query(SQLQuery(unsafeSQL: sql
            .replacingOccurrences(of: "TIMESTAMP_TYPE", with: types.0)
            .replacingOccurrences(of: "UUID_TYPE", with: types.1)
            .replacingOccurrences(of: "JSON_TYPE", with: types.2)))
    }

    @Test(arguments: Backend.available)
    func valuesRoundTrip(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            try await createScratch(db)
            let id = UUID()
            let at = Date(timeIntervalSince1970: 1_764_000_000.123456)
            let json = try SQLJSON(encoding: ["b": 1, "a": 2])
            try await db.query("""
                INSERT INTO scratch (id, name, flag, ratio, at_time, ref_id, doc)
                VALUES (\(7), \("seven's"), \(true), \(0.25), \(at), \(id), \(json))
                """)
            try await db.query("INSERT INTO scratch (id, name) VALUES (\(8), \("eight"))")
            let rows = try await db.query("SELECT * FROM scratch ORDER BY id")
            #expect(rows.count == 2)
            let row = rows[0]
            #expect(try row.decode("id", as: Int.self) == 7)
            #expect(try row.decode("name", as: String.self) == "seven's")
            #expect(try row.decode("flag", as: Bool.self) == true)
            #expect(try row.decode("ratio", as: Double.self) == 0.25)
            #expect(abs(try row.decode("at_time", as: Date.self).timeIntervalSince(at)) < 0.000_002)
            #expect(try row.decode("ref_id", as: UUID.self) == id)
            let doc = try row.decode("doc", as: SQLJSON.self).decode([String: Int].self)
            #expect(doc == ["a": 2, "b": 1])
            #expect(try rows[1].decodeIfPresent("flag", as: Bool.self) == nil)
            #expect(try rows[1].decodeIfPresent("doc", as: SQLJSON.self) == nil)
            #expect(throws: StorageError.self) { try rows[1].decode("flag", as: Bool.self) }
            #expect(throws: StorageError.self) { try rows[1].decode("missing", as: Bool.self) }
        }
    }

    @Test(arguments: Backend.available)
    func transactionCommitsAndRollsBack(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            try await createScratch(db)
            try await db.transaction { tx in
                try await tx.query("INSERT INTO scratch (id, name) VALUES (\(1), \("committed"))")
            }
            struct Boom: Error {}
            await #expect(throws: Boom.self) {
                try await db.transaction { tx in
                    try await tx.query("INSERT INTO scratch (id, name) VALUES (\(2), \("rolled back"))")
                    throw Boom()
                }
            }
            let names = try await db.query("SELECT name FROM scratch ORDER BY id").map { try $0.decode("name", as: String.self) }
            #expect(names == ["committed"])
        }
    }

    @Test(arguments: Backend.available)
    func constraintErrorsAreTyped(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            try await createScratch(db)
            try await db.query("INSERT INTO scratch (id, name) VALUES (\(1), \("a"))")
            do {
                try await db.query("INSERT INTO scratch (id, name) VALUES (\(2), \("a"))")
                Issue.record("duplicate accepted")
            } catch let error as StorageError {
                guard case .uniqueViolation = error else { Issue.record("got \(error)"); return }
            }
            do {
                try await db.query("INSERT INTO endpoints (id, slug, url, indexing_hook_identifier, environment_id, organization_id, project_id, created_at, updated_at) VALUES (\(UUID()), \("s"), \("u"), \("h"), \(UUID()), \(UUID()), \(UUID()), \(Date()), \(Date()))")
                Issue.record("dangling foreign key accepted")
            } catch let error as StorageError {
                guard case .foreignKeyViolation = error else { Issue.record("got \(error)"); return }
            }
            await #expect(throws: StorageError.self) { try await db.query("SELEC nonsense") }
            // A failed statement inside a transaction rolls the whole transaction back.
            await #expect(throws: StorageError.self) {
                try await db.transaction { tx in
                    try await tx.query("INSERT INTO scratch (id, name) VALUES (\(3), \("b"))")
                    try await tx.query("INSERT INTO scratch (id, name) VALUES (\(4), \("b"))")
                }
            }
            #expect(try await db.query("SELECT id FROM scratch").count == 1)
        }
    }

    static func increment(_ db: any Database) async throws {
        try await db.transaction { tx in
            try await tx.query("UPDATE scratch SET ratio = ratio + 1 WHERE id = \(1)")
        }
    }

    @Test(arguments: Backend.available)
    func concurrentTransactionsDoNotLoseUpdates(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            try await createScratch(db)
            try await db.query("INSERT INTO scratch (id, name, ratio) VALUES (\(1), \("counter"), \(0.0))")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<40 {
                    group.addTask { try await Self.increment(db) }
                }
                try await group.waitForAll()
            }
            let value = try await db.queryFirst("SELECT ratio FROM scratch WHERE id = \(1)")!.decode("ratio", as: Double.self)
            #expect(value == 40)
        }
    }

    @Test(arguments: Backend.available)
    func notificationsArriveOnlyAfterCommit(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let (stream, continuation) = AsyncStream<String>.makeStream()
            let subscription = try await db.listen("kongflow_test") { continuation.yield($0) }
            struct Boom: Error {}
            try? await db.transaction { tx in
                try await db.notify("kongflow_test", payload: "rolled-back", in: tx)
                throw Boom()
            }
            try await db.transaction { tx in
                try await db.notify("kongflow_test", payload: "committed", in: tx)
            }
            var iterator = stream.makeAsyncIterator()
            let first = await iterator.next()
            #expect(first == "committed")
            // A cancelled subscription hears nothing more; the next one still does.
            subscription.cancel()
            let (later, laterContinuation) = AsyncStream<String>.makeStream()
            let second = try await db.listen("kongflow_test") { laterContinuation.yield($0) }
            defer { second.cancel() }
            for payload in ["after-cancel", "marker"] {
                try await db.transaction { tx in try await db.notify("kongflow_test", payload: payload, in: tx) }
            }
            var laterIterator = later.makeAsyncIterator()
            #expect(await laterIterator.next() == "after-cancel")
            // Each notification reaches every handler before the next is sent: once "marker" is here,
            // a handler still subscribed would have had "after-cancel".
            #expect(await laterIterator.next() == "marker")
            continuation.finish()
            #expect(await iterator.next() == nil)
        }
    }

    @Test(arguments: Backend.available)
    func pingAndDisplayName(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            try await db.ping()
            #expect(!db.displayName.isEmpty)
            #expect(!db.displayName.contains("***") || backend == .postgres)
        }
    }
}
