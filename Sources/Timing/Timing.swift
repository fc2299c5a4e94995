import Synchronization

/// A deadline ran out before the work it bounded finished.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "timed out" }
}

/// Runs `body`, throwing `DeadlineExceeded` if it has not finished after `duration` (and cancelling it).
public func withDeadline<T: Sendable>(_ duration: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: duration)
            throw DeadlineExceeded()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

extension Duration {
    /// Whole nanoseconds, for metrics timers and NIO's `TimeAmount`.
    public var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }

    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// The result of whichever of `a` and `b` finishes first, without waiting for the other (which keeps
/// running, cancelled: unlike a task group, this returns even when the loser ignores cancellation).
public func firstOf<T: Sendable>(_ a: @escaping @Sendable () async -> T, _ b: @escaping @Sendable () async -> T) async -> T {
    let state = Mutex<(continuation: CheckedContinuation<T, Never>?, tasks: [Task<Void, Never>])>((nil, []))
    return await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
        state.withLock { $0.continuation = continuation }
        let finish: @Sendable (T) -> Void = { value in
            let (winner, losers) = state.withLock { state in
                defer { state.continuation = nil }
                return (state.continuation, state.tasks)
            }
            guard let winner else { return }
            winner.resume(returning: value)
            for task in losers { task.cancel() }
        }
        let tasks = [Task { finish(await a()) }, Task { finish(await b()) }]
        state.withLock { $0.tasks = tasks }
    }
}
