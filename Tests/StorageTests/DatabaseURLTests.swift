import Foundation
import PostgresNIO
import Storage
import PostgresStorage
import StorageDrivers
import Testing
import TestSupport

@Suite struct DatabaseURLTests {
    @Test func parsesTheSupportedForms() throws {
        #expect(try DatabaseURL("sqlite:./data/x.sqlite") == .sqlite(path: "./data/x.sqlite"))
        #expect(try DatabaseURL("sqlite:///tmp/x.sqlite") == .sqlite(path: "/tmp/x.sqlite"))
        #expect(try DatabaseURL("postgres://u:p@localhost:5433/db") == .postgres("postgres://u:p@localhost:5433/db"))
        #expect(try DatabaseURL("postgresql://u@h/db?host=/run/pg") == .postgres("postgresql://u@h/db?host=/run/pg"))
        #expect(try DatabaseURL.resolve(nil, environment: [:]) == .sqlite(path: DatabaseURL.defaultSQLitePath))
        #expect(try DatabaseURL.resolve(nil, environment: ["KONGFLOW_DATABASE_URL": "sqlite:a.db"]) == .sqlite(path: "a.db"))
        #expect(try DatabaseURL.resolve("sqlite:b.db", environment: ["KONGFLOW_DATABASE_URL": "sqlite:a.db"]) == .sqlite(path: "b.db"))
    }

    @Test(arguments: ["mysql://x/y", "sqlite:", "postgres://localhost", "postgres://u@h/db?sslmode=verify-full", "", "not a url"])
    func rejectsMalformedURLs(_ url: String) {
        #expect(throws: StorageError.self) { try DatabaseURL(url) }
    }

    @Test func unreachablePostgresFailsFastWithOneClearError() async throws {
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        let start = ContinuousClock.now
        do {
            _ = try await DatabaseURL("postgres://postgres@127.0.0.1:1/postgres").open(logger: TestDatabase.testLogger)
            Issue.record("connected to nothing")
        } catch let error as StorageError {
            guard case .unavailable(let message) = error else { Issue.record("got \(error)"); return }
            #expect(message.hasPrefix("Cannot connect to PostgreSQL at postgres://postgres@127.0.0.1:1/postgres"))
        }
        #expect(ContinuousClock.now - start < .seconds(8))
    }

    @Test func passwordsAreRedacted() async throws {
        do {
            _ = try await DatabaseURL("postgres://u:secret@127.0.0.1:1/db").open(logger: TestDatabase.testLogger)
        } catch {
            #expect(!"\(error)".contains("secret"))
            #expect("\(error)".contains("***"))
        }
    }

    @Test func readOnlySQLiteLocationIsAClearError() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kf-ro-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // Directory permissions do not stop root (CI runs as root); a path under a regular file
        // cannot be created by anyone.
        let blocker = dir.appendingPathComponent("file")
        _ = FileManager.default.createFile(atPath: blocker.path, contents: Data("x".utf8))
        do {
            _ = try await DatabaseURL("sqlite:\(blocker.path)/db.sqlite").open(logger: TestDatabase.testLogger)
            Issue.record("opened a database under a regular file")
        } catch let error as StorageError {
            guard case .unavailable(let message) = error else { Issue.record("got \(error)"); return }
            #expect(message.contains(blocker.path))
        }
    }
}

/// A leased connection that stops answering fails its caller at the work deadline, and the
/// database stays usable (PostgreSQL; RELIABILITY.md, restart under load).
@Suite struct PostgresWorkDeadlineTests {
    @Test(.enabled(if: Backend.available.contains(.postgres)))
    func aStatementThatDoesNotAnswerFailsAtTheDeadline() async throws {
        var options = PostgresStore.Options()
        options.workTimeout = .milliseconds(500)
        let db = try await PostgresStore.connect(url: try PostgresURL(try await TestDatabase.freshURL(.postgres)), options: options)
        defer { Task { await db.close() } }
        let start = ContinuousClock.now
        do {
            try await db.transaction { tx in
                try await tx.query("SELECT pg_sleep(30)")
            }
            Issue.record("pg_sleep(30) returned within a 0.5 s deadline")
        } catch let error as StorageError {
            guard case .unavailable(let message) = error else { Issue.record("got \(error)"); return }
            #expect(message == "PostgreSQL did not answer within 0.5 seconds; the connection was closed")
        }
        #expect(ContinuousClock.now - start < .seconds(10), "answered at the deadline, not when the statement ended")
        #expect(try await db.queryFirst("SELECT 41 + 1 AS n")?.decode("n", as: Int.self) == 42)
    }

    /// A session the server ends between two statements of a transaction (as at `pg_ctl stop -m fast`):
    /// postgres-nio 1.33.2 never completes a statement sent on a closed connection, so without a check
    /// the next statement would wait for the work deadline (60 s by default; RELIABILITY.md).
    @Test(.enabled(if: Backend.available.contains(.postgres)))
    func aStatementOnASessionTheServerEndedFailsAtOnce() async throws {
        let url = try await TestDatabase.freshURL(.postgres)
        let db = try await PostgresStore.connect(url: try PostgresURL(url))
        let other = try await PostgresStore.connect(url: try PostgresURL(url))
        defer { Task { await db.close(); await other.close() } }
        let start = ContinuousClock.now
        do {
            try await db.transaction { tx in
                let pid = try #require(try await tx.queryFirst("SELECT pg_backend_pid() AS pid")).decode("pid", as: Int.self)
                #expect(try await other.queryFirst("SELECT pg_terminate_backend(CAST(\(pid) AS integer)) AS ended")?.decode("ended", as: Bool.self) == true)
                let connection = try #require((tx as? PostgresTransaction)?.connection)
                #expect(try await eventually { connection.isClosed })
                try await tx.query("SELECT 1")
            }
            Issue.record("a statement on an ended session succeeded")
        } catch let error as StorageError {
            #expect(error == .unavailable("PostgreSQL: the connection was closed (the server ended the session)"))
        }
        #expect(ContinuousClock.now - start < .seconds(10), "failed at once, not at the work deadline")
        #expect(try await db.queryFirst("SELECT 41 + 1 AS n")?.decode("n", as: Int.self) == 42, "the pool made a new connection")
    }

    /// When the restart watch sees a new server start time, a statement in flight from before fails at
    /// once (postgres-nio was seen never to complete one after a restart) and the store stays usable.
    @Test(.enabled(if: Backend.available.contains(.postgres)))
    func statementsFromBeforeARestartFailAtOnce() async throws {
        let db = try await PostgresStore.connect(url: try PostgresURL(try await TestDatabase.freshURL(.postgres)))
        defer { Task { await db.close() } }
        let sleeping = Task { _ = try await db.transaction { tx in try await tx.query("SELECT pg_sleep(29)") } }
        #expect(try await eventually {
            try await db.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query = 'SELECT pg_sleep(29)'").count == 1
        })
        let start = ContinuousClock.now
        // The pg_sleep, and possibly the store's own restart check if one is under way at this instant.
        #expect((1...2).contains(db.serverRestarted(before: .now)))
        do {
            try await sleeping.value
            Issue.record("pg_sleep(29) was not failed")
        } catch let error as StorageError {
            #expect(error == .unavailable("PostgreSQL restarted while this statement was in flight"))
        }
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(db.serverRestarted(before: .now) <= 1, "nothing else was in flight but, possibly, the store's restart check")
        #expect(try await db.queryFirst("SELECT 41 + 1 AS n")?.decode("n", as: Int.self) == 42)
    }
}
