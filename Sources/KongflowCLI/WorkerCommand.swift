import ArgumentParser
import Foundation
import KongflowApp
import Logging
import Queue
import Storage

struct WorkerOptions: ParsableArguments {
    @Option(help: "Jobs this process runs at the same time (each waiting endpoint call holds one).") var concurrency = WorkerConfiguration().concurrency
    @Option(help: "Seconds without a heartbeat after which another worker's jobs are released.") var heartbeatTimeout: Double = 60
    @Option(help: "Seconds between polls when no notification arrives.") var pollInterval: Double = 1

    func configuration() throws -> WorkerConfiguration {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard heartbeatTimeout >= 1, pollInterval > 0 else { throw ValidationError("--heartbeat-timeout and --poll-interval must be positive") }
        var configuration = WorkerConfiguration()
        configuration.concurrency = concurrency
        configuration.heartbeatTimeout = heartbeatTimeout
        configuration.pollInterval = .milliseconds(Int64(pollInterval * 1000))
        configuration.heartbeatInterval = .milliseconds(Int64(min(5, heartbeatTimeout / 4) * 1000))
        configuration.rescueInterval = .milliseconds(Int64(min(15, heartbeatTimeout / 2) * 1000))
        return configuration
    }
}

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run only the job worker (many may run against one PostgreSQL database).")
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var worker: WorkerOptions
    @OptionGroup var calls: EndpointCallOptions

    func run() async throws {
        let logger = try logging.makeLogger("kongflow.worker")
        let workerConfiguration = try worker.configuration()
        try await withDatabase(database, logger: logger) { db in
            guard try await MigrationRunner(database: db, logger: logger).isCurrent() else {
                throw ValidationError("The database schema is not current; run `kongflow migrate up` (or start `kongflow serve`) first")
            }
            var configuration = try database.configuration()
            try calls.apply(to: &configuration)
            let runtime = KongflowRuntime(database: db, logger: logger, secrets: try configuration.openSecretBox(),
                                          clientConfiguration: configuration.clientConfiguration,
                                          runConfiguration: configuration.runConfiguration(defaultPublicURL: "http://127.0.0.1:3030"))
            try await runtime.run([runtime.makeWorker(configuration: workerConfiguration), runtime.makeScheduleKeeper()])
        }
    }
}

struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "Inspect and operate the job queue.",
        subcommands: [List.self, Counts.self, Queues.self, Retry.self, Delete.self])

    struct Line: Encodable {
        let id: Int64, task: String, queue: String?, state: String, attempts: Int, maxAttempts: Int
        let runAt: Date, lastError: String?, key: String?, lockedBy: String?, payload: String

        init(_ job: Job, now: Date) {
            id = job.id; task = job.taskIdentifier; queue = job.queueName; state = job.state(now: now).rawValue
            attempts = job.attempts; maxAttempts = job.maxAttempts; runAt = job.runAt; lastError = job.lastError
            key = job.key; lockedBy = job.lockedBy; payload = job.payload
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs (oldest first).")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions
        @Option(help: "available, scheduled, retryable, running or dead.") var state: String?
        @Option(help: "Only jobs of this named queue.") var queue: String?
        @Option(help: "At most this many.") var limit = 100
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let jobState = try state.map { text -> JobState in
                guard let value = JobState(rawValue: text) else {
                    throw ValidationError("Unknown state '\(text)': use \(JobState.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return value
            }
            let logger = try logging.makeLogger("kongflow.jobs")
            try await withDatabase(database, logger: logger) { db in
                let now = Date()
                let jobs = try await JobQueue(database: db).jobs(state: jobState, queueName: queue, limit: limit)
                if json {
                    try printJSON(jobs.map { Line($0, now: now) })
                } else {
                    for job in jobs {
                        let error = job.lastError.map { "  \($0.prefix(80))" } ?? ""
                        print("\(job.id)  \(job.taskIdentifier)  \(job.queueName ?? "-")  \(job.state(now: now).rawValue)  \(job.attempts)/\(job.maxAttempts)\(error)")
                    }
                }
            }
        }
    }

    struct Counts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Count jobs by state.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let logger = try logging.makeLogger("kongflow.jobs")
            try await withDatabase(database, logger: logger) { db in
                let counts = try await JobQueue(database: db).counts()
                let byName = Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) })
                if json { try printJSON(byName) } else {
                    for state in JobState.allCases { print("\(state.rawValue): \(counts[state] ?? 0)") }
                }
            }
        }
    }

    struct Queues: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Named queues: limit, running and waiting jobs.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let logger = try logging.makeLogger("kongflow.jobs")
            try await withDatabase(database, logger: logger) { db in
                let queues = try await JobQueue(database: db).queues()
                if json { try printJSON(queues) } else {
                    for queue in queues {
                        print("\(queue.name)  limit \(queue.concurrency)  running \(queue.running)  waiting \(queue.waiting)  dead \(queue.dead)")
                    }
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a failed, dead or scheduled job now.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions
        @Argument(help: "Job id.") var id: Int64

        func run() async throws {
            let logger = try logging.makeLogger("kongflow.jobs")
            try await withDatabase(database, logger: logger) { db in
                let job = try await JobQueue(database: db).retry(id: id)
                print("Job \(job.id) will run now (attempt \(job.attempts + 1) of \(job.maxAttempts)).")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a job that is not running.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions
        @Argument(help: "Job id.") var id: Int64

        func run() async throws {
            let logger = try logging.makeLogger("kongflow.jobs")
            try await withDatabase(database, logger: logger) { db in
                try await JobQueue(database: db).delete(id: id)
                print("Deleted job \(id).")
            }
        }
    }
}
