import Foundation
import Logging
import NIOConcurrencyHelpers
import Storage
import VaporCSQLite

/// The embedded backend: one SQLite file in WAL mode.
///
/// SQLite allows one writer at a time, so every statement and transaction of this process runs on
/// one connection behind a FIFO lock; transactions start with `BEGIN IMMEDIATE` so that several
/// processes on one file queue on SQLite's write lock instead of failing half way through. That wait
/// is asynchronous (`SQLITE_BUSY` is retried after a sleep, up to `busyTimeout`) because statements run
/// in the caller's thread, which SQLite's own `busy_timeout` would block. Wake-ups are in-process only:
/// SQLite is a single-host backend.
public final class SQLiteStore: Database, @unchecked Sendable {
    public let dialect = SQLDialect.sqlite
    public let path: String
    private let connection: SQLiteConnection
    private let lock = AsyncLock()
    private let channels = NotificationHub()
    private let busyTimeout: Duration
    private let logger: Logger
    private let busyWaitCount = NIOLockedValueBox(0)

    /// How many times a statement found another connection holding the write lock and waited.
    package var busyWaits: Int { busyWaitCount.withLockedValue { $0 } }

    public var displayName: String { "sqlite:\(path)" }

    private init(path: String, connection: SQLiteConnection, busyTimeout: Duration, logger: Logger) {
        self.path = path
        self.connection = connection
        self.busyTimeout = busyTimeout
        self.logger = logger
    }

    /// Opens (creating if needed) the database file and its parent directory.
    public static func open(path: String, busyTimeoutMilliseconds: Int = 5_000, logger: Logger = Logger(label: "kongflow.sqlite")) async throws -> SQLiteStore {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StorageError.unavailable("Cannot create directory \(directory) for the SQLite database: \(error.localizedDescription)")
        }
        let connection: SQLiteConnection
        do {
            connection = try SQLiteConnection(path: path)
        } catch {
            throw StorageError.unavailable("Cannot open SQLite database at \(path): \(error.message)")
        }
        let database = SQLiteStore(path: path, connection: connection, busyTimeout: .milliseconds(busyTimeoutMilliseconds), logger: logger)
        do {
            // journal_mode=WAL needs write access; it is also the first statement to touch the file.
            try await database.query("PRAGMA journal_mode = WAL")
            try await database.query("PRAGMA foreign_keys = ON")
            try await database.query("PRAGMA synchronous = NORMAL")
            // Fails on a read-only file or directory, here rather than on the first real write.
            try await database.query("CREATE TABLE IF NOT EXISTS _kongflow_write_check (x INTEGER)")
            try await database.query("DROP TABLE _kongflow_write_check")
        } catch {
            connection.close()
            throw StorageError.unavailable("Cannot use SQLite database at \(path): \(Self.message(of: error))")
        }
        return database
    }

    @discardableResult
    public func query(_ query: SQLQuery) async throws -> [SQLRow] {
        await lock.lock()
        defer { lock.unlock() }
        return try await run(query)
    }

    @discardableResult
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any Transaction) async throws -> T) async throws -> T {
        await lock.lock()
        let tx = SQLiteTransaction(database: self)
        do {
            try await run("BEGIN IMMEDIATE")
        } catch {
            lock.unlock()
            throw error
        }
        do {
            let result = try await body(tx)
            try await run("COMMIT")
            tx.isOpen = false
            let pending = tx.pendingNotifications
            lock.unlock()
            for (channel, payload) in pending { channels.send(channel, payload) }
            return result
        } catch {
            tx.isOpen = false
            do { try await run("ROLLBACK") } catch {
                logger.error("rollback failed", metadata: ["error": "\(error)"])
            }
            lock.unlock()
            throw error
        }
    }

    public func ping() async throws {
        try await query("SELECT 1")
    }

    public func listen(_ channel: String, _ handler: @escaping @Sendable (String) -> Void) async throws -> NotificationSubscription {
        channels.subscribe(channel, handler)
    }

    public func notify(_ channel: String, payload: String, in transaction: any Transaction) async throws {
        guard let tx = transaction as? SQLiteTransaction else {
            preconditionFailure("notify needs a transaction of the same database")
        }
        tx.pendingNotifications.append((channel, payload))
    }

    public func close() async {
        channels.removeAll()
        await lock.lock()
        connection.close()
        lock.unlock()
    }

    /// Runs a statement on the connection; the caller holds the lock. While another process holds
    /// the write lock, waits (without blocking the thread) and runs it again, up to `busyTimeout`.
    @discardableResult
    func run(_ query: SQLQuery) async throws -> [SQLRow] {
        let (sql, binds) = query.render(placeholderPrefix: "?")
        var pause = Duration.milliseconds(1)
        let deadline = ContinuousClock.now + busyTimeout
        while true {
            do {
                return try connection.run(sql, binds)
            } catch let failure where failure.isBusy && ContinuousClock.now + pause < deadline {
                busyWaitCount.withLockedValue { $0 += 1 }
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .milliseconds(50))
            } catch {
                throw Self.translate(error)
            }
        }
    }

    static func message(of error: any Error) -> String {
        if let error = error as? SQLiteFailure { return error.message }
        if let error = error as? StorageError { return error.description }
        return "\(error)"
    }

    static func translate(_ error: SQLiteFailure) -> StorageError {
        let message = error.message
        // Extended codes (the C macros are expressions Swift does not import): SQLITE_CONSTRAINT | n << 8.
        switch error.code {
        case SQLITE_CONSTRAINT | 8 << 8, SQLITE_CONSTRAINT | 6 << 8: return .uniqueViolation(message)  // UNIQUE, PRIMARYKEY
        case SQLITE_CONSTRAINT | 3 << 8: return .foreignKeyViolation(message)  // FOREIGNKEY
        default: break
        }
        switch error.primaryCode {
        case SQLITE_CONSTRAINT: return .constraintViolation(message)
        case SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_IOERR, SQLITE_FULL, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_CORRUPT,
             SQLITE_NOTADB, SQLITE_PERM, SQLITE_MISUSE:
            return .unavailable("SQLite: \(message)")
        default:
            return .queryFailed("SQLite: \(message)")
        }
    }
}
final class SQLiteTransaction: Transaction, @unchecked Sendable {
    let database: SQLiteStore
    var isOpen = true
    var pendingNotifications: [(String, String)] = []
    var dialect: SQLDialect { .sqlite }

    init(database: SQLiteStore) { self.database = database }

    @discardableResult
    func query(_ query: SQLQuery) async throws -> [SQLRow] {
        guard isOpen else { throw StorageError.queryFailed("transaction already finished") }
        return try await database.run(query)
    }
}
