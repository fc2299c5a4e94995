import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import Storage

/// Connections to one PostgreSQL server, opened when wanted (up to `maximum`) and kept while idle
/// for up to `idleTimeout`.
///
/// Not postgres-nio's `PostgresClient` pool, for two reasons measured on 1.33.2 (BENCHMARKS.md, round
/// four): each time a connection goes back to it, it schedules an idle timer (a task group of two tasks
/// and a `dispatch_after`), a fifth of the CPU of an authenticated read; and the one way to skip that
/// timer, a minimum of kept connections, traps in its state machine when the server goes down. Here
/// the idle connections are a stack under a lock, and the store's deadline watch closes the stale ones.
///
/// The pool also knows which server a connection was made to: after `serverRestarted()` no connection
/// from before is handed out again (a session the old server ended may not look closed yet, and
/// postgres-nio never completes a statement written to one that is; RELIABILITY.md).
package final class ConnectionPool: Sendable {
    package struct Pooled: Sendable {
        package let connection: PostgresConnection
        let generation: Int
    }

    private struct Idle {
        let pooled: Pooled
        let since: ContinuousClock.Instant
    }

    /// What a waiter is given: a connection someone released, or the right to open one.
    private enum Grant {
        case connection(Pooled)
        case slot
    }

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Grant, any Error>
    }

    private struct State {
        let maximum: Int
        /// The most recently released last: it is the one handed out next, and the first ones are the
        /// longest unused, which `closeIdle` closes.
        var idle: [Idle] = []
        /// Connections open or being opened, the idle ones included.
        var open = 0
        var waiters: [Waiter] = []
        var nextWaiter = 0
        var generation = 0
        var closed = false
        var lastConnectionId = 0

        /// The most recently used idle connection (closed ones are counted out and put in `stale`), else
        /// a place to open one; nil at the maximum.
        mutating func take(dropping stale: inout [PostgresConnection]) -> Grant? {
            while let last = idle.popLast() {
                guard last.pooled.connection.isClosed else { return .connection(last.pooled) }
                stale.append(last.pooled.connection)
                open -= 1
            }
            guard open < maximum else { return nil }
            open += 1
            return .slot
        }

        /// Takes a free place for the first waiter, if there are both.
        mutating func grantSlot() -> CheckedContinuation<Grant, any Error>? {
            guard !waiters.isEmpty, open < maximum else { return nil }
            open += 1
            return waiters.removeFirst().continuation
        }
    }

    package let maximum: Int
    package let idleTimeout: Duration
    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    private let state: NIOLockedValueBox<State>

    package init(configuration: PostgresConnection.Configuration, maximum: Int, idleTimeout: Duration = .seconds(60), logger: Logger) {
        self.configuration = configuration
        self.maximum = max(1, maximum)
        self.state = NIOLockedValueBox(State(maximum: max(1, maximum)))
        self.idleTimeout = idleTimeout
        self.logger = logger
    }

    deinit {
        closeAll(state.withLockedValue { $0.idle.map(\.pooled.connection) })
    }

    /// A connection outside the pool and its count, for a use that holds one for good (LISTEN).
    package func connectUnpooled() async throws -> PostgresConnection {
        try await PostgresConnection.connect(configuration: configuration, id: nextConnectionId(), logger: logger)
    }

    package struct Counts: Equatable, Sendable {
        /// Open or being opened, the idle ones included.
        package var open: Int
        package var idle: Int
        /// Leases waiting for a connection.
        package var waiting: Int
        package init(open: Int, idle: Int, waiting: Int = 0) { (self.open, self.idle, self.waiting) = (open, idle, waiting) }
    }

    package var counts: Counts { state.withLockedValue { Counts(open: $0.open, idle: $0.idle.count, waiting: $0.waiters.count) } }

    /// An idle connection, a new one, or the next one released, in that order of preference. Waits for
    /// as long as it takes (connect failures are retried): the caller bounds it, by cancelling.
    package func lease() async throws -> Pooled {
        enum Next { case grant(Grant), wait(Int), closed }
        var stale: [PostgresConnection] = []
        let next = state.withLockedValue { state -> Next in
            guard !state.closed else { return .closed }
            if let grant = state.take(dropping: &stale) { return .grant(grant) }
            state.nextWaiter += 1
            return .wait(state.nextWaiter)
        }
        closeAll(stale)
        let grant: Grant
        switch next {
        case .closed: throw StorageError.unavailable("PostgreSQL: the store was closed")
        case .grant(let given): grant = given
        case .wait(let id): grant = try await waitForGrant(id: id)
        }
        switch grant {
        case .connection(let pooled): return pooled
        case .slot: return try await openConnection()
        }
    }

    /// Hands `pooled` to the next waiter or keeps it idle. A connection that is closed, was made before
    /// a restart, or is not `reusable` (its use was cut short, so a statement may still be on it) is
    /// closed instead, and its place given to a waiter.
    package func release(_ pooled: Pooled, reusable: Bool = true) {
        enum Next { case none, hand(CheckedContinuation<Grant, any Error>), discard(CheckedContinuation<Grant, any Error>?) }
        let next = state.withLockedValue { state -> Next in
            if reusable, !state.closed, pooled.generation == state.generation, !pooled.connection.isClosed {
                guard !state.waiters.isEmpty else {
                    state.idle.append(Idle(pooled: pooled, since: .now))
                    return .none
                }
                return .hand(state.waiters.removeFirst().continuation)
            }
            state.open -= 1
            return .discard(state.grantSlot())
        }
        switch next {
        case .none: break
        case .hand(let waiter): waiter.resume(returning: .connection(pooled))
        case .discard(let waiter):
            closeAll([pooled.connection])
            waiter?.resume(returning: .slot)
        }
    }

    /// The server restarted: idle connections are closed now, leased ones when released.
    package func serverRestarted() {
        let (stale, waiters) = state.withLockedValue { state -> ([PostgresConnection], [CheckedContinuation<Grant, any Error>]) in
            state.generation += 1
            let stale = state.idle.map(\.pooled.connection)
            state.idle = []
            state.open -= stale.count
            return (stale, stale.compactMap { _ in state.grantSlot() })
        }
        closeAll(stale)
        for waiter in waiters { waiter.resume(returning: .slot) }
    }

    /// Closes the connections idle for `idleTimeout` or longer.
    package func closeIdle(now: ContinuousClock.Instant = .now) {
        let idleTimeout = self.idleTimeout
        let stale = state.withLockedValue { state -> [PostgresConnection] in
            let count = state.idle.prefix { now - $0.since >= idleTimeout }.count
            guard count > 0 else { return [] }
            let stale = state.idle.prefix(count).map(\.pooled.connection)
            state.idle.removeFirst(count)
            state.open -= count
            return stale
        }
        closeAll(stale)
    }

    /// Closes the idle connections and fails every waiter; leased connections close when released.
    package func close() {
        let (stale, waiters) = state.withLockedValue { state -> ([PostgresConnection], [Waiter]) in
            state.closed = true
            let stale = state.idle.map(\.pooled.connection)
            state.open -= stale.count
            state.idle = []
            defer { state.waiters = [] }
            return (stale, state.waiters)
        }
        closeAll(stale)
        for waiter in waiters { waiter.continuation.resume(throwing: StorageError.unavailable("PostgreSQL: the store was closed")) }
    }

    private func waitForGrant(id: Int) async throws -> Grant {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                // Under the lock, so that a cancellation either is seen here or finds the waiter. A
                // release since `lease` looked went to the idle stack (there was no waiter yet), so look
                // again: else this lease would wait beside an idle connection until some other release.
                var stale: [PostgresConnection] = []
                let now = state.withLockedValue { state -> Result<Grant, any Error>? in
                    if state.closed { return .failure(StorageError.unavailable("PostgreSQL: the store was closed")) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if let grant = state.take(dropping: &stale) { return .success(grant) }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                closeAll(stale)
                if let now { continuation.resume(with: now) }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Opens a connection in a place already counted in `open`; retries failed connects (a server
    /// that is restarting) until the caller cancels, and gives the place back when it gives up.
    private func openConnection() async throws -> Pooled {
        var delay = Duration.milliseconds(50)
        while true {
            let generation = state.withLockedValue { $0.generation }
            do {
                let connection = try await PostgresConnection.connect(configuration: configuration, id: nextConnectionId(), logger: logger)
                return Pooled(connection: connection, generation: generation)
            } catch {
                let closed = state.withLockedValue { $0.closed }
                if Task.isCancelled || closed {
                    giveBackSlot()
                    throw closed ? StorageError.unavailable("PostgreSQL: the store was closed") : error
                }
                logger.debug("PostgreSQL connect failed; retrying", metadata: ["error": "\(PostgresStore.describe(error))", "retry_in": "\(delay)"])
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    giveBackSlot()
                    throw error
                }
                delay = min(delay * 2, .seconds(1))
            }
        }
    }

    private func nextConnectionId() -> Int {
        state.withLockedValue { state in
            state.lastConnectionId += 1
            return state.lastConnectionId
        }
    }

    private func giveBackSlot() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Grant, any Error>? in
            state.open -= 1
            return state.grantSlot()
        }
        waiter?.resume(returning: .slot)
    }

    private func closeAll(_ connections: [PostgresConnection]) {
        for connection in connections where !connection.isClosed {
            // Held until closed: postgres-nio asserts (in debug builds) that a connection is closed when freed.
            connection.close().whenComplete { _ in _ = connection }
        }
    }
}
