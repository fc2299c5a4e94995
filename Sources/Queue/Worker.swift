import Foundation
import JSON
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import Storage
import Timing

public struct WorkerConfiguration: Sendable {
    /// Jobs run at the same time by this worker. Generous because the jobs are I/O-bound: a slot is a
    /// Swift task, and an endpoint that hangs until its timeout holds one; with a small number, a
    /// few dead endpoints would hold up every healthy one (RELIABILITY.md, endpoint faults).
    public var concurrency = 32
    /// Safety net for missed notifications (LISTEN/NOTIFY or in-process signals wake workers first).
    public var pollInterval: Duration = .seconds(1)
    public var heartbeatInterval: Duration = .seconds(5)
    /// A worker silent for this long is presumed dead and its jobs are released.
    public var heartbeatTimeout: TimeInterval = 60
    /// How often this worker looks for other workers' stalled jobs.
    public var rescueInterval: Duration = .seconds(15)
    /// On shutdown, running jobs get this long to finish before they are cancelled and released.
    public var shutdownGracePeriod: Duration = .seconds(30)

    public init() {}
}

/// Claims and runs jobs until shut down. Many workers (in one process or many) may share a
/// PostgreSQL database; they coordinate only through it.
public final class Worker: Service, Sendable {
    public let id: String
    let queue: JobQueue
    let registry: TaskRegistry
    let configuration: WorkerConfiguration
    let logger: Logger
    private let state = WorkerState()
    private let wakeups = WakeUpSignal()

    public init(queue: JobQueue, registry: TaskRegistry, configuration: WorkerConfiguration = .init(),
                id: String = "worker-\(UUID().lowercasedString.prefix(8))", logger: Logger = Logger(label: "kongflow.worker")) {
        self.id = id
        self.queue = queue
        self.registry = registry
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "worker"] = "\(id)"
        self.logger = logger
    }

    /// Runs until the task is cancelled or a graceful shutdown is requested.
    public func run() async throws {
        try await queue.registerWorker(id: id)
        let wakeups = self.wakeups
        let notifications = try await queue.database.listen(JobQueue.notificationChannel) { _ in wakeups.signal() }
        defer { notifications.cancel() }
        logger.info("worker started", metadata: ["concurrency": "\(configuration.concurrency)"])

        await withTaskGroup(of: Void.self) { background in
            background.addTask { [self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: configuration.pollInterval)
                    wakeups.signal()
                }
            }
            background.addTask { [self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: configuration.heartbeatInterval)
                    if Task.isCancelled { break }
                    do { try await queue.heartbeat(workerId: id) } catch {
                        logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
                    }
                }
            }
            background.addTask { [self] in
                while !Task.isCancelled {
                    do {
                        let released = try await queue.rescueStalledJobs(heartbeatTimeout: configuration.heartbeatTimeout)
                        if !released.isEmpty { logger.warning("released jobs of a dead worker", metadata: ["jobs": "\(released)"]) }
                    } catch {
                        logger.warning("rescue failed", metadata: ["error": "\(error)"])
                    }
                    try? await Task.sleep(for: configuration.rescueInterval)
                }
            }
            await withGracefulShutdownHandler {
                await self.loop(wakeups: wakeups)
            } onGracefulShutdown: {
                self.state.stopClaiming()
                wakeups.signal()
            }
            background.cancelAll()
        }
        do { try await queue.unregisterWorker(id: id) } catch {
            logger.warning("could not unregister worker", metadata: ["error": "\(error)"])
        }
        logger.info("worker stopped")
    }

    /// Stops claiming and lets running jobs finish (within the grace period). For use outside a
    /// ServiceGroup; inside one, a graceful shutdown does the same.
    public func shutdown() {
        state.stopClaiming()
        wakeups.signal()
    }

    private func loop(wakeups: WakeUpSignal) async {
        await withDiscardingTaskGroup { running in
            var shutdownDeadline: ContinuousClock.Instant? = nil
            while true {
                await flush()
                if Task.isCancelled { state.stopClaiming() }
                if !state.claiming {
                    let deadline = shutdownDeadline ?? .now + configuration.shutdownGracePeriod
                    shutdownDeadline = deadline
                    if state.running == 0 { break }
                    if ContinuousClock.now >= deadline {
                        logger.warning("grace period over; cancelling running jobs", metadata: ["running": "\(state.running)"])
                        running.cancelAll()
                        break
                    }
                    await wakeups.wait(timeout: .milliseconds(100))
                    continue
                }
                let free = configuration.concurrency - state.running
                if free > 0 {
                    let claimed: [Job]
                    do {
                        state.claimStarted(at: queue.currentTime)
                        claimed = try await queue.claim(workerId: id, limit: free)
                    } catch {
                        logger.error("claim failed", metadata: ["error": "\(error)"])
                        await wakeups.wait(timeout: configuration.pollInterval)
                        continue
                    }
                    for job in claimed {
                        state.started()
                        running.addTask { [self] in
                            let outcome = await self.execute(job)
                            self.state.finished(job, outcome)
                            wakeups.signal()
                        }
                    }
                }
                // A claim returns every runnable job it may take, so the next useful moment is a
                // finished job, a notification, a retry this worker scheduled, or the poll interval.
                await wakeups.wait(timeout: nextWait())
            }
        }
        // Cancelled jobs have reported by now.
        await flush()
    }

    private func execute(_ job: Job) async -> String? {
        var logger = self.logger
        logger.handler.metadata.merge(["job": "\(job.id)", "task": "\(job.taskIdentifier)"]) { $1 }
        guard let handler = registry.handler(for: job.taskIdentifier) else {
            return TaskError.unknownTask(job.taskIdentifier).description
        }
        do {
            try await handler(job.payload, JobContext(job: job, workerId: id, logger: logger))
            return nil
        } catch is CancellationError {
            return "worker \(id) shut down before the job finished"
        } catch {
            logger.warning("job failed", metadata: ["attempt": "\(job.attempts)", "error": "\(error)"])
            return "\(error)"
        }
    }

    /// The poll interval, or less when a job this worker failed is due for its retry sooner: no
    /// notification announces a retry, and with a long poll interval (LISTEN doing the waking) a
    /// retry 3 s away would otherwise wait for the next poll.
    private func nextWait() -> Duration {
        guard let retry = state.nextRetry() else { return configuration.pollInterval }
        // A little after the retry's time, so that the claim finds it runnable.
        return min(configuration.pollInterval, .milliseconds(max(1, Int64(queue.interval(until: retry) * 1000) + 5)))
    }

    private func flush() async {
        let (completed, failed) = state.takeFinished()
        guard !completed.isEmpty || !failed.isEmpty else { return }
        do {
            state.retries(at: try await queue.finish(workerId: id, completed: completed, failed: failed))
        } catch {
            // The jobs stay locked by us; the next flush tries again, and if this process dies the
            // rescuer releases them.
            logger.error("could not record finished jobs", metadata: ["error": "\(error)"])
            state.putBack(completed: completed, failed: failed)
            try? await Task.sleep(for: .milliseconds(200))
        }
    }
}

/// Worker bookkeeping shared between the loop and the job tasks.
final class WorkerState: Sendable {
    private struct State {
        var claiming = true
        var running = 0
        var completed: [Job] = []
        var failed: [JobQueue.Failure] = []
        /// Retry times of jobs this worker failed, earliest first (at most 1,000 kept; later ones wait for a poll).
        var retries: [Date] = []
        /// When the last claim began: retries due by then were runnable for it.
        var lastClaim: Date?
    }

    private let state = NIOLockedValueBox(State())

    var claiming: Bool { state.withLockedValue { $0.claiming } }
    var running: Int { state.withLockedValue { $0.running } }

    func stopClaiming() { state.withLockedValue { $0.claiming = false } }

    func retries(at dates: [Date]) {
        guard !dates.isEmpty else { return }
        state.withLockedValue { $0.retries = Array(($0.retries + dates).sorted().prefix(1000)) }
    }

    func claimStarted(at date: Date) { state.withLockedValue { $0.lastClaim = date } }

    /// The earliest retry that the last claim could not take yet.
    func nextRetry() -> Date? {
        state.withLockedValue { state in
            if let lastClaim = state.lastClaim { state.retries.removeAll { $0 <= lastClaim } }
            return state.retries.first
        }
    }
    func started() { state.withLockedValue { $0.running += 1 } }

    func finished(_ job: Job, _ error: String?) {
        state.withLockedValue {
            $0.running -= 1
            if let error { $0.failed.append(.init(job: job, error: error)) } else { $0.completed.append(job) }
        }
    }

    func takeFinished() -> ([Job], [JobQueue.Failure]) {
        state.withLockedValue { state in
            defer { state.completed = []; state.failed = [] }
            return (state.completed, state.failed)
        }
    }

    func putBack(completed: [Job], failed: [JobQueue.Failure]) {
        state.withLockedValue {
            $0.completed.append(contentsOf: completed)
            $0.failed.append(contentsOf: failed)
        }
    }
}

/// A level-triggered wake-up: `signal()` before `wait()` is not lost.
final class WakeUpSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = NIOLockedValueBox(State())
    /// A worker waits after every claim; a sleeping task per wait left a timer behind each time (`DeadlineWatch`).
    private let timeouts = DeadlineWatch()

    func signal() {
        let continuation: CheckedContinuation<Void, Never>? = state.withLockedValue {
            if let waiter = $0.waiter { $0.waiter = nil; return waiter }
            $0.pending = true
            return nil
        }
        continuation?.resume()
    }

    /// Returns at the next signal (or at once if one is pending), or after `timeout`.
    func wait(timeout: Duration) async {
        let alreadySignalled = state.withLockedValue { state -> Bool in
            if state.pending { state.pending = false; return true }
            return false
        }
        if alreadySignalled { return }
        let timer = timeouts.schedule(in: timeout) { [weak self] in self?.signal() }
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLockedValue { state -> Bool in
                if state.pending { state.pending = false; return true }
                state.waiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
        timeouts.cancel(timer)
        state.withLockedValue { $0.pending = false }
    }
}
