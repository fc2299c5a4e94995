import Foundation
import PostgresStorage
import Storage
import Testing
import TestSupport

/// PostgreSQL statements seen twice run as named prepared statements (`PreparedStatements`).
@Suite(.enabled(if: Backend.available.contains(.postgres)))
struct PreparedStatementTests {
    /// One pooled connection, so that every call below shares one session and its prepared statements.
    func withOneConnection(query: String = "", _ body: (PostgresStore) async throws -> Void) async throws {
        var options = PostgresStore.Options()
        options.maximumConnections = 1
        let url = try await TestDatabase.freshURL(.postgres)
        let db = try await PostgresStore.connect(url: try PostgresURL(url + (url.contains("?") ? "&" : "?") + query), options: options)
        do {
            try await body(db)
            await db.close()
        } catch {
            await db.close()
            throw error
        }
    }

    func prepared(_ db: PostgresStore) async throws -> [String: String] {
        let rows = try await db.query("SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'kf\\_%'")
        return Dictionary(uniqueKeysWithValues: try rows.map { (try $0.decode("name", as: String.self), try $0.decode("statement", as: String.self)) })
    }

    @Test func aStatementSeenTwiceIsPreparedOnTheServerAndAnswersAsBefore() async throws {
        try await withOneConnection { db async throws in
            let sql = "SELECT $1::int8 * 2 AS doubled"
            #expect(try await db.queryFirst("SELECT \(20)::int8 * 2 AS doubled")?.decode("doubled", as: Int.self) == 40)
            #expect(try await prepared(db).values.contains(sql) == false, "a statement seen once stays unnamed")
            for n in 21...23 {
                #expect(try await db.queryFirst("SELECT \(n)::int8 * 2 AS doubled")?.decode("doubled", as: Int.self) == n * 2)
            }
            #expect(try await prepared(db).values.filter { $0 == sql }.count == 1, "prepared once, under one name")
        }
    }

    /// The server fixes a parameter's type at preparation; a NULL's type is inferred. A later call that
    /// binds another kind of value gets a statement of its own instead of a wrongly typed one.
    @Test func bindsOfAnotherKindGetTheirOwnStatement() async throws {
        try await withOneConnection { db async throws in
            try await db.query("CREATE TABLE counters (id int4 PRIMARY KEY, n int4)")
            try await db.query("INSERT INTO counters VALUES (1, NULL), (2, 7)")
            for _ in 0..<2 {
                let none: Int? = nil
                #expect(try await db.query("SELECT id FROM counters WHERE n IS NOT DISTINCT FROM \(none)").count == 1)
            }
            for _ in 0..<2 {
                #expect(try await db.queryFirst("SELECT id FROM counters WHERE n IS NOT DISTINCT FROM \(7)")?.decode("id", as: Int.self) == 2)
                #expect(try await db.queryFirst("SELECT \("seven") AS v")?.decode("v", as: String.self) == "seven")
                #expect(try await db.queryFirst("SELECT \(7) AS v")?.decode("v", as: Int.self) == 7)
            }
            #expect(try await prepared(db).values.filter { $0 == "SELECT id FROM counters WHERE n IS NOT DISTINCT FROM $1" }.count == 2)
            #expect(try await prepared(db).values.filter { $0 == "SELECT $1 AS v" }.count == 2)
        }
    }

    /// A failed transaction refuses every statement until ROLLBACK, preparations included; the
    /// statements after the failure go unnamed, so the session keeps its prepared statements and stays.
    @Test func aFailedTransactionLeavesTheSessionAndItsStatementsUsable() async throws {
        try await withOneConnection { db async throws in
            let pid = try await db.queryFirst("SELECT pg_backend_pid() AS pid")?.decode("pid", as: Int.self)
            let lookup: SQLQuery = "SELECT \(1) + 1 AS two"
            try await db.query(lookup)
            do {
                try await db.transaction { tx in
                    do { try await tx.query("SELECT 1 / 0") } catch {}
                    try await tx.query(lookup)
                }
                Issue.record("the aborted transaction went on")
            } catch let error as StorageError {
                #expect("\(error)".contains("current transaction is aborted"))
            }
            #expect(try await db.queryFirst(lookup)?.decode("two", as: Int.self) == 2)
            #expect(try await db.queryFirst(lookup)?.decode("two", as: Int.self) == 2)
            #expect(try await db.queryFirst("SELECT pg_backend_pid() AS pid")?.decode("pid", as: Int.self) == pid, "the same session throughout")
            #expect(try await prepared(db).values.contains("SELECT $1 + 1 AS two"))
        }
    }

    /// postgres-nio keeps a failed preparation for the session's life; the session is closed instead, so
    /// the statement works once its table exists (as after a migration run by another process).
    @Test func aStatementThatFailedToPrepareWorksOnceItCan() async throws {
        try await withOneConnection { db async throws in
            for _ in 0..<2 {
                await #expect(throws: StorageError.self) { try await db.query("SELECT count(*) AS n FROM later") }
            }
            try await db.query("CREATE TABLE later (id int4)")
            #expect(try await db.queryFirst("SELECT count(*) AS n FROM later")?.decode("n", as: Int.self) == 0)
            #expect(try await db.queryFirst("SELECT count(*) AS n FROM later")?.decode("n", as: Int.self) == 0)
        }
    }

    /// For a pooler in transaction mode, where a session's prepared statements are not its own.
    @Test func aCacheSizeOfZeroPreparesNothing() async throws {
        try await withOneConnection(query: "statement_cache_size=0") { db async throws in
            for _ in 0..<3 { #expect(try await db.queryFirst("SELECT \(5) AS v")?.decode("v", as: Int.self) == 5) }
            #expect(try await prepared(db).isEmpty)
        }
        #expect(try PostgresURL("postgres://u@h/db").statementCacheSize == 500)
        #expect(try PostgresURL("postgres://u@h/db?statement_cache_size=20").statementCacheSize == 20)
        for bad in ["-1", "many", ""] {
            #expect(throws: StorageError.invalidURL("Invalid PostgreSQL URL: statement_cache_size must be a whole number, 0 or more")) {
                try PostgresURL("postgres://u@h/db?statement_cache_size=\(bad)")
            }
        }
    }

    @Test func namesAreBoundedAndAStatementSeenOnceIsNotNamed() {
        let names = PreparedStatements(capacity: 2)
        #expect(names.name(for: "A", binds: []) == nil)
        let a = names.name(for: "A", binds: [])
        #expect(a != nil && names.name(for: "A", binds: []) == a)
        #expect(names.name(for: "B", binds: [.int(1)]) == nil)
        #expect(names.name(for: "B", binds: [.null]) == nil)
        let b = names.name(for: "B", binds: [.int(2)])
        #expect(b != nil && b != a)
        #expect(names.name(for: "C", binds: []) == nil && names.name(for: "C", binds: []) == nil, "past capacity, unnamed")
        #expect(names.count == 2)
    }
}
