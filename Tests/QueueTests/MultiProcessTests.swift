import Foundation
import Queue
import Storage
import StorageDrivers
import Testing
import TestSupport

/// Four real worker processes share one PostgreSQL database and drain 10,000 jobs spread over 100
/// serial queues and 4 queues of limit 3: every job runs exactly once, no two jobs of a serial queue
/// overlap, and no more than 3 of a limited queue run at once.
@Suite struct MultiProcessTests {
    @Test(.enabled(if: Backend.available.contains(.postgres)))
    func fourProcessesDrainTenThousandJobs() async throws {
        let url = try await TestDatabase.freshURL(.postgres)
        let db = try await DatabaseURL(url).open(logger: TestDatabase.testLogger)
        defer { Task { await db.close() } }
        try await MigrationRunner(database: db, logger: TestDatabase.testLogger).up()
        try await db.query("""
            CREATE TABLE probe_runs (job_id BIGINT NOT NULL, queue_name TEXT, worker TEXT NOT NULL,
                                     started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ NOT NULL)
            """)
        let queue = JobQueue(database: db)
        let total = 10_000
        try await db.transaction { tx in
            let rows = (0..<total).map { n in
                let options: JobOptions = n < 8_000 ? .init(queueName: "queue-\(n % 100)") : .init(queueName: "wide-\(n % 4)", queueConcurrency: 3)
                return JobQueue.NewJob(task: "probe.record", payloadJSON: "{\"n\":\(n)}", options: options)
            }
            try await queue.enqueue(rows, in: tx)
        }
        let bench = KongflowProcess.binary(named: "kongflow-queue-bench")
        var workers: [RunningProcess] = []
        for _ in 0..<4 {
            workers.append(try KongflowProcess.start(["work", "--database-url", url, "--concurrency", "8"], binary: bench))
        }
        let drained = try await eventually(timeout: .seconds(240)) {
            try await db.queryFirst("SELECT COUNT(*) AS n FROM probe_runs")!.decode("n", as: Int.self) == total
        }
        for worker in workers {
            let status = await worker.terminate()
            let stderr = await worker.stderr.text()
            #expect(status == 0, "\(stderr)")
        }
        #expect(drained)

        let summary = try await db.queryFirst("""
            SELECT COUNT(*) AS runs, COUNT(DISTINCT job_id) AS jobs, COUNT(DISTINCT worker) AS workers FROM probe_runs
            """)!
        #expect(try summary.decode("runs", as: Int.self) == total)
        #expect(try summary.decode("jobs", as: Int.self) == total, "a job ran twice")
        #expect(try summary.decode("workers", as: Int.self) == 4, "all four processes took part")
        // Within a queue, each run ends before the next begins, and runs follow enqueue order.
        let overlaps = try await db.queryFirst("""
            SELECT COUNT(*) AS n FROM (
                SELECT started_at, LAG(finished_at) OVER (PARTITION BY queue_name ORDER BY started_at) AS previous_end,
                       job_id, LAG(job_id) OVER (PARTITION BY queue_name ORDER BY started_at) AS previous_job
                FROM probe_runs WHERE queue_name LIKE 'queue-%'
            ) runs WHERE previous_end > started_at OR previous_job > job_id
            """)!
        #expect(try overlaps.decode("n", as: Int.self) == 0)
        // For each run of a limited queue, the runs of that queue in progress when it started.
        let widest = try await db.queryFirst("""
            SELECT COALESCE(MAX(n), 0) AS n FROM (
                SELECT (SELECT COUNT(*) FROM probe_runs o WHERE o.queue_name = r.queue_name
                        AND o.started_at <= r.started_at AND o.finished_at > r.started_at) AS n
                FROM probe_runs r WHERE r.queue_name LIKE 'wide-%'
            ) x
            """)!
        #expect(try widest.decode("n", as: Int.self) <= 3)
        #expect(try await queue.jobs().isEmpty)
        #expect(try await queue.queues().allSatisfy { $0.running == 0 && $0.waiting == 0 })
    }
}
