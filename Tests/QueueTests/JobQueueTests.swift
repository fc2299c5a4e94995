import Foundation
import Queue
import Storage
import Testing
import TestSupport

/// The queue contract on both backends, with a hand-moved clock.
@Suite struct JobQueueTests {
    struct Payload: Codable, Sendable, Equatable { let n: Int }

    func enqueue(_ queue: JobQueue, _ task: String = "t", _ n: Int = 0, _ options: JobOptions = .init()) async throws -> Int64 {
        try await queue.database.transaction { tx in
            try await queue.enqueue(task, payload: Payload(n: n), options: options, in: tx)
        }
    }

    @Test(arguments: Backend.available)
    func standaloneEnqueueCommitsAtOnceAndKeepsTheQueueBookkeeping(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let queue = JobQueue(database: db)
            let a = try await queue.enqueue("t", payload: Payload(n: 1), options: JobOptions(queueName: "serial"))
            let b = try await queue.enqueue("t", payload: Payload(n: 2), options: JobOptions(queueName: "serial"))
            let keyed = try await queue.enqueue("t", payload: Payload(n: 3), options: JobOptions(jobKey: "k"))
            let again = try await queue.enqueue("t", payload: Payload(n: 4), options: JobOptions(jobKey: "k"))
            #expect(keyed == again, "a job key still replaces")
            #expect(try await queue.queues() == [QueueSummary(name: "serial", concurrency: 1, running: 0, waiting: 2, dead: 0)])
            let first = try await queue.claim(workerId: "w", limit: 10)
            #expect(Set(first.map(\.id)) == [a, keyed], "one job of the serial queue at a time")
            let replaced = try #require(first.first { $0.id == keyed })
            #expect(try JSONDecoder().decode(Payload.self, from: Data(replaced.payload.utf8)) == Payload(n: 4))
            try await queue.finish(workerId: "w", completed: first, failed: [])
            #expect(try await queue.claim(workerId: "w", limit: 10).map(\.id) == [b])
        }
    }

    @Test(arguments: Backend.available)
    func enqueueJoinsTheCallersTransaction(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let queue = JobQueue(database: db)
            struct Boom: Error {}
            await #expect(throws: Boom.self) {
                try await db.transaction { tx in
                    try await queue.enqueue("t", payload: Payload(n: 1), options: .init(queueName: "q"), in: tx)
                    throw Boom()
                }
            }
            #expect(try await queue.jobs().isEmpty)
            #expect(try await db.query("SELECT * FROM kongflow_job_queues").isEmpty)
            if backend == .postgres {
                // Not visible to others before commit.
                try await db.transaction { tx in
                    try await queue.enqueue("t", payload: Payload(n: 2), in: tx)
                    #expect(try await queue.jobs().isEmpty)
                }
            } else {
                _ = try await enqueue(queue, "t", 2)
            }
            let jobs = try await queue.jobs()
            #expect(jobs.count == 1)
            #expect(try JSONDecoder().decode(Payload.self, from: Data(jobs[0].payload.utf8)) == Payload(n: 2))
            #expect(jobs[0].maxAttempts == 25 && jobs[0].attempts == 0 && jobs[0].priority == 0)
        }
    }

    @Test(arguments: Backend.available)
    func claimsInPriorityRunAtIdOrder(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let clock = TestClock()
            let queue = JobQueue(database: db, now: clock.function)
            let low = try await enqueue(queue, "t", 1, .init(priority: 5))
            let first = try await enqueue(queue, "t", 2)
            let second = try await enqueue(queue, "t", 3)
            let urgent = try await enqueue(queue, "t", 4, .init(priority: -1))
            let later = try await enqueue(queue, "t", 5, .init(runAt: clock.now.addingTimeInterval(60)))
            let earlier = try await enqueue(queue, "t", 6, .init(runAt: clock.now.addingTimeInterval(-60)))
            let claimed = try await queue.claim(workerId: "w", limit: 10)
            #expect(claimed.map(\.id) == [urgent, earlier, first, second, low])
            #expect(claimed.allSatisfy { $0.attempts == 1 && $0.lockedBy == "w" })
            #expect(try await queue.claim(workerId: "w", limit: 10).isEmpty)
            clock.advance(by: 61)
            #expect(try await queue.claim(workerId: "w", limit: 10).map(\.id) == [later])
            // Limits are honoured.
            for n in 0..<5 { _ = try await enqueue(queue, "t", n) }
            #expect(try await queue.claim(workerId: "w", limit: 2).count == 2)
            #expect(try await queue.claim(workerId: "w", limit: 0).isEmpty)
        }
    }

    @Test(arguments: Backend.available)
    func namedQueuesRunOneJobAtATimeInOrder(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let queue = JobQueue(database: db)
            let a1 = try await enqueue(queue, "t", 1, .init(queueName: "a"))
            let a2 = try await enqueue(queue, "t", 2, .init(queueName: "a"))
            let b1 = try await enqueue(queue, "t", 3, .init(queueName: "b"))
            let free = try await enqueue(queue, "t", 4)
            let a3 = try await enqueue(queue, "t", 5, .init(queueName: "a"))
            let first = try await queue.claim(workerId: "w1", limit: 10)
            #expect(Set(first.map(\.id)) == [a1, b1, free])
            // Another worker gets nothing from a queue whose job is running.
            #expect(try await queue.claim(workerId: "w2", limit: 10).isEmpty)
            try await queue.finish(workerId: "w1", completed: first.filter { $0.id == a1 }, failed: [])
            let next = try await queue.claim(workerId: "w2", limit: 10)
            #expect(next.map(\.id) == [a2])
            // A failure unlocks the queue too; the failed job waits for its retry and a3 may overtake it.
            try await queue.finish(workerId: "w2", completed: [], failed: [.init(job: next[0], error: "boom")])
            #expect(try await queue.claim(workerId: "w2", limit: 10).map(\.id) == [a3])
            #expect(try await queue.queues().first { $0.name == "a" } == QueueSummary(name: "a", concurrency: 1, running: 1, waiting: 1, dead: 0))
            try await queue.finish(workerId: "w1", completed: first.filter { $0.id != a1 }, failed: [])
            #expect(try await queue.queues().first { $0.name == "b" } == QueueSummary(name: "b", concurrency: 1, running: 0, waiting: 0, dead: 0))
        }
    }

    @Test(arguments: Backend.available)
    func failuresBackOffOnGraphilesCurveThenDie(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let clock = TestClock()
            let queue = JobQueue(database: db, now: clock.function)
            let id = try await enqueue(queue, "t", 1, .init(maxAttempts: 3))
            var job = try #require(try await queue.claim(workerId: "w", limit: 1).first)
            try await queue.finish(workerId: "w", completed: [], failed: [.init(job: job, error: "first failure")])
            var stored = try #require(try await queue.job(id: id))
            #expect(abs(stored.runAt.timeIntervalSince(clock.now) - exp(1)) < 0.001)
            #expect(stored.lastError == "first failure" && stored.state(now: clock.now) == .retryable)
            #expect(try await queue.claim(workerId: "w", limit: 1).isEmpty)
            clock.advance(by: 2.7)
            #expect(try await queue.claim(workerId: "w", limit: 1).isEmpty)
            clock.advance(by: 0.1)
            job = try #require(try await queue.claim(workerId: "w", limit: 1).first)
            #expect(job.attempts == 2)
            try await queue.finish(workerId: "w", completed: [], failed: [.init(job: job, error: "second failure")])
            stored = try #require(try await queue.job(id: id))
            #expect(abs(stored.runAt.timeIntervalSince(clock.now) - exp(2)) < 0.001)
            clock.advance(by: 8)
            job = try #require(try await queue.claim(workerId: "w", limit: 1).first)
            try await queue.finish(workerId: "w", completed: [], failed: [.init(job: job, error: "third failure")])
            stored = try #require(try await queue.job(id: id))
            #expect(stored.state(now: clock.now) == .dead && stored.attempts == 3 && stored.lastError == "third failure")
            clock.advance(by: 1_000_000)
            #expect(try await queue.claim(workerId: "w", limit: 1).isEmpty)
            #expect(try await queue.counts()[.dead] == 1)
            #expect(try await queue.jobs(state: .dead).map(\.id) == [id])
            // Retrying a dead job gives it one more attempt, now.
            let retried = try await queue.retry(id: id)
            #expect(retried.maxAttempts == 4 && retried.state(now: clock.now) == .available)
            #expect(try await queue.claim(workerId: "w", limit: 1).map(\.id) == [id])
            await #expect(throws: QueueError.jobIsRunning(id)) { try await queue.retry(id: id) }
            await #expect(throws: QueueError.jobIsRunning(id)) { try await queue.delete(id: id) }
            await #expect(throws: QueueError.jobNotFound(999_999)) { try await queue.retry(id: 999_999) }
            #expect(JobQueue.retryDelay(attempts: 25) == exp(10))
        }
    }

    @Test(arguments: Backend.available)
    func jobKeyModes(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let clock = TestClock()
            let queue = JobQueue(database: db, now: clock.function)
            let soon = clock.now.addingTimeInterval(10), later = clock.now.addingTimeInterval(100)
            // replace: updates the waiting job in place.
            let id = try await enqueue(queue, "t", 1, .init(runAt: soon, jobKey: "k"))
            #expect(try await enqueue(queue, "t", 2, .init(queueName: "q", runAt: later, jobKey: "k")) == id)
            var job = try #require(try await queue.job(id: id))
            #expect(job.payload.contains("2") && job.runAt == later && job.revision == 1 && job.queueName == "q")
            #expect(try await queue.queues().map(\.name) == ["q"])
            // preserve_run_at: keeps run_at of a job not yet attempted.
            #expect(try await enqueue(queue, "t", 3, .init(runAt: soon, jobKey: "k", jobKeyMode: .preserveRunAt)) == id)
            job = try #require(try await queue.job(id: id))
            #expect(job.payload.contains("3") && job.runAt == later && job.queueName == nil)
            #expect(try await queue.queues().map(\.waiting) == [0], "the job left queue q")
            // unsafe_dedupe: leaves the existing job alone.
            #expect(try await enqueue(queue, "t", 4, .init(runAt: soon, jobKey: "k", jobKeyMode: .unsafeDedupe)) == id)
            job = try #require(try await queue.job(id: id))
            #expect(job.payload.contains("3") && job.revision == 2)
            // replace while running: the running job keeps going without retries; a new job takes the key.
            clock.advance(by: 200)
            let running = try #require(try await queue.claim(workerId: "w", limit: 1).first)
            let newId = try await enqueue(queue, "t", 5, .init(jobKey: "k"))
            #expect(newId != id)
            job = try #require(try await queue.job(id: id))
            #expect(job.key == nil && job.maxAttempts == job.attempts)
            try await queue.finish(workerId: "w", completed: [], failed: [.init(job: running, error: "x")])
            #expect(try await queue.job(id: id)?.state(now: clock.now) == .dead)
            #expect(try await queue.job(id: newId)?.key == "k")
        }
    }

    @Test(arguments: Backend.available)
    func callerOptionsWinOverTaskDefaults(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let queue = JobQueue(database: db, taskDefaults: ["t": JobOptions(queueName: "defaults", maxAttempts: 3, priority: 9)])
            let a = try await enqueue(queue, "t", 1, .init(maxAttempts: 7, priority: 1))
            let b = try await enqueue(queue, "t", 2, .init(queueName: "mine"))
            let jobA = try #require(try await queue.job(id: a)), jobB = try #require(try await queue.job(id: b))
            #expect(jobA.maxAttempts == 7 && jobA.priority == 1 && jobA.queueName == "defaults")
            #expect(jobB.maxAttempts == 3 && jobB.priority == 9 && jobB.queueName == "mine")
            await #expect(throws: QueueError.self) { _ = try await enqueue(queue, "t", 3, .init(maxAttempts: 0)) }
            await #expect(throws: QueueError.self) { _ = try await enqueue(queue, String(repeating: "x", count: 200), 3) }
        }
    }

    @Test(arguments: Backend.available)
    func stalledJobsOfDeadWorkersAreReleased(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let clock = TestClock()
            let queue = JobQueue(database: db, now: clock.function)
            try await queue.registerWorker(id: "dead")
            try await queue.registerWorker(id: "alive")
            let stuck = try await enqueue(queue, "t", 1, .init(queueName: "q"))
            let busy = try await enqueue(queue, "t", 2)
            _ = try await queue.claim(workerId: "dead", limit: 1)
            _ = try await queue.claim(workerId: "alive", limit: 1)
            clock.advance(by: 30)
            #expect(try await queue.rescueStalledJobs(heartbeatTimeout: 60).isEmpty)
            clock.advance(by: 31)
            try await queue.heartbeat(workerId: "alive")
            // The live worker's long-running job stays with it; the silent worker's job is released.
            #expect(try await queue.rescueStalledJobs(heartbeatTimeout: 60) == [stuck])
            let released = try #require(try await queue.job(id: stuck))
            #expect(released.lockedBy == nil && released.lastError?.contains("worker dead stopped heartbeating") == true)
            #expect(try await queue.job(id: busy)?.lockedBy == "alive")
            // Its queue is free again, and the job runs elsewhere with its attempt counted.
            let again = try await queue.claim(workerId: "alive", limit: 5)
            #expect(again.map(\.id) == [stuck] && again[0].attempts == 2)
            // A job whose last attempt died with its worker still gets one more.
            let last = try await enqueue(queue, "t", 3, .init(maxAttempts: 1))
            try await queue.registerWorker(id: "doomed")
            _ = try await queue.claim(workerId: "doomed", limit: 1)
            clock.advance(by: 120)
            try await queue.heartbeat(workerId: "alive")
            #expect(try await queue.rescueStalledJobs(heartbeatTimeout: 60) == [last])
            #expect(try await queue.job(id: last)?.state(now: clock.now) == .available)
            // A late finish from the dead worker changes nothing.
            try await queue.finish(workerId: "dead", completed: [released], failed: [])
            #expect(try await queue.job(id: stuck)?.lockedBy == "alive")
            // A worker that was declared dead re-registers on its next heartbeat.
            try await queue.heartbeat(workerId: "dead")
            #expect(try await db.query("SELECT id FROM kongflow_workers ORDER BY id").map { try $0.decode("id", as: String.self) } == ["alive", "dead"])
            try await queue.unregisterWorker(id: "dead")
        }
    }

    @Test(arguments: Backend.available)
    func listingCountingAndDeleting(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let clock = TestClock()
            let queue = JobQueue(database: db, now: clock.function)
            let a = try await enqueue(queue, "t", 1, .init(queueName: "q"))
            let b = try await enqueue(queue, "t", 2, .init(runAt: clock.now.addingTimeInterval(99)))
            let c = try await enqueue(queue, "t", 3)
            _ = try await queue.claim(workerId: "w", limit: 1)
            let counts = try await queue.counts()
            #expect(counts == [.running: 1, .scheduled: 1, .available: 1, .dead: 0, .retryable: 0])
            #expect(try await queue.jobs(queueName: "q").map(\.id) == [a])
            #expect(try await queue.jobs(state: .scheduled).map(\.id) == [b])
            #expect(try await queue.jobs(state: .available).map(\.id) == [c])
            #expect(try await queue.jobs(state: .running).map(\.id) == [a])
            #expect(try await queue.jobs(state: .retryable).isEmpty)
            try await queue.delete(id: b)
            #expect(try await queue.job(id: b) == nil)
            await #expect(throws: QueueError.jobNotFound(b)) { try await queue.delete(id: b) }
        }
    }
    /// A scope (an environment) sees, counts and retries its own jobs only, also through a keyed replace.
    @Test(arguments: Backend.available)
    func scopesSeeCountAndRetryTheirOwnJobs(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let clock = TestClock()
            let queue = JobQueue(database: db, now: clock.function)
            let dead = try await enqueue(queue, "t", 1, .init(queueName: "q", maxAttempts: 1, scope: "a"))
            _ = try await enqueue(queue, "t", 2, .init(scope: "a"))
            let other = try await enqueue(queue, "t", 3, .init(maxAttempts: 1, scope: "b"))
            _ = try await enqueue(queue, "t", 4)
            let keyed = try await enqueue(queue, "t", 5, .init(jobKey: "k", scope: "b"))
            #expect(try await enqueue(queue, "t", 6, .init(jobKey: "k", scope: "a")) == keyed)
            #expect(try await queue.job(id: keyed)?.scope == "a", "a keyed replace takes the new job's scope")
            let claimed = try await queue.claim(workerId: "w", limit: 10)
            try await queue.finish(workerId: "w", completed: [], failed: claimed.filter { [dead, other].contains($0.id) }.map { .init(job: $0, error: "boom") })
            try await queue.finish(workerId: "w", completed: claimed.filter { ![dead, other].contains($0.id) }, failed: [])
            let later = try await enqueue(queue, "t", 7, .init(scope: "a"))

            #expect(try await queue.jobs(scope: "a").map(\.id) == [dead, later])
            #expect(try await queue.jobs(scope: "a", limit: 1, newestFirst: true).map(\.id) == [later], "the newest, not the oldest")
            #expect(try await queue.jobs(limit: 2).map(\.id) == [dead, other])
            #expect(try await queue.jobs(state: .dead, scope: "a").map(\.id) == [dead])
            #expect(try await queue.jobs(state: .dead, scope: "a").first?.lastError == "boom")
            let counts = try await queue.counts(scope: "a")
            #expect(counts.map(\.queueName) == [nil, "q"] || counts.map(\.queueName) == ["q", nil])
            #expect(counts.first { $0.queueName == "q" }?.counts[.dead] == 1)
            #expect(counts.first { $0.queueName == nil }?.counts[.available] == 1)
            #expect(try await queue.counts(scope: "nobody").isEmpty)

            await #expect(throws: QueueError.jobNotFound(other)) { try await queue.retry(id: other, scope: "a") }
            #expect(try await queue.job(id: other)?.state(now: clock.now) == .dead)
            let retried = try await queue.retry(id: dead, scope: "a")
            #expect(retried.state(now: clock.now) == .available && retried.scope == "a")
        }
    }

    @Test(arguments: Backend.available)
    func namedQueuesRunUpToTheirConcurrency(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let queue = JobQueue(database: db)
            var ids: [Int64] = []
            for n in 0..<5 { ids.append(try await enqueue(queue, "t", n, .init(queueName: "c", queueConcurrency: 3))) }
            let first = try await queue.claim(workerId: "w1", limit: 10)
            #expect(first.map(\.id) == Array(ids[0..<3]), "the first three, in order")
            #expect(try await queue.claim(workerId: "w2", limit: 10).isEmpty, "the queue is full")
            #expect(try await queue.queues() == [QueueSummary(name: "c", concurrency: 3, running: 3, waiting: 2, dead: 0)])
            try await queue.finish(workerId: "w1", completed: [first[0]], failed: [])
            #expect(try await queue.claim(workerId: "w2", limit: 10).map(\.id) == [ids[3]])
            // An enqueue without a limit keeps the queue's; one with a limit replaces it.
            _ = try await enqueue(queue, "t", 9, .init(queueName: "c"))
            #expect(try await queue.queues().first?.concurrency == 3)
            _ = try await enqueue(queue, "t", 10, .init(queueName: "c", queueConcurrency: 1))
            #expect(try await queue.queues().first?.concurrency == 1)
            try await queue.finish(workerId: "w1", completed: Array(first[1...]), failed: [])
            #expect(try await queue.claim(workerId: "w1", limit: 10).isEmpty, "three still exceed the new limit of one")
            await #expect(throws: QueueError.self) { _ = try await enqueue(queue, "t", 11, .init(queueName: "c", queueConcurrency: 0)) }
        }
    }

    /// A claim smaller than a queue's room takes the first jobs in order, across named queues and jobs
    /// of no queue (SQLite reads each queue's first `limit` candidates only).
    @Test(arguments: Backend.available)
    func aSmallClaimTakesTheFirstJobsAcrossQueues(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let queue = JobQueue(database: db)
            var ids: [Int64] = []
            for n in 0..<7 {
                let options: JobOptions = switch n % 3 {
                case 0: .init(queueName: "a", queueConcurrency: 10)
                case 1: .init()
                default: .init(queueName: "b", queueConcurrency: 10)
                }
                ids.append(try await enqueue(queue, "t", n, options))
            }
            // Two of queue a's in the first claim, one of them after a job of b and a free one.
            #expect(try await queue.claim(workerId: "w", limit: 4).map(\.id) == Array(ids[0..<4]))
            #expect(try await queue.claim(workerId: "w", limit: 2).map(\.id) == Array(ids[4..<6]))
            #expect(try await queue.claim(workerId: "w", limit: 10).map(\.id) == Array(ids[6...]))
            #expect(try await queue.queues().map(\.running) == [3, 2])
        }
    }

    /// The claims read each priority's jobs due now on their own (jobs due later are not read past), so
    /// order and room must still hold across priorities, in a named queue and outside one.
    @Test(arguments: Backend.available)
    func claimsTakeRunnableJobsAcrossPrioritiesPastJobsDueLater(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let clock = TestClock()
            let queue = JobQueue(database: db, now: clock.function)
            let soon = clock.now.addingTimeInterval(60)
            func both(_ n: Int, _ options: JobOptions) async throws -> (queued: Int64, free: Int64) {
                var queued = options
                queued.queueName = "c"
                queued.queueConcurrency = 3
                return (try await enqueue(queue, "t", n, queued), try await enqueue(queue, "t", n, options))
            }
            let later = try await both(1, .init(runAt: soon, priority: -5))
            let low = try await both(2, .init(priority: 5))
            let laterZero = try await both(3, .init(runAt: soon))
            let zero = try await both(4, .init())
            let urgent = try await both(5, .init(priority: -1))
            let lowest = try await both(6, .init(priority: 9))

            #expect(try await queue.claim(workerId: "w", limit: 3).map(\.id) == [urgent.queued, urgent.free, zero.queued])
            #expect(try await queue.claim(workerId: "w", limit: 10).map(\.id) == [zero.free, low.queued, low.free, lowest.free],
                    "the queue's third is its priority 5 job, then it is full")
            #expect(try await queue.claim(workerId: "w", limit: 10).isEmpty)
            clock.advance(by: 61)
            #expect(try await queue.claim(workerId: "w", limit: 10).map(\.id) == [later.free, laterZero.free], "the queue is still full")
            #expect(try await queue.queues().map(\.running) == [3])
        }
    }

    @Test(arguments: Backend.available)
    func idleQueuesAreRemovedAndComeBack(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let clock = TestClock()
            let queue = JobQueue(database: db, now: clock.function)
            try await queue.registerWorker(id: "w")
            _ = try await enqueue(queue, "t", 1, .init(queueName: "q", queueConcurrency: 2))
            let job = try #require(try await queue.claim(workerId: "w", limit: 1).first)
            clock.advance(by: 120)
            try await queue.heartbeat(workerId: "w")
            #expect(try await queue.rescueStalledJobs(heartbeatTimeout: 60).isEmpty)
            #expect(try await queue.queues().map(\.running) == [1], "a queue with a running job stays")
            try await queue.finish(workerId: "w", completed: [job], failed: [])
            #expect(try await queue.queues().map(\.running) == [0])
            #expect(try await queue.rescueStalledJobs(heartbeatTimeout: 60).isEmpty)
            #expect(try await queue.queues().count == 1, "touched a moment ago")
            clock.advance(by: 61)
            try await queue.heartbeat(workerId: "w")
            _ = try await queue.rescueStalledJobs(heartbeatTimeout: 60)
            #expect(try await queue.queues().isEmpty, "idle for longer than the timeout")
            _ = try await enqueue(queue, "t", 2, .init(queueName: "q"))
            #expect(try await queue.queues() == [QueueSummary(name: "q", concurrency: 1, running: 0, waiting: 1, dead: 0)])
        }
    }

    /// Many claimers at once on one queue of limit 4: at no moment are more than 4 of its jobs
    /// locked, and every job is claimed exactly once.
    @Test(arguments: Backend.available)
    func concurrentClaimersNeverExceedTheLimit(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let queue = JobQueue(database: db)
            let total = 120
            try await db.transaction { tx in
                let rows = (0..<total).map { JobQueue.NewJob(task: "t", payloadJSON: "{\"n\":\($0)}", options: .init(queueName: "c", queueConcurrency: 4)) }
                try await queue.enqueue(rows, in: tx)
            }
            let claimedIds = try await withThrowingTaskGroup(of: ([Int64], Int).self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        var mine: [Int64] = [], highest = 0
                        var idle = 0
                        while idle < 50 {
                            let jobs = try await queue.claim(workerId: "w\(worker)", limit: 3)
                            if jobs.isEmpty { idle += 1; try await Task.sleep(for: .milliseconds(2)); continue }
                            idle = 0
                            let running: Int = try await db.queryFirst("SELECT COUNT(*) AS n FROM kongflow_jobs WHERE locked_at IS NOT NULL")!.decode("n")
                            highest = max(highest, running)
                            mine += jobs.map(\.id)
                            try await queue.finish(workerId: "w\(worker)", completed: jobs, failed: [])
                        }
                        return (mine, highest)
                    }
                }
                var all: [Int64] = [], highest = 0
                for try await (ids, seen) in group { all += ids; highest = max(highest, seen) }
                #expect(highest <= 4, "saw \(highest) jobs of a queue of limit 4 running")
                return all
            }
            #expect(claimedIds.count == total && Set(claimedIds).count == total, "every job exactly once")
            #expect(try await queue.queues().map(\.running) == [0])
        }
    }
}
