import Synchronization
import Testing
import Timing

@Suite struct TimingTests {
    /// The loser of `firstOf` is left running, even one that ignores cancellation: that is what lets a
    /// bounded shutdown return while a stuck connection pool never does.
    @Test func firstOfReturnsTheWinnerWithoutWaitingForTheLoser() async {
        let parked = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let winner = await firstOf({
            // Ignores cancellation: resumed only after firstOf has returned.
            await withCheckedContinuation { continuation in parked.withLock { $0 = continuation } }
            return "stuck"
        }, { "quick" })
        #expect(winner == "quick")
        while parked.withLock({ $0 }) == nil { await Task.yield() }
        parked.withLock { $0?.resume() }
        #expect(await firstOf({ try? await Task.sleep(for: .seconds(30)); return 1 }, { 2 }) == 2)
    }

    @Test func withDeadlineThrowsWhenTheWorkIsLate() async throws {
        await #expect(throws: DeadlineExceeded.self) { try await withDeadline(.milliseconds(10)) { try await Task.sleep(for: .seconds(30)) } }
        #expect(try await withDeadline(.seconds(30)) { 7 } == 7)
    }
}
