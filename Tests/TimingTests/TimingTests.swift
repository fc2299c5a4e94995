import Synchronization
import Testing
import Timing

@Suite struct TimingTests {
    @Test func withDeadlineThrowsWhenTheWorkIsLate() async throws {
        let watch = DeadlineWatch()
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(10), watch: watch) { try await Task.sleep(for: .seconds(30)) }
        }
        #expect(try await withDeadline(.seconds(30), watch: watch) { 7 } == 7)
        // Nothing outlives a call: the 30 s deadline was cleared when the work answered.
        #expect(watch.pending == 0)
    }

    struct Refused: Error {}

    @Test func withDeadlinePassesTheWorksErrorAndTheCallersCancellation() async throws {
        let watch = DeadlineWatch()
        await #expect(throws: Refused.self) { try await withDeadline(.seconds(30), watch: watch) { throw Refused() } }
        // The caller cancelled: the work is cancelled too, and that is not a timeout.
        let started = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let caller = Task {
            try await withDeadline(.seconds(30), watch: watch) {
                started.withLock { $0?.resume(); $0 = nil }
                try await Task.sleep(for: .seconds(30))
            }
        }
        await withCheckedContinuation { continuation in
            started.withLock { $0 = continuation }
        }
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        #expect(watch.pending == 0)
    }

    /// A deadline set after a later one still fires at its time (a new ticker takes over), and a
    /// cancelled one never fires.
    @Test func deadlinesFireInTimeAndCancelledOnesNever() async {
        let watch = DeadlineWatch()
        let fired = Mutex<[String]>([])
        let far = watch.schedule(in: .seconds(60)) { fired.withLock { $0.append("far") } }
        let cancelled = watch.schedule(in: .milliseconds(20)) { fired.withLock { $0.append("cancelled") } }
        watch.cancel(cancelled)
        let start = ContinuousClock.now
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            watch.schedule(in: .milliseconds(40)) {
                fired.withLock { $0.append("near") }
                continuation.resume()
            }
        }
        // Had the 60 s deadline's ticker kept the watch alone, "near" would have waited a minute.
        #expect(ContinuousClock.now - start < .seconds(30))
        #expect(fired.withLock { $0 } == ["near"])
        #expect(watch.pending == 1)
        watch.cancel(far)
        #expect(watch.pending == 0)
    }
}
