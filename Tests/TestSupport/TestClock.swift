import Foundation

/// A clock tests move by hand, so retry curves and timeouts are checked without sleeping.
public final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    public init(_ start: Date = Date(timeIntervalSince1970: 1_764_000_000)) { current = start }

    public var now: Date { lock.withLock { current } }

    public func advance(by seconds: TimeInterval) {
        lock.withLock { current = current.addingTimeInterval(seconds) }
    }

    public var function: @Sendable () -> Date { { self.now } }
}

/// Waits for a condition that other tasks make true, polling without fixed sleeps as the test's
/// synchronisation: it returns as soon as the condition holds and fails after `timeout`.
public func eventually(timeout: Duration = .seconds(30), fileID: String = #fileID, line: Int = #line,
                       _ condition: () async throws -> Bool) async throws -> Bool {
    Watchdog.step("eventually at \(fileID):\(line)")
    defer { Watchdog.step("test body after \(fileID):\(line)") }
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}
