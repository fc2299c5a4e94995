import Synchronization

/// A deadline ran out before the work it bounded finished.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "timed out" }
}

/// Runs `body` in a task of its own, cancelling it when `duration` has passed, and then throws
/// `DeadlineExceeded` once it has ended (a body that ignores cancellation is waited for). A body that
/// finishes anyway, despite the cancellation, gives its result; one that ended before the deadline
/// gives its own error.
///
/// The deadline is kept by `watch`, not by a sleeping task: see `DeadlineWatch` for why.
public func withDeadline<T: Sendable>(_ duration: Duration, watch: DeadlineWatch,
                                      _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let race = Race()
    let work = Task {
        // Whatever the body ended with is its answer if it ended first, even when its caller is only
        // resumed after the deadline (a busy machine).
        defer { _ = race.settle(.finished) }
        return try await body()
    }
    let token = watch.schedule(in: duration) {
        if race.settle(.expired) { work.cancel() }
    }
    defer { watch.cancel(token) }
    do {
        return try await withTaskCancellationHandler { try await work.value } onCancel: { work.cancel() }
    } catch {
        if race.outcome == .expired { throw DeadlineExceeded() }
        throw error
    }
}

/// Deadlines of many calls in flight, kept by one sleeping task that wakes at the earliest of them.
///
/// Why not a `Task.sleep` per call, raced against the work: on Linux a cancelled sleep leaves its
/// timer in libdispatch until the time it was set for, and then runs a job for it. A 10 s PING
/// deadline per request kept ~70,000 such timers alive at 7,000 requests/s, and the server spent more
/// on them than on the request (BENCHMARKS.md, round six: the PING floor fell from 8,000 to under
/// 5,000 requests/s after 10 s of load). Here setting and clearing a deadline is a lock and a
/// dictionary entry. The ticker's own sleep is never cancelled: a deadline earlier than its planned
/// wake-up (by more than `resolution`) starts a new ticker, and the superseded one ends when it wakes.
/// Calls with the same timeout set ever later deadlines, so under load that is rare, and an idle
/// watch has no task at all. An action runs up to `resolution` late.
public final class DeadlineWatch: Sendable {
    public struct Token: Sendable, Hashable {
        let id: Int
    }

    private struct Entry {
        let deadline: ContinuousClock.Instant
        let action: @Sendable () -> Void
    }

    private struct State {
        var entries: [Int: Entry] = [:]
        var nextId = 0
        /// The running ticker's generation and when it wakes; nil when no ticker runs.
        var ticker: (generation: Int, wake: ContinuousClock.Instant)?
        var generation = 0
    }

    public let resolution: Duration
    private let state = Mutex(State())

    public init(resolution: Duration = .milliseconds(10)) {
        self.resolution = resolution
    }

    /// Runs `action` once `duration` has passed, unless `cancel` comes first.
    @discardableResult
    public func schedule(in duration: Duration, _ action: @escaping @Sendable () -> Void) -> Token {
        let deadline = ContinuousClock.now + duration
        let (id, start) = state.withLock { state -> (Int, (generation: Int, wake: ContinuousClock.Instant)?) in
            state.nextId &+= 1
            state.entries[state.nextId] = Entry(deadline: deadline, action: action)
            if let ticker = state.ticker, ticker.wake <= deadline + resolution { return (state.nextId, nil) }
            state.generation &+= 1
            state.ticker = (state.generation, deadline)
            return (state.nextId, state.ticker)
        }
        // The ticker holds the watch while any deadline is set: one that outlives its owner still fires.
        if let start { Task { await self.tick(generation: start.generation, wake: start.wake) } }
        return Token(id: id)
    }

    public func cancel(_ token: Token) {
        _ = state.withLock { $0.entries.removeValue(forKey: token.id) }
    }

    /// Deadlines set and not yet run or cancelled.
    public var pending: Int { state.withLock { $0.entries.count } }

    private func tick(generation: Int, wake: ContinuousClock.Instant) async {
        var wake = wake
        while true {
            try? await Task.sleep(until: wake, clock: .continuous)
            let now = ContinuousClock.now
            let (due, next) = state.withLock { state -> ([@Sendable () -> Void], ContinuousClock.Instant?) in
                // Superseded by a ticker for an earlier deadline, which keeps all of them now.
                guard state.ticker?.generation == generation else { return ([], nil) }
                var due: [@Sendable () -> Void] = []
                var dueIds: [Int] = []
                var earliest: ContinuousClock.Instant? = nil
                for (id, entry) in state.entries {
                    if entry.deadline <= now {
                        dueIds.append(id)
                        due.append(entry.action)
                    } else {
                        earliest = min(earliest ?? entry.deadline, entry.deadline)
                    }
                }
                for id in dueIds { state.entries.removeValue(forKey: id) }
                guard let earliest else {
                    state.ticker = nil
                    return (due, nil)
                }
                let next = max(earliest, now + self.resolution)
                state.ticker = (generation, next)
                return (due, next)
            }
            for action in due { action() }
            guard let next else { return }
            wake = next
        }
    }
}

/// Which came first, the work's end or its deadline.
private final class Race: Sendable {
    enum Outcome: Int { case running, finished, expired }
    private let value = Atomic(Outcome.running.rawValue)

    /// True if this settled it.
    func settle(_ outcome: Outcome) -> Bool {
        value.compareExchange(expected: Outcome.running.rawValue, desired: outcome.rawValue, ordering: .acquiringAndReleasing).exchanged
    }

    var outcome: Outcome { Outcome(rawValue: value.load(ordering: .acquiring)) ?? .running }
}

extension Duration {
    /// Whole nanoseconds, for metrics timers and NIO's `TimeAmount`.
    public var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }

    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
