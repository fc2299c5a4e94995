import NIOConcurrencyHelpers

/// In-process fan-out of notifications to every subscriber of a channel (SQLite's stand-in for
/// LISTEN/NOTIFY; PostgreSQL's listener fans its connection out with it too).
///
/// Subscribers are called, not streamed to: a worker's wake-up is a flag and a continuation, and
/// a stream read by a task of its own cost a thread hop between a notification and the claim it
/// starts (BENCHMARKS.md, round six). So a handler runs in the sender's task (PostgreSQL's
/// listener, or the task that committed on SQLite) and must return at once.
public final class NotificationHub: Sendable {
    private struct State {
        var subscribers: [String: [Int: @Sendable (String) -> Void]] = [:]
        var nextId = 0
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    public func subscribe(_ channel: String, _ handler: @escaping @Sendable (String) -> Void) -> NotificationSubscription {
        let id = state.withLockedValue { state in
            state.nextId += 1
            state.subscribers[channel, default: [:]][state.nextId] = handler
            return state.nextId
        }
        return NotificationSubscription { [weak self] in
            self?.state.withLockedValue { _ = $0.subscribers[channel]?.removeValue(forKey: id) }
        }
    }

    public func send(_ channel: String, _ payload: String) {
        let handlers = state.withLockedValue { Array($0.subscribers[channel, default: [:]].values) }
        for handler in handlers { handler(payload) }
    }

    /// Drops every subscriber: the database is closing.
    public func removeAll() {
        state.withLockedValue { $0.subscribers = [:] }
    }
}

/// A subscription to a channel; `cancel` stops its handler being called (idempotent).
public final class NotificationSubscription: Sendable {
    private let onCancel: NIOLockedValueBox<(@Sendable () -> Void)?>

    public init(onCancel: @escaping @Sendable () -> Void) {
        self.onCancel = NIOLockedValueBox(onCancel)
    }

    public func cancel() {
        let action = onCancel.withLockedValue { action in
            defer { action = nil }
            return action
        }
        action?()
    }
}
