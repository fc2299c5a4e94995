import Foundation
import SQLiteStorage
import Storage
import Testing
import TestSupport

/// The embedded driver's own behaviour: its statement cache, its bindings and how it waits for a
/// writer in another process (here another connection to the same file, which SQLite treats alike).
@Suite struct SQLiteStoreTests {
    func withFile<T>(_ body: (String) async throws -> T) async throws -> T {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kf-sqlite-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        return try await body(dir.appendingPathComponent("db.sqlite").path)
    }

    @Test func statementsBeyondTheCacheAndSchemaChangesAreServedCorrectly() async throws {
        try await withFile { path in
            let db = try await SQLiteStore.open(path: path, logger: TestDatabase.testLogger)
            try await db.query("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
            try await db.query("INSERT INTO t (id, name) VALUES (\(1), \("one"))")
            let cached: SQLQuery = "SELECT * FROM t WHERE id = \(1)"
            #expect(try await db.query(cached).first?.columns == ["id", "name"])
            // More distinct statements than the cache keeps; the first one is evicted and prepared again.
            for i in 0..<(300) {
                let row = try await db.queryFirst("SELECT \(unsafeRaw: String(i)) + \(1) AS n")
                #expect(try row?.decode("n", as: Int.self) == i + 1)
            }
            // A cached statement prepared before a schema change sees the new schema.
            try await db.query("ALTER TABLE t ADD COLUMN extra TEXT")
            try await db.query("UPDATE t SET extra = \("x")")
            let row = try #require(try await db.query(cached).first)
            #expect(row.columns == ["id", "name", "extra"])
            #expect(try row.decode("extra", as: String.self) == "x")
            await db.close()
            await #expect(throws: StorageError.self) { try await db.query("SELECT 1") }
        }
    }

    @Test func timestampsAreFixedWidthUTCTextThatRoundTrips() {
        let cases: [(Double, String)] = [
            (0, "1970-01-01T00:00:00.000000Z"),
            (1_764_072_000.123456, "2025-11-25T12:00:00.123456Z"),
            (-0.000001, "1969-12-31T23:59:59.999999Z"),
            (253_402_300_799.5, "9999-12-31T23:59:59.500000Z"),
        ]
        for (seconds, text) in cases {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(SQLTimestamp.format(date) == text)
            let parsed = SQLTimestamp.parse(text)?.timeIntervalSince1970 ?? .nan
            #expect(abs(parsed - seconds) < 0.000_002, "\(text)")
        }
        #expect(SQLTimestamp.parse("2025-11-25 12:00:00") == nil)
    }

    @Test func largeEmptyAndNullValuesBindAndRebind() async throws {
        try await withFile { path in
            let db = try await SQLiteStore.open(path: path, logger: TestDatabase.testLogger)
            try await db.query("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
            let large = String(repeating: "é0", count: 100_000)
            for (id, body) in [(1, large), (2, ""), (3, "small")] {
                try await db.query("INSERT INTO t (id, body) VALUES (\(id), \(body))")
            }
            try await db.query("INSERT INTO t (id, body) VALUES (\(4), \(String?.none))")
            let rows = try await db.query("SELECT id, body, body IS NULL AS missing FROM t ORDER BY id")
            #expect(try rows.map { try $0.decodeIfPresent("body", as: String.self) ?? "NULL" } == [large, "", "small", "NULL"])
            #expect(try rows.map { try $0.decode("missing", as: Bool.self) } == [false, false, false, true])
            await db.close()
        }
    }

    @Test func aWriterInAnotherConnectionIsWaitedForThenTheTransactionRuns() async throws {
        try await withFile { path in
            let first = try await SQLiteStore.open(path: path, logger: TestDatabase.testLogger)
            let second = try await SQLiteStore.open(path: path, logger: TestDatabase.testLogger)
            let reader = try await SQLiteStore.open(path: path, logger: TestDatabase.testLogger)
            try await first.query("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT NOT NULL)")
            let (held, holding) = AsyncStream<Void>.makeStream()
            let (release, releasing) = AsyncStream<Void>.makeStream()
            let holder = Task {
                try await first.transaction { tx in
                    try await tx.query("INSERT INTO t (id, who) VALUES (\(1), \("first"))")
                    holding.yield()
                    for await _ in release { break }
                }
            }
            for await _ in held { break }
            let waiter = Task {
                try await second.transaction { tx in
                    _ = try await tx.query("INSERT INTO t (id, who) VALUES (\(2), \("second"))")
                }
            }
            // The second connection is refused the write lock and waits for it, asynchronously; readers
            // are not held up meanwhile (WAL), and see only what is committed.
            #expect(try await eventually { second.busyWaits > 0 })
            #expect(try await reader.query("SELECT id FROM t").isEmpty)
            releasing.yield()
            try await holder.value
            try await waiter.value
            let rows = try await second.query("SELECT who FROM t ORDER BY id")
            #expect(try rows.map { try $0.decode("who", as: String.self) } == ["first", "second"])
            await reader.close()
            await first.close()
            await second.close()
        }
    }

    @Test func aWriterHeldLongerThanTheBusyTimeoutIsAClearError() async throws {
        try await withFile { path in
            let first = try await SQLiteStore.open(path: path, logger: TestDatabase.testLogger)
            let second = try await SQLiteStore.open(path: path, busyTimeoutMilliseconds: 100, logger: TestDatabase.testLogger)
            try await first.query("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            let (held, holding) = AsyncStream<Void>.makeStream()
            let (release, releasing) = AsyncStream<Void>.makeStream()
            let holder = Task {
                try await first.transaction { tx in
                    try await tx.query("INSERT INTO t (id) VALUES (\(1))")
                    holding.yield()
                    for await _ in release { break }
                }
            }
            for await _ in held { break }
            do {
                try await second.query("INSERT INTO t (id) VALUES (\(2))")
                Issue.record("wrote while another connection held the write lock")
            } catch let error as StorageError {
                guard case .unavailable(let message) = error else { Issue.record("got \(error)"); return }
                #expect(message.contains("locked"), "\(message)")
            }
            #expect(second.busyWaits > 0)
            releasing.yield()
            try await holder.value
            // Nothing of the refused statement was written; the connection works once the lock is free.
            try await second.query("INSERT INTO t (id) VALUES (\(3))")
            #expect(try await second.query("SELECT id FROM t ORDER BY id").map { try $0.decode("id", as: Int.self) } == [1, 3])
            await first.close()
            await second.close()
        }
    }
}
