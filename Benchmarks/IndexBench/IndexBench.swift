import ArgumentParser
import EndpointClient
import Endpoints
import Foundation
import JSON
import HTTPAPI
import Hummingbird
import ExampleEndpoint
import KongflowApp
import Logging
import Queue
import Registration
import Secrets
import Storage
import StorageDrivers
import Tenancy
import TriggerProtocol

/// Indexing at scale (BENCHMARKS.md): an endpoint declaring N jobs, timed from CreateEndpoint to every
/// registration done, next to the floor of inserting the same rows with plain batched SQL.
@main
struct IndexBench: AsyncParsableCommand {
    @Option(help: "A database URL whose database this benchmark may fill (a fresh one per size is made for PostgreSQL by the script).")
    var databaseURL: String
    @Option(help: "Job counts to measure, comma separated.") var sizes = "10,100,1000,5000"

    func run() async throws {
        var logger = Logger(label: "index-bench")
        logger.logLevel = .error
        for size in sizes.split(separator: ",").compactMap({ Int($0) }) {
            let url = databaseURL.replacingOccurrences(of: "{n}", with: "\(size)")
            let db = try await DatabaseURL(url).open(logger: logger)
            try await MigrationRunner(database: db, logger: logger).up()
            let (total, perJob) = try await measure(size: size, db: db, logger: logger)
            let floor = try await floor(size: size, db: db)
            print(String(format: "{\"jobs\": %d, \"total_s\": %.3f, \"per_job_ms\": %.3f, \"floor_s\": %.3f, \"ratio_to_floor\": %.1f}",
                         size, total, perJob, floor, total / floor))
            await db.close()
        }
    }

    func measure(size: Int, db: any Database, logger: Logger) async throws -> (Double, Double) {
        let tenancy = TenancyService(database: db)
        let env = try await tenancy.createEnvironment(organization: "Bench \(UUID().uuidString.prefix(6))", project: "P", type: .production)
        let example = ExampleClient(apiKey: env.apiKey, id: "bench", index: ExampleClient.index(clientId: "bench", extraJobs: max(0, size - 10)))
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName] = field.value }
                let (status, body) = example.answer(method: request.method.rawValue, headers: headers)
                return Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
            },
            server: .guardedHTTP1(),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { portContinuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let server = Task { try await app.run() }
        var port = 0
        for await value in portStream { port = value; break }

        let queue = JobQueue(database: db)
        var clientConfiguration = EndpointClientConfiguration()
        clientConfiguration.indexTimeout = .seconds(60)
        let client = EndpointClient(configuration: clientConfiguration, logger: logger)
        let endpoints = EndpointService(database: db, queue: queue, client: client, logger: logger)
        var registry = TaskRegistry()
        endpoints.registerTasks(in: &registry, registration: RegistrationService(database: db, logger: logger, secrets: .ephemeral()))
        var configuration = WorkerConfiguration()
        configuration.pollInterval = .milliseconds(50)
        let worker = Worker(queue: queue, registry: registry, configuration: configuration, logger: logger)
        let workerTask = Task { try await worker.run() }

        let start = ContinuousClock.now
        let (_, index) = try await endpoints.createEndpoint(environment: env, slug: "bench", url: "http://127.0.0.1:\(port)/api/trigger")
        while true {
            let current = try await endpoints.index(environment: env, id: index.id)
            if current.status == .failure { throw ValidationError("index failed: \(current.error?.message ?? "")") }
            if current.status == .success {
                let summary = try await endpoints.registrationSummary(indexId: index.id)
                if summary.registered + summary.failed >= size + 3 {
                    guard summary.failed == 0 else { throw ValidationError("registration failed: \(summary.failures.prefix(3))") }
                    break
                }
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        worker.shutdown()
        try await workerTask.value
        await client.shutdown()
        server.cancel()
        return (seconds, seconds * 1000 / Double(size))
    }

    /// The same kind of rows (job, queue, version, alias, dispatcher per job) with multi-row INSERTs
    /// in one transaction: what the database itself needs.
    func floor(size: Int, db: any Database) async throws -> Double {
        let env = try await TenancyService(database: db).createEnvironment(organization: "Floor \(UUID().uuidString.prefix(6))", project: "P", type: .production)
        let endpointId = UUID()
        let now = Date()
        let start = ContinuousClock.now
        try await db.transaction { tx in
            try await tx.query("""
                INSERT INTO endpoints (id, slug, url, indexing_hook_identifier, environment_id, organization_id, project_id, created_at, updated_at)
                VALUES (\(endpointId), 'floor', 'http://x', 'abcdefghij', \(env.id), \(env.organization.id), \(env.project.id), \(now), \(now))
                """)
            let queueId = UUID()
            try await tx.query("INSERT INTO job_queues (id, name, environment_id, max_jobs, created_at, updated_at) VALUES (\(queueId), 'default', \(env.id), 100, \(now), \(now))")
            let spec = SQLJSON(#"{"name":"e","title":"Event","source":"trigger.dev","icon":"custom-event"}"#)
            let trigger = SQLJSON(#"{"type":"static","title":"e","rule":{"event":"e","source":"trigger.dev","payload":{}}}"#)
            for chunk in stride(from: 0, to: size, by: 200) {
                let ids = (chunk..<min(chunk + 200, size)).map { ($0, UUID(), UUID(), UUID()) }
                var jobs: SQLQuery = "INSERT INTO jobs (id, slug, title, internal, organization_id, project_id, created_at, updated_at) VALUES "
                var versions: SQLQuery = "INSERT INTO job_versions (id, version, event_specification, trigger, job_id, endpoint_id, environment_id, organization_id, project_id, queue_id, start_position, preprocess_runs, status, created_at, updated_at) VALUES "
                var aliases: SQLQuery = "INSERT INTO job_aliases (id, name, value, version_id, job_id, environment_id, created_at, updated_at) VALUES "
                var dispatchers: SQLQuery = "INSERT INTO event_dispatchers (id, event, source, manual, dispatchable_id, dispatchable, enabled, environment_id, created_at, updated_at) VALUES "
                for (offset, (n, jobId, versionId, dispatcherId)) in ids.enumerated() {
                    let comma = offset == 0 ? "" : ", "
                    jobs = jobs + "\(unsafeRaw: comma)(\(jobId), \("job-\(n)"), \("Job \(n)"), \(false), \(env.organization.id), \(env.project.id), \(now), \(now))"
                    versions = versions + "\(unsafeRaw: comma)(\(versionId), '1.0.0', \(spec), \(trigger), \(jobId), \(endpointId), \(env.id), \(env.organization.id), \(env.project.id), \(queueId), 'LATEST', \(false), 'ACTIVE', \(now), \(now))"
                    aliases = aliases + "\(unsafeRaw: comma)(\(UUID()), 'latest', '1.0.0', \(versionId), \(jobId), \(env.id), \(now), \(now))"
                    dispatchers = dispatchers + "\(unsafeRaw: comma)(\(dispatcherId), \(SQLJSON("\"e\"")), 'trigger.dev', \(false), \(jobId.lowercasedString), \(SQLJSON("{}")), \(true), \(env.id), \(now), \(now))"
                }
                for statement in [jobs, versions, aliases, dispatchers] { try await tx.query(statement) }
            }
        }
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
