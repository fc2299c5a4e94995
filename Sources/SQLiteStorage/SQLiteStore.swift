import Foundation
import JSON
import Logging
import NIOCore
import NIOPosix
import SQLiteNIO
import Storage

/// The embedded backend: one SQLite file in WAL mode.
///
/// SQLite allows one writer at a time, so every statement and transaction of this process runs on
/// one connection behind a FIFO lock; transactions start with `BEGIN IMMEDIATE` so that several
/// processes on one file queue on SQLite's own lock (bounded by `busy_timeout`) instead of failing
/// half way through. Wake-ups are in-process only: SQLite is a single-host backend.
public final class SQLiteStore: Database, @unchecked Sendable {
    public let dialect = SQLDialect.sqlite
    public let path: String
    private let connection: SQLiteConnection
    private let lock = AsyncLock()
    private let channels = NotificationHub()
    private let logger: Logger

    public var displayName: String { "sqlite:\(path)" }

    private init(path: String, connection: SQLiteConnection, logger: Logger) {
        self.path = path
        self.connection = connection
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
            connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        } catch {
            throw StorageError.unavailable("Cannot open SQLite database at \(path): \(error)")
        }
        let database = SQLiteStore(path: path, connection: connection, logger: logger)
        do {
            // journal_mode=WAL needs write access; it is also the first statement to touch the file.
            _ = try await connection.query("PRAGMA busy_timeout = \(busyTimeoutMilliseconds)", [])
            _ = try await connection.query("PRAGMA journal_mode = WAL", [])
            _ = try await connection.query("PRAGMA foreign_keys = ON", [])
            _ = try await connection.query("PRAGMA synchronous = NORMAL", [])
            // Fails on a read-only file or directory, here rather than on the first real write.
            _ = try await connection.query("CREATE TABLE IF NOT EXISTS _kongflow_write_check (x INTEGER)", [])
            _ = try await connection.query("DROP TABLE _kongflow_write_check", [])
        } catch {
            try? await connection.close()
            throw StorageError.unavailable("Cannot use SQLite database at \(path): \(Self.message(of: error))")
        }
        return database
    }

    @discardableResult
    public func query(_ query: SQLQuery) async throws -> [SQLRow] {
        try await lock.withLock { try await self.run(query) }
    }

    @discardableResult
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any Transaction) async throws -> T) async throws -> T {
        await lock.lock()
        let tx = SQLiteTransaction(database: self)
        do {
            try await run("BEGIN IMMEDIATE")
        } catch {
            await lock.unlock()
            throw error
        }
        do {
            let result = try await body(tx)
            try await run("COMMIT")
            tx.isOpen = false
            let pending = tx.pendingNotifications
            await lock.unlock()
            for (channel, payload) in pending { channels.send(channel, payload) }
            return result
        } catch {
            tx.isOpen = false
            do { try await run("ROLLBACK") } catch {
                logger.error("rollback failed", metadata: ["error": "\(error)"])
            }
            await lock.unlock()
            throw error
        }
    }

    public func ping() async throws {
        try await query("SELECT 1")
    }

    public func listen(_ channel: String) async throws -> AsyncStream<String> {
        channels.subscribe(channel)
    }

    public func notify(_ channel: String, payload: String, in transaction: any Transaction) async throws {
        guard let tx = transaction as? SQLiteTransaction else {
            preconditionFailure("notify needs a transaction of the same database")
        }
        tx.pendingNotifications.append((channel, payload))
    }

    public func close() async {
        channels.finishAll()
        await lock.lock()
        try? await connection.close()
        await lock.unlock()
    }

    /// Runs a statement on the connection; the caller holds the lock.
    @discardableResult
    func run(_ query: SQLQuery) async throws -> [SQLRow] {
        let (sql, binds) = query.render(placeholderPrefix: "?")
        let rows: [SQLiteRow]
        do {
            rows = try await connection.query(sql, binds.map(Self.encode))
        } catch {
            throw Self.translate(error, sql: sql)
        }
        return rows.map { row in
            let columns = row.columns
            return SQLRow(columns: columns.map(\.name), values: columns.map { Self.decode($0.data) })
        }
    }

    static func encode(_ value: SQLValue) -> SQLiteData {
        switch value {
        case .null: return .null
        case .bool(let b): return .integer(b ? 1 : 0)
        case .int(let i): return .integer(SQLiteInt64(i))
        case .double(let d): return .float(d)
        case .text(let s), .json(let s): return .text(s)
        case .uuid(let u): return .text(u.lowercasedString)
        case .date(let d): return .text(SQLTimestamp.format(d))
        }
    }

    static func decode(_ data: SQLiteData) -> SQLValue {
        switch data {
        case .null: return .null
        case .integer(let i): return .int(Int64(i))
        case .float(let d): return .double(d)
        case .text(let s): return .text(s)
        case .blob(let buffer): return .text(String(buffer: buffer))
        }
    }

    static func message(of error: any Error) -> String {
        if let error = error as? SQLiteError { return error.message }
        return "\(error)"
    }

    static func translate(_ error: any Error, sql: String) -> StorageError {
        guard let error = error as? SQLiteError else { return .queryFailed("\(error)") }
        let message = error.message
        let reason = "\(error.reason)"
        if reason.hasPrefix("constraint") {
            if reason == "constraintUniqueFailed" || reason == "constraintPrimaryKeyFailed" || message.contains("UNIQUE") {
                return .uniqueViolation(message)
            }
            if reason == "constraintForeignKeyFailed" || message.contains("FOREIGN KEY") { return .foreignKeyViolation(message) }
            return .constraintViolation(message)
        }
        for prefix in ["readOnly", "readonly", "cantOpen", "ioError", "full", "busy", "locked", "corrupt", "notADatabase", "permission"]
        where reason.hasPrefix(prefix) {
            return .unavailable("SQLite: \(message)")
        }
        return .queryFailed("SQLite: \(message)")
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
