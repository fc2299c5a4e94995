import ArgumentParser
import Foundation
import Logging
import Queue
import ServiceLifecycle
import Storage
import StorageDrivers

/// Drives the job queue from outside: worker processes for the multi-process test, and the queue
/// benchmark (see BENCHMARKS.md).
@main
struct QueueBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kongflow-queue-bench",
        abstract: "Queue benchmark and multi-process probe.",
        subcommands: [Work.self, Bench.self])

    static func logger() -> Logger {
        var logger = Logger(label: "queue-bench")
        logger.logLevel = .warning
        return logger
    }

    /// A worker process whose `probe.record` task writes each run to `probe_runs`.
    struct Work: AsyncParsableCommand {
        @Option var databaseURL: String
        @Option var concurrency = 10

        func run() async throws {
            LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
            let logger = QueueBench.logger()
            let db = try await DatabaseURL(databaseURL).open(logger: logger)
            let queue = JobQueue(database: db)
            var registry = TaskRegistry()
            registry.register("probe.noop") { _, _ in }
            registry.register("probe.record") { _, context in
                let started = Date()
                try await Task.sleep(for: .microseconds(Int.random(in: 0...300)))
                try await db.query("""
                    INSERT INTO probe_runs (job_id, queue_name, worker, started_at, finished_at)
                    VALUES (\(context.job.id), \(context.job.queueName), \(context.workerId), \(started), \(Date()))
                    """)
            }
            var configuration = WorkerConfiguration()
            configuration.concurrency = concurrency
            let worker = Worker(queue: queue, registry: registry, configuration: configuration, logger: logger)
            FileHandle.standardError.write(Data("worker \(worker.id) ready\n".utf8))
            let group = ServiceGroup(configuration: .init(services: [worker], gracefulShutdownSignals: [.sigterm], logger: logger))
            try await group.run()
            await db.close()
        }
    }

    struct Bench: AsyncParsableCommand {
        @Option var databaseURL: String
        @Option(help: "Jobs for the throughput run.") var jobs = 10_000
        @Option(help: "Single enqueues to time.") var singles = 2_000
        @Option(help: "Latency samples.") var samples = 300
        @Option var concurrency = 100

        func run() async throws {
            let logger = QueueBench.logger()
            let db = try await DatabaseURL(databaseURL).open(logger: logger)
            try await MigrationRunner(database: db, logger: logger).up()
            let queue = JobQueue(database: db)
            try await db.query("DELETE FROM kongflow_jobs")
            try await db.query("DELETE FROM kongflow_job_queues")

            // 1. Single enqueues, each committed on its own (graphile's add_job; pgqueuer's enqueue),
            //    and the same inside a caller's transaction (BEGIN, insert, COMMIT).
            var start = ContinuousClock.now
            for n in 0..<singles {
                try await queue.enqueue("probe.noop", payload: ["n": n])
            }
            let singleRate = Double(singles) / seconds(ContinuousClock.now - start)
            start = ContinuousClock.now
            for n in 0..<singles {
                try await db.transaction { tx in try await queue.enqueue("probe.noop", payload: ["n": n], in: tx) }
            }
            let singleInTransactionRate = Double(singles) / seconds(ContinuousClock.now - start)
            try await db.query("DELETE FROM kongflow_jobs")
            try await db.query("DELETE FROM kongflow_job_queues")
            // A running server has named queues whose jobs are done (an endpoint's `endpoint-<id>`, an
            // environment's runs): their rows stay, and every claim looks at them.
            for name in ["endpoint-bench", "runs-bench"] {
                try await queue.enqueue("probe.noop", payload: ["queue": name], options: JobOptions(queueName: name, queueConcurrency: 1))
            }
            _ = try await queue.finish(workerId: "bench-setup", completed: try await queue.claim(workerId: "bench-setup", limit: 2), failed: [])
            // And jobs that ran out of attempts, kept for inspection.
            let failing = try (0..<2000).map { try JobQueue.NewJob(task: "probe.fails", payload: ["n": $0], options: JobOptions(maxAttempts: 1)) }
            try await db.transaction { tx in _ = try await queue.enqueue(failing, in: tx) }
            let dead = try await queue.claim(workerId: "bench-setup", limit: failing.count)
            _ = try await queue.finish(workerId: "bench-setup", completed: [], failed: dead.map { JobQueue.Failure(job: $0, error: "boom") })

            // 2. Batch enqueue: `jobs` jobs, 1,000 per transaction through the bulk API (graphile's add_jobs).
            start = ContinuousClock.now
            for batch in stride(from: 0, to: jobs, by: 1000) {
                let newJobs = try (batch..<min(batch + 1000, jobs)).map { try JobQueue.NewJob(task: "probe.noop", payload: ["n": $0]) }
                try await db.transaction { tx in try await queue.enqueue(newJobs, in: tx) }
            }
            let batchRate = Double(jobs) / seconds(ContinuousClock.now - start)

            // Every runnable job's completion is recorded (the dead ones stay, and so do jobs due later).
            func untilDrained() async throws {
                while try await (db.queryFirst("SELECT COUNT(*) AS n FROM kongflow_jobs WHERE attempts < max_attempts AND run_at <= \(Date())")?
                    .decode("n", as: Int.self) ?? 0) > 0 {
                    try await Task.sleep(for: .milliseconds(1))
                }
            }

            // 3. Processing throughput: one worker drains them.
            let done = Counter()
            var registry = TaskRegistry()
            registry.register("probe.noop") { _, _ in done.increment() }
            var configuration = WorkerConfiguration()
            configuration.concurrency = concurrency
            configuration.pollInterval = .milliseconds(500)
            let worker = Worker(queue: queue, registry: registry, configuration: configuration, logger: logger)
            start = ContinuousClock.now
            let workerTask = Task { try await worker.run() }
            // Every job ran (counted in memory: a COUNT(*) every 5 ms scanned the table while the worker
            // drained it, a fifth of the server's CPU at 10,000 jobs), then every completion is recorded.
            while done.value < jobs { try await Task.sleep(for: .milliseconds(1)) }
            try await untilDrained()
            let throughput = Double(jobs) / seconds(ContinuousClock.now - start)

            // 3b. One named queue of concurrency 10 with a backlog (a job whose runs queue up behind
            //     its concurrency limit): half as many jobs again, enqueued in bulk while the worker runs.
            let deep = jobs / 2
            start = ContinuousClock.now
            for batch in stride(from: 0, to: deep, by: 1000) {
                let newJobs = try (batch..<min(batch + 1000, deep)).map {
                    try JobQueue.NewJob(task: "probe.noop", payload: ["n": $0], options: JobOptions(queueName: "runs-deep", queueConcurrency: 10))
                }
                try await db.transaction { tx in try await queue.enqueue(newJobs, in: tx) }
            }
            while done.value < jobs + deep { try await Task.sleep(for: .milliseconds(1)) }
            try await untilDrained()
            let namedQueueThroughput = Double(deep) / seconds(ContinuousClock.now - start)

            // 4. Enqueue-to-start latency on an idle queue.
            let starts = Starts()
            var latencyRegistry = TaskRegistry()
            latencyRegistry.register("probe.latency") { _, context in await starts.record(context.job.id) }
            latencyRegistry.register("probe.noop") { _, _ in done.increment() }
            worker.shutdown()
            try await workerTask.value
            let latencyWorker = Worker(queue: queue, registry: latencyRegistry, configuration: configuration, logger: logger)
            let latencyTask = Task { try await latencyWorker.run() }
            try await Task.sleep(for: .milliseconds(300))
            struct Latencies { var enqueued: [Double] = [], afterCommit: [Double] = [], inTransaction: [Double] = [] }
            func sampleLatencies() async throws -> Latencies {
                var sampled = Latencies()
                for _ in 0..<samples {
                    let enqueued = ContinuousClock.now
                    let id = try await queue.enqueue("probe.latency", payload: ["x": 1])
                    let committed = ContinuousClock.now
                    let started = await starts.wait(for: id)
                    sampled.enqueued.append(seconds(started - enqueued) * 1000)
                    sampled.afterCommit.append(seconds(started - committed) * 1000)
                    let enqueuedInTransaction = ContinuousClock.now
                    let idInTransaction = try await db.transaction { tx in try await queue.enqueue("probe.latency", payload: ["x": 1], in: tx) }
                    sampled.inTransaction.append(seconds(await starts.wait(for: idInTransaction) - enqueuedInTransaction) * 1000)
                    try await Task.sleep(for: .milliseconds(5))
                }
                sampled.enqueued.sort()
                sampled.afterCommit.sort()
                sampled.inTransaction.sort()
                return sampled
            }
            let idle = try await sampleLatencies()

            // 5. The same with jobs due in an hour waiting beside them, as a server has them (runs' waits,
            //    scheduled events, retries' backoffs): `jobs` of them, half of no queue and half in a runs
            //    queue. Latency again, then `jobs` free jobs drained.
            for batch in stride(from: 0, to: jobs, by: 1000) {
                let later = try (batch..<min(batch + 1000, jobs)).map {
                    try JobQueue.NewJob(task: "probe.noop", payload: ["n": $0], options: JobOptions(
                        queueName: $0.isMultiple(of: 2) ? nil : "runs-waiting", queueConcurrency: 10, runAt: Date().addingTimeInterval(3600)))
                }
                try await db.transaction { tx in try await queue.enqueue(later, in: tx) }
            }
            let withLater = try await sampleLatencies()
            let drained = done.value
            start = ContinuousClock.now
            for batch in stride(from: 0, to: jobs, by: 1000) {
                let newJobs = try (batch..<min(batch + 1000, jobs)).map { try JobQueue.NewJob(task: "probe.noop", payload: ["n": $0]) }
                try await db.transaction { tx in try await queue.enqueue(newJobs, in: tx) }
            }
            while done.value < drained + jobs { try await Task.sleep(for: .milliseconds(1)) }
            try await untilDrained()
            let throughputWithLater = Double(jobs) / seconds(ContinuousClock.now - start)
            latencyWorker.shutdown()
            try await latencyTask.value
            let latencies = idle.enqueued
            let result: [String: Double] = [
                "single_enqueue_per_s": singleRate,
                "batch_enqueue_per_s": batchRate,
                "throughput_jobs_per_s": throughput,
                "named_queue_throughput_jobs_per_s": namedQueueThroughput,
                "latency_p50_ms": latencies[latencies.count / 2],
                "latency_p99_ms": latencies[min(latencies.count - 1, Int(Double(latencies.count) * 0.99))],
                "latency_after_commit_p50_ms": idle.afterCommit[idle.afterCommit.count / 2],
                "single_enqueue_in_transaction_per_s": singleInTransactionRate,
                "latency_in_transaction_p50_ms": idle.inTransaction[idle.inTransaction.count / 2],
                "latency_with_later_jobs_p50_ms": withLater.enqueued[withLater.enqueued.count / 2],
                "throughput_with_later_jobs_per_s": throughputWithLater,
            ]
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
            await db.close()
        }
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

actor Starts {
    private var seen: [Int64: ContinuousClock.Instant] = [:]
    private var waiters: [Int64: CheckedContinuation<ContinuousClock.Instant, Never>] = [:]

    func record(_ id: Int64) {
        let now = ContinuousClock.now
        if let waiter = waiters.removeValue(forKey: id) { waiter.resume(returning: now) } else { seen[id] = now }
    }

    func wait(for id: Int64) async -> ContinuousClock.Instant {
        if let instant = seen.removeValue(forKey: id) { return instant }
        return await withCheckedContinuation { waiters[id] = $0 }
    }
}
