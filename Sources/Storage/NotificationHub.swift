import Foundation

/// In-process fan-out of notifications to every subscriber of a channel.
public final class NotificationHub: @unchecked Sendable {
    private let mutex = NSLock()
    private var subscribers: [String: [UUID: AsyncStream<String>.Continuation]] = [:]

    public init() {}

    public func subscribe(_ channel: String) -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let id = UUID()
        mutex.withLock { subscribers[channel, default: [:]][id] = continuation }
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            self.mutex.withLock { _ = self.subscribers[channel]?.removeValue(forKey: id) }
        }
        return stream
    }

    public func send(_ channel: String, _ payload: String) {
        let targets = mutex.withLock { Array(subscribers[channel, default: [:]].values) }
        for continuation in targets { continuation.yield(payload) }
    }

    public func finishAll() {
        let all = mutex.withLock { () -> [AsyncStream<String>.Continuation] in
            let all = subscribers.values.flatMap(\.values)
            subscribers = [:]
            return all
        }
        for continuation in all { continuation.finish() }
    }
}
