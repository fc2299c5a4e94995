import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO
import Storage
import Timing

/// The production backend: pooled `PostgresConnection`s (`ConnectionPool`). Many API and worker
/// processes share one database and coordinate only through it (row locks, LISTEN/NOTIFY).
public final class PostgresStore: Database, Sendable {
    public let dialect = SQLDialect.postgres
    public let displayName: String
    let pool: ConnectionPool
    let leaseTimeout: Duration
    let workTimeout: Duration
    private let logger: Logger
    private let listeners: PostgresListeners
    /// When a leased use of a connection last succeeded: tells a busy pool from a server that is down.
    private let lastAnswer = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
    /// Every leased use in progress, by id: deadlines and a server restart end them.
    private let inFlight = NIOLockedValueBox(LeaseRegistry())
    private let deadlineWatch = NIOLockedValueBox<Task<Void, Never>?>(nil)
    private let restartCheckInterval: Duration
    private let restartWatch = NIOLockedValueBox<Task<Void, Never>?>(nil)
    private let prepared: PreparedStatements

    public struct Options: Sendable {
        public var maximumConnections: Int = 20
        public var connectTimeout: Duration = .seconds(5)
        /// How long one leased use of a connection (a statement or a whole transaction) may take.
        public var workTimeout: Duration = .seconds(60)
        /// How often the server's start time is read: when it changes, PostgreSQL restarted, and every
        /// statement still waiting on a connection from before is failed at once (see `watchForRestarts`).
        public var restartCheckInterval: Duration = .seconds(2)
        public init() {}
    }

    /// Connects and checks the server answers within `options.connectTimeout`, so a wrong or
    /// unreachable server is one clear error at start-up, not a hang on the first request.
    public static func connect(url: PostgresURL, options: Options = .init(), logger: Logger = Logger(label: "kongflow.postgres")) async throws -> PostgresStore {
        var configuration = url.connectionConfiguration
        configuration.options.connectTimeout = .milliseconds(Int64(options.connectTimeout / .milliseconds(1)))
        // No JIT compilation in our sessions. Every statement here is a short index-driven one, and a
        // prepared statement's generic plan (the claim's, made while the jobs table was small) can carry
        // cost estimates far past `jit_above_cost`: the server then compiled it anew on every call,
        // 0.5–1 s a claim with inlining and optimisation (BENCHMARKS.md, round eight). The JIT code is
        // never cached, so it cannot pay back on statements this short.
        configuration.options.additionalStartupParameters.append(("jit", "off"))
        // One connection first: the pool retries failed connects until its caller gives up, which
        // would turn a typo in the URL into a 503 on every request instead of an error at start-up.
        let probeTarget = configuration
        let serverStarted: String
        let watch = DeadlineWatch()
        do {
            let probe = try await withDeadline(options.connectTimeout + .seconds(1), watch: watch) {
                try await PostgresConnection.connect(configuration: probeTarget, id: 0, logger: logger)
            }
            // The first reading for the restart watch, taken before any work can crowd it out.
            serverStarted = try await withDeadline(options.connectTimeout, watch: watch) {
                try await Self.run("SELECT pg_postmaster_start_time()::text AS started", on: probe, prepared: nil, logger: logger).first?.decode("started", as: String.self) ?? ""
            }
            try await probe.close()
        } catch {
            throw StorageError.unavailable("Cannot connect to PostgreSQL at \(url.redacted): \(PostgresStore.describe(error))")
        }
        let pool = ConnectionPool(configuration: configuration, maximum: options.maximumConnections, logger: logger)
        let store = PostgresStore(pool: pool, displayName: url.redacted, leaseTimeout: options.connectTimeout,
                                  workTimeout: options.workTimeout, restartCheckInterval: options.restartCheckInterval,
                                  preparedStatements: url.statementCacheSize, logger: logger)
        store.watchForRestarts(serverStarted: serverStarted)
        return store
    }

    init(pool: ConnectionPool, displayName: String, leaseTimeout: Duration, workTimeout: Duration,
         restartCheckInterval: Duration, preparedStatements: Int, logger: Logger) {
        self.pool = pool
        self.prepared = PreparedStatements(capacity: preparedStatements)
        self.leaseTimeout = leaseTimeout
        self.workTimeout = workTimeout
        self.restartCheckInterval = restartCheckInterval
        self.displayName = displayName
        self.logger = logger
        self.listeners = PostgresListeners(pool: pool, logger: logger)
        let watch = watchDeadlines()
        deadlineWatch.withLockedValue { $0 = watch }
    }

    @discardableResult
    public func query(_ query: SQLQuery) async throws -> [SQLRow] {
        let (logger, prepared) = (self.logger, self.prepared)
        return try await withLease { connection in
            try await PostgresStore.run(query, on: connection, prepared: prepared, logger: logger)
        }
    }

    /// Leases a pooled connection for `body`, or fails with `.unavailable` when none can be had
    /// within the connect timeout: the pool itself waits for a connection as long as it takes, which
    /// while the server is down would turn every API request into a hang instead of a 503.
    /// The connection goes back to the pool unless the use was cut short (cancelled, or at a deadline).
    ///
    /// `body` gets `workTimeout` once leased. postgres-nio 1.33.2 never completes a statement written to
    /// a connection that has closed (`run` checks first, but a close can land between the check and the
    /// write; RELIABILITY.md), and a server can stop answering without closing; either held a worker slot
    /// and its serial queue for good. So the caller is answered at the deadline without waiting for
    /// `body`, whose connection is closed to fail whatever is stuck on it.
    func withLease<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let lease = Lease<T>(started: .now)
        let pool = self.pool
        let lastAnswer = self.lastAnswer
        let inFlight = self.inFlight
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                lease.begin(continuation)
                let id = inFlight.withLockedValue { registry in
                    registry.nextId &+= 1
                    registry.leases[registry.nextId] = lease
                    return registry.nextId
                }
                // The work runs in its own task so that the caller can be answered at a deadline even
                // when a statement never completes; `watchDeadlines` is what enforces those.
                let work = Task {
                    let outcome: Result<T, any Error>
                    do {
                        let pooled = try await pool.lease()
                        lease.leased(pooled.connection)
                        do {
                            let value = try await body(pooled.connection)
                            pool.release(pooled)
                            lastAnswer.withLockedValue { $0 = .now }
                            outcome = .success(value)
                        } catch {
                            pool.release(pooled, reusable: !Task.isCancelled)
                            throw error
                        }
                    } catch {
                        outcome = .failure(error)
                    }
                    // Out of the registry before the caller goes on, so that it never sees its own
                    // finished use as still in flight.
                    inFlight.withLockedValue { _ = $0.leases.removeValue(forKey: id) }
                    lease.finish(outcome)
                }
                lease.started(work)
            }
        } onCancel: {
            lease.cancel()
        }
    }

    /// Fails leased uses past their deadlines, checked every `deadlineCheckInterval` for all of them at
    /// once (one timer per statement cost a task, a timer and a wake-up on every statement):
    /// - waiting for a connection for `leaseTimeout`, unless the server answered other uses within that
    ///   time (every connection busy is a burst, not an outage: wait on, up to `workTimeout` more);
    /// - holding a connection for `workTimeout`: the connection is closed to fail whatever is stuck on it.
    func watchDeadlines() -> Task<Void, Never> {
        let (interval, leaseTimeout, workTimeout) = (Self.deadlineCheckInterval, self.leaseTimeout, self.workTimeout)
        return Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self else { return }
                let now = ContinuousClock.now
                let answered = self.lastAnswer.withLockedValue { $0 }
                let busyNotDown = answered.map { now - $0 < leaseTimeout } ?? false
                let expired = self.inFlight.withLockedValue { registry -> [(any LeaseControl, StorageError)] in
                    var expired: [(any LeaseControl, StorageError)] = []
                    for (id, lease) in registry.leases {
                        if let leasedAt = lease.leasedAt {
                            // The work's time counts from the lease, and never from before the lease
                            // deadline: a statement that waited briefly for a connection is not cut short.
                            guard now - max(leasedAt, lease.startedAt + leaseTimeout) >= workTimeout else { continue }
                            expired.append((lease, .unavailable("PostgreSQL did not answer within \(workTimeout); the connection was closed")))
                        } else {
                            let waited = now - lease.startedAt
                            guard waited >= leaseTimeout, !(busyNotDown && waited < leaseTimeout + workTimeout) else { continue }
                            expired.append((lease, .unavailable("PostgreSQL: no connection could be made within \(leaseTimeout)")))
                        }
                        registry.leases.removeValue(forKey: id)
                    }
                    return expired
                }
                for (lease, error) in expired { lease.expire(error) }
                self.pool.closeIdle(now: now)
            }
        }
    }

    static let deadlineCheckInterval = Duration.milliseconds(200)

    /// Reads the server's start time every `restartCheckInterval`. PostgreSQL ends every session when
    /// it stops; a statement that still hangs on one of them (see `withLease`) would otherwise hold its
    /// job (and the job's serial queue) until the work deadline. When the start time changes, the uses that began before the new server was seen
    /// cannot be on a live session, so they fail now and their connections are closed. A use that began
    /// on the new server within the last check interval fails too; every caller retries or reports it.
    func watchForRestarts(serverStarted: String) {
        let interval = restartCheckInterval
        let task = Task { [weak self] in
            var known = serverStarted
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self, !Task.isCancelled else { return }
                let seenAt = ContinuousClock.now
                let started: String
                do {
                    started = try await self.queryFirst("SELECT pg_postmaster_start_time()::text AS started")?.decode("started", as: String.self) ?? ""
                } catch {
                    self.logger.debug("restart check failed", metadata: ["error": "\(error)", "took": "\(ContinuousClock.now - seenAt)"])
                    continue
                }
                if started != known {
                    self.logger.info("PostgreSQL restarted", metadata: ["started": "\(started)", "previous": "\(known)"])
                    self.serverRestarted(before: seenAt)
                    known = started
                }
            }
        }
        restartWatch.withLockedValue { $0 = task }
    }

    /// Fails every leased use that began before `instant`; returns how many.
    @discardableResult
    package func serverRestarted(before instant: ContinuousClock.Instant) -> Int {
        pool.serverRestarted()
        let stale = inFlight.withLockedValue { registry -> [any LeaseControl] in
            let stale = registry.leases.filter { $0.value.startedAt < instant }
            for key in stale.keys { registry.leases.removeValue(forKey: key) }
            return Array(stale.values)
        }
        guard !stale.isEmpty else { return 0 }
        logger.warning("PostgreSQL restarted; failing the statements that were in flight on its old sessions", metadata: ["count": "\(stale.count)"])
        for use in stale { use.expire(StorageError.unavailable("PostgreSQL restarted while this statement was in flight")) }
        return stale.count
    }

    @discardableResult
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any Transaction) async throws -> T) async throws -> T {
        let (logger, prepared) = (self.logger, self.prepared)
        return try await withLease { connection in
            try await Self.run("BEGIN", on: connection, prepared: prepared, logger: logger)
            let tx = PostgresTransaction(connection: connection, prepared: prepared, logger: logger)
            do {
                let result = try await body(tx)
                try await Self.run("COMMIT", on: connection, prepared: prepared, logger: logger)
                return result
            } catch {
                // A failed ROLLBACK leaves the connection in a transaction, or broken: closed, the pool drops it.
                do {
                    try await Self.run("ROLLBACK", on: connection, prepared: prepared, logger: logger)
                } catch {
                    if !connection.isClosed { try? await connection.close() }
                }
                throw error
            }
        }
    }

    public func ping() async throws {
        try await query("SELECT 1")
    }

    public func listen(_ channel: String, _ handler: @escaping @Sendable (String) -> Void) async throws -> NotificationSubscription {
        try await listeners.subscribe(channel, handler)
    }

    public func notify(_ channel: String, payload: String, in transaction: any Transaction) async throws {
        try await transaction.query("SELECT pg_notify(\(channel), \(payload))")
    }

    /// Closes the idle connections now and the leased ones as they come back. Not waited for: a
    /// connection left with a statement that never completes (see `withLease`) would hold a server's
    /// shutdown forever.
    public func close() async {
        restartWatch.withLockedValue { $0?.cancel() }
        deadlineWatch.withLockedValue { $0?.cancel() }
        await listeners.close()
        pool.close()
    }

    /// Runs `query`, as a named prepared statement when `prepared` gives it a name (nil: always unnamed).
    @discardableResult
    static func run(_ query: SQLQuery, on connection: PostgresConnection, prepared: PreparedStatements?, logger: Logger) async throws -> [SQLRow] {
        // postgres-nio 1.33.2 never completes a statement written to a closed channel: its write's failure
        // goes to a nil promise (RELIABILITY.md). A session the server ended between two statements of a
        // transaction (`pg_ctl stop -m fast`) would otherwise hold its caller until the work deadline.
        guard !connection.isClosed else { throw StorageError.unavailable("PostgreSQL: the connection was closed (the server ended the session)") }
        let (sql, binds) = query.render(placeholderPrefix: "$")
        var bindings = PostgresBindings(capacity: binds.count)
        for value in binds { encode(value, into: &bindings) }
        let name = prepared?.name(for: sql, binds: binds)
        do {
            if let name {
                return try await RuntimeStatement.$current.withValue(.init(name: name, sql: sql)) {
                    try await rows(of: connection.execute(RuntimeStatement(bindings: bindings), logger: logger))
                }
            }
            return try await rows(of: connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger))
        } catch let error as StorageError {
            throw error
        } catch {
            // postgres-nio remembers a failed preparation, and the server a plan made for an older
            // schema, for the connection's life: such a name would fail on it for good.
            if name != nil, let state = (error as? PSQLError)?.serverInfo?[.sqlState], state.hasPrefix("42") || state.hasPrefix("0A") || state == "25P02" {
                try? await connection.close()
            }
            throw translate(error)
        }
    }

    private static func rows<Rows: AsyncSequence>(of sequence: Rows) async throws -> [SQLRow] where Rows.Element == PostgresRow {
        var rows: [SQLRow] = []
        for try await row in sequence {
            var columns: [String] = []
            var values: [SQLValue] = []
            columns.reserveCapacity(row.count)
            values.reserveCapacity(row.count)
            for cell in row {
                columns.append(cell.columnName)
                values.append(try decode(cell))
            }
            rows.append(SQLRow(columns: columns, values: values))
        }
        return rows
    }

    static func encode(_ value: SQLValue, into bindings: inout PostgresBindings) {
        switch value {
        case .null: bindings.appendNull()
        case .bool(let b): bindings.append(b)
        case .int(let i): bindings.append(i)
        case .double(let d): bindings.append(d)
        case .text(let s): bindings.append(s)
        case .uuid(let u): bindings.append(u)
        case .date(let d): bindings.append(d)
        case .json(let s): bindings.append(JSONBText(text: s))
        }
    }

    static func decode(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .bool: return .bool(try cell.decode(Bool.self))
        case .int2, .int4, .int8, .oid: return .int(try cell.decode(Int64.self))
        case .float4, .float8: return .double(try cell.decode(Double.self))
        case .numeric: return .double(Double(try cell.decode(String.self)) ?? .nan)
        case .uuid: return .uuid(try cell.decode(UUID.self))
        case .timestamptz, .timestamp, .date: return .date(try cell.decode(Date.self))
        case .json, .jsonb: return .json(try cell.decode(String.self))
        default: return .text(try cell.decode(String.self))
        }
    }

    static func translate(_ error: any Error) -> StorageError {
        guard let error = error as? PSQLError else { return .queryFailed("\(error)") }
        if let state = error.serverInfo?[.sqlState] {
            let message = error.serverInfo?[.message] ?? "\(error)"
            let detail = [message, error.serverInfo?[.detail]].compactMap { $0 }.joined(separator: ": ")
            switch state {
            case "23505": return .uniqueViolation(detail)
            case "23503": return .foreignKeyViolation(detail)
            case "23502", "23514": return .constraintViolation(detail)
            case "57P01", "57P02", "57P03", "08000", "08003", "08006", "53300": return .unavailable("PostgreSQL: \(detail)")
            default: return .queryFailed("PostgreSQL: \(detail)")
            }
        }
        return .unavailable("PostgreSQL: \(describe(error))")
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
        if let error = error as? StorageError { return error.description }
        return "\(error)"
    }
}

package final class PostgresTransaction: Transaction, Sendable {
    package let connection: PostgresConnection
    let logger: Logger
    private let prepared: PreparedStatements
    /// Once a statement failed, the server refuses every other until ROLLBACK, preparations included,
    /// and a failed preparation would stay with the connection (`PostgresStore.run`): the rest go unnamed.
    private let failed = NIOLockedValueBox(false)
    package var dialect: SQLDialect { .postgres }

    init(connection: PostgresConnection, prepared: PreparedStatements, logger: Logger) {
        self.connection = connection
        self.prepared = prepared
        self.logger = logger
    }

    @discardableResult
    package func query(_ query: SQLQuery) async throws -> [SQLRow] {
        do {
            return try await PostgresStore.run(query, on: connection, prepared: failed.withLockedValue { $0 } ? nil : prepared, logger: logger)
        } catch {
            failed.withLockedValue { $0 = true }
            throw error
        }
    }
}

struct LeaseRegistry {
    var nextId = 0
    var leases: [Int: any LeaseControl] = [:]
}

/// What the deadline and restart watches need of a leased use in progress.
protocol LeaseControl: Sendable {
    var startedAt: ContinuousClock.Instant { get }
    /// When it got its connection; nil while it waits for one.
    var leasedAt: ContinuousClock.Instant? { get }
    /// Fails the caller now (unless answered already), cancels the work and closes its connection.
    func expire(_ error: StorageError)
}

/// The state of one `withLease` call: its caller is answered exactly once, by the work or by a watch.
final class Lease<T: Sendable>: LeaseControl {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var result: Result<T, any Error>?
        var cancelled = false
        var work: Task<Void, Never>?
        var connection: PostgresConnection?
        var leasedAt: ContinuousClock.Instant?
    }

    let startedAt: ContinuousClock.Instant
    private let state = NIOLockedValueBox(State())

    init(started: ContinuousClock.Instant) { self.startedAt = started }

    var connection: PostgresConnection? { state.withLockedValue { $0.connection } }
    var leasedAt: ContinuousClock.Instant? { state.withLockedValue { $0.leasedAt } }

    func begin(_ continuation: CheckedContinuation<T, any Error>) { state.withLockedValue { $0.continuation = continuation } }
    func leased(_ connection: PostgresConnection) {
        state.withLockedValue {
            $0.connection = connection
            $0.leasedAt = .now
        }
    }

    func started(_ work: Task<Void, Never>) {
        let cancelled = state.withLockedValue {
            $0.work = work
            return $0.cancelled
        }
        if cancelled { work.cancel() }
    }

    /// Answers the caller unless it was answered already; true if this call did.
    @discardableResult
    func finish(_ outcome: Result<T, any Error>) -> Bool {
        let continuation = state.withLockedValue { state -> CheckedContinuation<T, any Error>? in
            guard state.result == nil else { return nil }
            state.result = outcome
            defer { state.continuation = nil }
            return state.continuation
        }
        guard let continuation else { return false }
        continuation.resume(with: outcome)
        return true
    }

    func expire(_ error: StorageError) {
        guard finish(.failure(error)) else { return }
        cancel()
        if let connection { Task { try? await connection.close() } }
    }

    func cancel() {
        let work = state.withLockedValue { state -> Task<Void, Never>? in
            state.cancelled = true
            return state.work
        }
        work?.cancel()
    }
}

/// JSON text bound as `jsonb` (binary format: version byte 1, then the UTF-8 text).
struct JSONBText: PostgresNonThrowingEncodable {
    let text: String
    static var psqlType: PostgresDataType { .jsonb }
    static var psqlFormat: PostgresFormat { .binary }
    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        byteBuffer.writeInteger(UInt8(1))
        byteBuffer.writeString(text)
    }
}
