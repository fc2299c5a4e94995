import Foundation
import Queue
import ServiceLifecycle
import Storage
import Testing
import TestSupport

/// Records what handlers did, for assertions after the fact.
actor Recorder {
    struct Run: Sendable { let id: Int64; let queue: String?; let start: ContinuousClock.Instant; let end: ContinuousClock.Instant }
    private(set) var runs: [Run] = []
    private var active: [String: Int] = [:]
    private(set) var overlaps = 0

    func begin(_ queue: String?) {
        guard let queue else { return }
        active[queue, default: 0] += 1
        if active[queue]! > 1 { overlaps += 1 }
    }

    func end(_ run: Run) {
        if let queue = run.queue { active[queue, default: 0] -= 1 }
        runs.append(run)
    }

    var count: Int { runs.count }
}

/// A gate a test opens by hand, to hold a job in the middle of running.
final class Gate: @unchecked Sendable {
    private let lock = NSLock()
    private var open = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private(set) var arrived = 0

    func wait() async {
        await withCheckedContinuation { continuation in
            let resume = lock.withLock { () -> Bool in
                arrived += 1
                if open { return true }
                waiters.append(continuation)
                return false
            }
            if resume { continuation.resume() }
        }
    }

    func release() {
        let all = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            open = true
            defer { waiters = [] }
            return waiters
        }
        all.forEach { $0.resume() }
    }

    var arrivals: Int { lock.withLock { arrived } }
}

@Suite struct WorkerTests {
    struct Payload: Codable, Sendable { let n: Int }

    static func configuration(concurrency: Int = 10) -> WorkerConfiguration {
        var configuration = WorkerConfiguration()
        configuration.concurrency = concurrency
        configuration.pollInterval = .milliseconds(200)
        configuration.shutdownGracePeriod = .seconds(10)
        return configuration
    }

    /// Runs `worker` in the background for the duration of `body`, then shuts it down gracefully.
    static func running<T>(_ worker: Worker, _ body: () async throws -> T) async throws -> T {
        let task = Task { try await worker.run() }
        do {
            let result = try await body()
            worker.shutdown()
            try await task.value
            return result
        } catch {
            task.cancel()
            _ = try? await task.value
            throw error
        }
    }

    /// No notification announces a retry: the worker that failed a job wakes for its retry itself,
    /// well before a long poll interval (what LISTEN-driven deployments use) would.
    @Test(arguments: Backend.available)
    func aFailedJobIsRetriedAtItsTimeNotAtTheNextPoll(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let queue = JobQueue(database: db)
            let attempts = Recorder()
            var registry = TaskRegistry()
            registry.register("flaky", payload: Payload.self) { _, context in
                await attempts.end(.init(id: context.job.id, queue: nil, start: .now, end: .now))
                if context.job.attempts == 1 { throw TaskError.unknownTask("first attempt fails") }
            }
            var configuration = Self.configuration()
            configuration.pollInterval = .seconds(120)
            let worker = Worker(queue: queue, registry: registry, configuration: configuration, logger: TestDatabase.testLogger)
            try await Self.running(worker) {
                let id = try await queue.enqueue("flaky", payload: Payload(n: 1))
                #expect(try await eventually(timeout: .seconds(30)) { try await queue.job(id: id) == nil }, "retried about 2.7 s after the failure")
                #expect(await attempts.count == 2)
            }
        }
    }

    @Test(arguments: Backend.available)
    func runsJobsSeriallyPerNamedQueueAndFailsUnknownOnesClearly(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let queue = JobQueue(database: db)
            let recorder = Recorder()
            var registry = TaskRegistry()
            registry.register("record", payload: Payload.self) { payload, context in
                let start = ContinuousClock.now
                await recorder.begin(context.job.queueName)
                try await Task.sleep(for: .milliseconds(payload.n % 3))
                await recorder.end(.init(id: context.job.id, queue: context.job.queueName, start: start, end: .now))
            }
            let ids = try await db.transaction { tx in
                var ids: [String: [Int64]] = [:]
                for n in 0..<60 {
                    let name = n % 10 == 9 ? nil : "q\(n % 4)"
                    let id = try await queue.enqueue("record", payload: Payload(n: n), options: .init(queueName: name), in: tx)
                    ids[name ?? "-", default: []].append(id)
                }
                return ids
            }
            let unknown = try await db.transaction { tx in try await queue.enqueue("no-such-task", payload: Payload(n: 0), options: .init(maxAttempts: 1), in: tx) }
            let garbled = try await db.transaction { tx in try await queue.enqueue("record", payloadJSON: #"{"n":"not a number"}"#, options: .init(maxAttempts: 1), in: tx) }
            let worker = Worker(queue: queue, registry: registry, configuration: Self.configuration(), logger: TestDatabase.testLogger)
            try await Self.running(worker) { () async throws -> Void in
                #expect(try await eventually { await recorder.count == 60 })
                #expect(try await eventually { try await queue.jobs(state: .dead).count == 2 })
            }
            #expect(await recorder.overlaps == 0)
            let runs = await recorder.runs
            for (name, expected) in ids where name != "-" {
                let ran = runs.filter { $0.queue == name }
                #expect(ran.map(\.id) == expected, "FIFO in \(name)")
                for (a, b) in zip(ran, ran.dropFirst()) { #expect(a.end <= b.start, "overlap in \(name)") }
            }
            #expect(try await queue.job(id: unknown)?.lastError == "Unknown task identifier 'no-such-task': no handler is registered for it")
            #expect(try await queue.job(id: garbled)?.lastError?.hasPrefix("Invalid payload for task 'record'") == true)
            #expect(try await queue.jobs().count == 2)
            #expect(try await db.query("SELECT * FROM kongflow_workers").isEmpty, "unregistered on shutdown")
        }
    }

    @Test(arguments: Backend.available)
    func failedAttemptsAreRetriedAndCommittedEnqueuesWakeTheWorker(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let queue = JobQueue(database: db)
            let attempts = Recorder()
            var registry = TaskRegistry()
            registry.register("flaky") { _, context in
                await attempts.end(.init(id: context.job.id, queue: nil, start: .now, end: .now))
                if context.job.attempts < 2 { throw NSError(domain: "test", code: 1, userInfo: [NSLocalizedDescriptionKey: "transient"]) }
            }
            var configuration = Self.configuration()
            configuration.pollInterval = .seconds(60)  // only notifications can wake it in time
            let worker = Worker(queue: queue, registry: registry, configuration: configuration, logger: TestDatabase.testLogger)
            try await Self.running(worker) { () async throws -> Void in
                let id = try await db.transaction { tx in try await queue.enqueue("flaky", payload: Payload(n: 1), in: tx) }
                #expect(try await eventually(timeout: .seconds(20)) { try await queue.job(id: id)?.lastError != nil })
                #expect(await attempts.count == 1)
                let failed = try #require(try await queue.job(id: id))
                #expect(failed.attempts == 1 && failed.lastError?.contains("transient") == true && failed.lockedAt == nil)
                // Make the retry due now instead of in e seconds. On a machine slow enough that those
                // seconds passed already, the worker's own scheduled retry got there first (once, in CI):
                // the job is then running or done, and the checks below hold all the same.
                do {
                    _ = try await queue.retry(id: id)
                } catch let error as QueueError where error == .jobIsRunning(id) || error == .jobNotFound(id) {}
                #expect(try await eventually(timeout: .seconds(20)) { try await queue.job(id: id) == nil })
                #expect(await attempts.count == 2)
            }
        }
    }

    @Test(arguments: Backend.available)
    func gracefulShutdownLetsRunningJobsFinish(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let queue = JobQueue(database: db)
            let gate = Gate()
            var registry = TaskRegistry()
            registry.register("slow") { _, _ in await gate.wait() }
            let worker = Worker(queue: queue, registry: registry, configuration: Self.configuration(concurrency: 1), logger: TestDatabase.testLogger)
            let first = try await db.transaction { tx in try await queue.enqueue("slow", payload: Payload(n: 1), in: tx) }
            let second = try await db.transaction { tx in try await queue.enqueue("slow", payload: Payload(n: 2), in: tx) }
            let task = Task { try await worker.run() }
            #expect(try await eventually { gate.arrivals == 1 })
            worker.shutdown()
            gate.release()
            try await task.value
            #expect(try await queue.job(id: first) == nil, "the running job completed")
            let waiting = try #require(try await queue.job(id: second))
            #expect(waiting.attempts == 0 && waiting.lockedAt == nil, "nothing new was claimed after shutdown began")
        }
    }

    @Test(arguments: Backend.available)
    func jobsStillRunningAfterTheGracePeriodAreCancelledAndReleased(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let queue = JobQueue(database: db)
            var registry = TaskRegistry()
            registry.register("stuck") { _, _ in try await Task.sleep(for: .seconds(3600)) }
            var configuration = Self.configuration(concurrency: 1)
            configuration.shutdownGracePeriod = .milliseconds(100)
            let worker = Worker(queue: queue, registry: registry, configuration: configuration, logger: TestDatabase.testLogger)
            let id = try await db.transaction { tx in try await queue.enqueue("stuck", payload: Payload(n: 1), in: tx) }
            let task = Task { try await worker.run() }
            #expect(try await eventually { try await queue.job(id: id)?.lockedAt != nil })
            worker.shutdown()
            try await task.value
            let released = try #require(try await queue.job(id: id))
            #expect(released.lockedAt == nil && released.lastError?.contains("shut down before the job finished") == true)
        }
    }

    @Test(arguments: Backend.available)
    func runsUnderAServiceGroupAndStopsOnGracefulShutdown(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let queue = JobQueue(database: db)
            let recorder = Recorder()
            var registry = TaskRegistry()
            registry.register("record") { _, context in await recorder.end(.init(id: context.job.id, queue: nil, start: .now, end: .now)) }
            let worker = Worker(queue: queue, registry: registry, configuration: Self.configuration(), logger: TestDatabase.testLogger)
            let group = ServiceGroup(configuration: .init(services: [worker], logger: TestDatabase.testLogger))
            let task = Task { try await group.run() }
            _ = try await db.transaction { tx in try await queue.enqueue("record", payload: Payload(n: 1), in: tx) }
            #expect(try await eventually { await recorder.count == 1 })
            await group.triggerGracefulShutdown()
            try await task.value
        }
    }
}
