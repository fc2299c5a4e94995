import Foundation
import Queue
import Storage
import StorageDrivers
import Testing
import TestSupport

@Suite struct JobsCommandTests {
    @Test(arguments: Backend.available)
    func workerProcessAndJobsCommands(_ backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        let db = try await DatabaseURL(url).open(logger: TestDatabase.testLogger)
        defer { Task { await db.close() } }
        // `worker` refuses an outdated schema instead of failing on every claim.
        let early = try await KongflowProcess.run(["worker", "--database-url", url])
        #expect(early.status != 0 && early.stderr.contains("migrate up"))

        try await MigrationRunner(database: db, logger: TestDatabase.testLogger).up()
        let queue = JobQueue(database: db)
        let id = try await db.transaction { tx in
            try await queue.enqueue("no-such-task", payload: ["x": 1], options: .init(queueName: "q", maxAttempts: 1), in: tx)
        }
        let worker = try KongflowProcess.start(["worker", "--database-url", url, "--poll-interval", "0.2", "--concurrency", "2"])
        #expect(try await eventually {
            let job = try await queue.job(id: id)
            return job?.attempts == 1 && job?.lockedAt == nil
        })
        #expect(await worker.terminate() == 0)

        let listed = try await KongflowProcess.run(["jobs", "list", "--state", "dead", "--json", "--database-url", url])
        #expect(listed.status == 0 && listed.stdout.contains("\"id\":\(id)") && listed.stdout.contains("Unknown task identifier 'no-such-task'"))
        let text = try await KongflowProcess.run(["jobs", "list", "--database-url", url])
        #expect(text.stdout.contains("no-such-task  q  dead  1/1"))
        let counts = try await KongflowProcess.run(["jobs", "counts", "--json", "--database-url", url])
        #expect(counts.stdout.contains("\"dead\":1"))
        let retried = try await KongflowProcess.run(["jobs", "retry", "\(id)", "--database-url", url])
        #expect(retried.status == 0 && retried.stdout.contains("will run now (attempt 2 of 2)"))
        #expect(try await KongflowProcess.run(["jobs", "counts", "--database-url", url]).stdout.contains("available: 1"))
        let deleted = try await KongflowProcess.run(["jobs", "delete", "\(id)", "--database-url", url])
        #expect(deleted.status == 0)
        let missing = try await KongflowProcess.run(["jobs", "delete", "\(id)", "--database-url", url])
        #expect(missing.status != 0 && missing.stderr.contains("Job \(id) not found"))
        let badState = try await KongflowProcess.run(["jobs", "list", "--state", "sleeping", "--database-url", url])
        #expect(badState.status != 0 && badState.stderr.contains("Unknown state 'sleeping'"))
        let badWorker = try await KongflowProcess.run(["worker", "--concurrency", "0", "--database-url", url])
        #expect(badWorker.status != 0 && badWorker.stderr.contains("--concurrency must be at least 1"))
    }
}
