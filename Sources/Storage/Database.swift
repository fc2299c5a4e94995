import Logging

public enum SQLDialect: String, Sendable, CaseIterable {
    case sqlite
    case postgres
}

/// Something that runs statements: a database (each statement on its own) or an open transaction.
public protocol SQLExecutor: Sendable {
    var dialect: SQLDialect { get }
    /// Runs one statement and returns its rows (empty for statements without `RETURNING`).
    @discardableResult
    func query(_ query: SQLQuery) async throws -> [SQLRow]
}

/// The handle of an open transaction. Repositories and the queue's `enqueue` take it, so that work
/// from several modules commits or rolls back as one.
public protocol Transaction: SQLExecutor {}

/// Wake-ups between processes (PostgreSQL LISTEN/NOTIFY) or within one (SQLite). A notification
/// sent inside a transaction is delivered only if it commits.
public protocol Notifier: Sendable {
    /// Calls `handler` with each payload sent on `channel`, until the subscription is cancelled or
    /// the database closes. The handler runs in the delivering task and must return at once
    /// (`NotificationHub`).
    func listen(_ channel: String, _ handler: @escaping @Sendable (String) -> Void) async throws -> NotificationSubscription
    /// Sends `payload` on `channel` as part of `transaction`.
    func notify(_ channel: String, payload: String, in transaction: any Transaction) async throws
}

public protocol Database: SQLExecutor, Notifier {
    /// Runs `body` in one transaction: commits when it returns, rolls back when it throws.
    @discardableResult
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any Transaction) async throws -> T) async throws -> T
    /// A cheap round trip, for readiness checks.
    func ping() async throws
    /// Where the data lives, with any password removed; safe to log.
    var displayName: String { get }
    func close() async
}

extension SQLExecutor {
    /// Runs a statement and returns its only row, or nil.
    public func queryFirst(_ query: SQLQuery) async throws -> SQLRow? {
        try await self.query(query).first
    }
}
