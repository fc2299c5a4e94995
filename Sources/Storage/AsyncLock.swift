import NIOConcurrencyHelpers

/// A FIFO mutual-exclusion lock for async code. SQLite has one writer; this keeps our own
/// transactions from interleaving statements on the shared connection.
///
/// Not an actor: taking a free lock is a mutex operation in the caller's thread, without a hop to
/// another executor (an actor-based lock cost two executor switches per statement). A waiter is handed
/// the lock directly by `unlock`, in arrival order, so a stream of new arrivals cannot starve it.
public final class AsyncLock: Sendable {
    private struct State {
        var locked = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var head = 0
    }
    private let state = NIOLockedValueBox(State())

    public init() {}

    public func lock() async {
        if state.withLockedValue({ state in
            guard !state.locked else { return false }
            state.locked = true
            return true
        }) { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLockedValue { state in
                guard state.locked else {
                    state.locked = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if acquired { continuation.resume() }
        }
    }

    public func unlock() {
        let next = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            guard state.head < state.waiters.count else {
                state.locked = false
                state.waiters.removeAll(keepingCapacity: true)
                state.head = 0
                return nil
            }
            // Ownership passes to the waiter: `locked` stays true.
            let next = state.waiters[state.head]
            state.head += 1
            if state.head == state.waiters.count {
                state.waiters.removeAll(keepingCapacity: true)
                state.head = 0
            }
            return next
        }
        next?.resume()
    }
}
