import Foundation
import NIOConcurrencyHelpers

/// In-process fan-out of notifications to every subscriber of a channel (SQLite's stand-in for
/// LISTEN/NOTIFY; PostgreSQL's listener fans its connection out with it too).
public final class NotificationHub: Sendable {
    private let subscribers = NIOLockedValueBox<[String: [UUID: AsyncStream<String>.Continuation]]>([:])

    public init() {}

    public func subscribe(_ channel: String) -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let id = UUID()
        subscribers.withLockedValue { $0[channel, default: [:]][id] = continuation }
        continuation.onTermination = { [weak self] _ in
            self?.subscribers.withLockedValue { _ = $0[channel]?.removeValue(forKey: id) }
        }
        return stream
    }

    public func send(_ channel: String, _ payload: String) {
        let targets = subscribers.withLockedValue { Array($0[channel, default: [:]].values) }
        for continuation in targets { continuation.yield(payload) }
    }

    public func finishAll() {
        let all = subscribers.withLockedValue { subscribers -> [AsyncStream<String>.Continuation] in
            defer { subscribers = [:] }
            return subscribers.values.flatMap(\.values)
        }
        for continuation in all { continuation.finish() }
    }
}
