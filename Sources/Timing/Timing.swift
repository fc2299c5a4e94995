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
