import Foundation
import Logging
import PostgresNIO
import PostgresStorage
import Storage
import Testing
import TestSupport

/// `ConnectionPool` against a real PostgreSQL: reuse, the maximum, waiting, restarts, idle closing.
@Suite(.enabled(if: Backend.available.contains(.postgres)))
struct ConnectionPoolTests {
    func pool(maximum: Int, url: String? = nil) async throws -> ConnectionPool {
        let target = try PostgresURL(url != nil ? url! : try await TestDatabase.freshURL(.postgres))
        return ConnectionPool(configuration: target.connectionConfiguration, maximum: maximum, idleTimeout: .seconds(60), logger: TestDatabase.testLogger)
    }

    func backendPid(_ pooled: ConnectionPool.Pooled) async throws -> Int {
        var pid = -1
        for try await row in try await pooled.connection.query("SELECT pg_backend_pid() AS pid", logger: TestDatabase.testLogger) {
            pid = try row.decode(Int.self)
        }
        return pid
    }

    /// A lease started in its own task, once it waits in the pool's queue (every connection is out).
    func queuedLease(_ pool: ConnectionPool) async throws -> Task<ConnectionPool.Pooled, any Error> {
        let waiting = Task { try await pool.lease() }
        #expect(try await eventually { pool.counts.waiting == 1 })
        return waiting
    }

    @Test func aReleasedConnectionIsTheNextOneLeased() async throws {
        let pool = try await pool(maximum: 4)
        defer { pool.close() }
        let first = try await pool.lease()
        let pid = try await backendPid(first)
        pool.release(first)
        #expect(pool.counts == .init(open: 1, idle: 1))
        let again = try await pool.lease()
        #expect(again.connection.id == first.connection.id)
        #expect(try await backendPid(again) == pid)
        #expect(pool.counts == .init(open: 1, idle: 0))
        pool.release(again)
    }

    @Test func atTheMaximumALeaseWaitsForTheNextRelease() async throws {
        let pool = try await pool(maximum: 2)
        defer { pool.close() }
        let a = try await pool.lease()
        let b = try await pool.lease()
        #expect(pool.counts == .init(open: 2, idle: 0))
        let waiting = Task { try await pool.lease() }
        #expect(try await eventually { pool.counts == .init(open: 2, idle: 0, waiting: 1) }, "no third connection")
        pool.release(a)
        let c = try await waiting.value
        #expect(c.connection.id == a.connection.id)
        #expect(pool.counts == .init(open: 2, idle: 0))
        pool.release(b)
        pool.release(c)
        #expect(pool.counts == .init(open: 2, idle: 2))
    }

    @Test func aWaiterThatIsCancelledLeavesTheQueue() async throws {
        let pool = try await pool(maximum: 1)
        defer { pool.close() }
        let held = try await pool.lease()
        let waiting = try await queuedLease(pool)
        waiting.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiting.value }
        pool.release(held)
        #expect(pool.counts == .init(open: 1, idle: 1), "the release went to the idle stack, not to the cancelled waiter")
    }

    @Test func aConnectionNotReusableIsClosedAndItsPlaceGoesToAWaiter() async throws {
        let pool = try await pool(maximum: 1)
        defer { pool.close() }
        let held = try await pool.lease()
        let waiting = try await queuedLease(pool)
        pool.release(held, reusable: false)
        let fresh = try await waiting.value
        #expect(fresh.connection.id != held.connection.id)
        #expect(try await eventually { held.connection.isClosed })
        #expect(try await backendPid(fresh) > 0)
        pool.release(fresh)
        #expect(pool.counts == .init(open: 1, idle: 1))
    }

    @Test func afterARestartNoConnectionFromBeforeIsHandedOut() async throws {
        let pool = try await pool(maximum: 3)
        defer { pool.close() }
        let idle = try await pool.lease()
        let leased = try await pool.lease()
        pool.release(idle)
        pool.serverRestarted()
        #expect(pool.counts == .init(open: 1, idle: 0), "the idle one was closed at once")
        #expect(try await eventually { idle.connection.isClosed })
        pool.release(leased)
        #expect(pool.counts == .init(open: 0, idle: 0), "the leased one is closed when it comes back")
        #expect(try await eventually { leased.connection.isClosed })
        let after = try await pool.lease()
        #expect(![idle.connection.id, leased.connection.id].contains(after.connection.id))
        pool.release(after)
        #expect(pool.counts == .init(open: 1, idle: 1))
    }

    @Test func connectionsIdleForTheTimeoutAreClosed() async throws {
        let pool = try await pool(maximum: 3)
        defer { pool.close() }
        let (a, b) = (try await pool.lease(), try await pool.lease())
        pool.release(a)
        pool.closeIdle(now: .now + .seconds(30))
        #expect(pool.counts == .init(open: 2, idle: 1), "30 s is short of the 60 s timeout")
        pool.release(b)
        pool.closeIdle(now: .now + .seconds(61))
        #expect(pool.counts == .init(open: 0, idle: 0))
        #expect(try await eventually { a.connection.isClosed && b.connection.isClosed })
    }

    /// A server that is not there: connects are retried until the caller gives up, and the place is freed.
    @Test func connectFailuresAreRetriedUntilTheCallerCancels() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("no-pg-\(UUID().uuidString.prefix(8))").path
        let pool = try await pool(maximum: 1, url: "postgres://postgres@localhost:5432/db?host=\(dir)")
        defer { pool.close() }
        let leasing = Task { try await pool.lease() }
        #expect(try await eventually { pool.counts.open == 1 })
        leasing.cancel()
        await #expect(throws: (any Error).self) { _ = try await leasing.value }
        #expect(pool.counts == .init(open: 0, idle: 0))
    }

    @Test func closingFailsTheWaitersAndClosesTheIdle() async throws {
        let pool = try await pool(maximum: 1)
        let held = try await pool.lease()
        let waiting = try await queuedLease(pool)
        pool.close()
        await #expect(throws: StorageError.unavailable("PostgreSQL: the store was closed")) { _ = try await waiting.value }
        pool.release(held)
        #expect(pool.counts == .init(open: 0, idle: 0))
        #expect(try await eventually { held.connection.isClosed })
        await #expect(throws: StorageError.unavailable("PostgreSQL: the store was closed")) { _ = try await pool.lease() }
    }
}
