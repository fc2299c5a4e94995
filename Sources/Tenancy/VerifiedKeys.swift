import Synchronization

/// Secret keys verified in the last `lifetime`, by digest: an API request whose key was seen moments
/// ago skips the key lookup (one statement of the two or three an authenticated GET makes). The price
/// is a bounded revocation delay: a key rotated by another process keeps working here for at most
/// `lifetime` (rotation in this process clears the cache). Unknown keys are never cached.
public final class VerifiedKeys: Sendable {
    private struct Entry {
        let environment: AuthenticatedEnvironment
        let expires: ContinuousClock.Instant
    }

    private let lifetime: Duration
    private let capacity: Int
    private let entries = Mutex<[String: Entry]>([:])

    public init(lifetime: Duration, capacity: Int = 1_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    func environment(digest: String) -> AuthenticatedEnvironment? {
        entries.withLock { entries in
            guard let entry = entries[digest] else { return nil }
            guard entry.expires > .now else {
                entries[digest] = nil
                return nil
            }
            return entry.environment
        }
    }

    func remember(_ environment: AuthenticatedEnvironment, digest: String) {
        let expires = ContinuousClock.now + lifetime
        entries.withLock { entries in
            // A burst of distinct keys (many environments, or someone guessing) starts it afresh.
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[digest] = Entry(environment: environment, expires: expires)
        }
    }

    func removeAll() { entries.withLock { $0.removeAll() } }
}
