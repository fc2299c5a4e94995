import AsyncHTTPClient
import ExampleEndpoint
import Foundation
import Hummingbird
import JSON
import KongflowApp
import Logging
import NIOConcurrencyHelpers
import Queue
import Storage
import Tenancy
import TriggerProtocol

/// Statements run, counted: how much database work a tick costs, and that an idle schedule costs none.
final class CountingDatabase: Database, Sendable {
    let base: any Database
    private let counter = NIOLockedValueBox(0)

    init(_ base: any Database) { self.base = base }

    var statements: Int { counter.withLockedValue { $0 } }
    var dialect: SQLDialect { base.dialect }
    var displayName: String { base.displayName }

    @discardableResult
    func query(_ query: SQLQuery) async throws -> [SQLRow] {
        counter.withLockedValue { $0 += 1 }
        return try await base.query(query)
    }

    func transaction<T: Sendable>(_ body: @escaping @Sendable (any Transaction) async throws -> T) async throws -> T {
        let counter = self.counter
        counter.withLockedValue { $0 += 2 }  // BEGIN and COMMIT
        return try await base.transaction { tx in try await body(CountingTransaction(base: tx, counter: counter)) }
    }

    func ping() async throws { try await base.ping() }
    func listen(_ channel: String, _ handler: @escaping @Sendable (String) -> Void) async throws -> NotificationSubscription {
        try await base.listen(channel, handler)
    }
    func notify(_ channel: String, payload: String, in transaction: any Transaction) async throws {
        try await base.notify(channel, payload: payload, in: (transaction as? CountingTransaction)?.base ?? transaction)
    }
    func close() async { await base.close() }
}

struct CountingTransaction: Transaction {
    let base: any Transaction
    let counter: NIOLockedValueBox<Int>
    var dialect: SQLDialect { base.dialect }

    @discardableResult
    func query(_ query: SQLQuery) async throws -> [SQLRow] {
        counter.withLockedValue { $0 += 1 }
        return try await base.query(query)
    }
}

/// `count` schedules of the example's dynamic schedule `user-reminders` (job `remind-user`: one log),
/// all due at the same instant: the time from that tick to the last EXECUTE_JOB, and the statements
/// and CPU the firing took; then ten idle seconds, to show a schedule costs nothing between ticks.
struct ScheduleBench {
    let count: Int
    let concurrency: Int

    func measure(_ db: CountingDatabase, logger: Logger) async throws {
        try await MigrationRunner(database: db, logger: logger).up()
        let env = try await TenancyService(database: db).createEnvironment(organization: "Bench \(UUID().uuidString.prefix(6))", project: "P", type: .production)
        let runtime = KongflowRuntime(database: db, logger: logger)
        var workerConfiguration = WorkerConfiguration()
        workerConfiguration.concurrency = concurrency
        let worker = runtime.makeWorker(configuration: workerConfiguration)
        let (apiPorts, apiPort) = AsyncStream<Int>.makeStream()
        let api = runtime.makeApplication(runtime.apiDependencies(), host: "127.0.0.1", port: 0) { apiPort.yield($0) }
        let apiTask = Task { try await api.runService() }
        var port = 0
        for await value in apiPorts { port = value; break }
        let apiURL = "http://127.0.0.1:\(port)"

        let executions = NIOLockedValueBox<(count: Int, last: ContinuousClock.Instant?)>((0, nil))
        let example = ExampleClient(apiKey: env.apiKey, id: "bench", index: ExampleClient.index(clientId: "bench"), apiURL: apiURL)
        let (endpointPorts, endpointPort) = AsyncStream<Int>.makeStream()
        let endpoint = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName] = field.value }
                let body = Data(try await request.body.collect(upTo: 1 << 20).readableBytesView)
                if headers["x-trigger-action"] == "EXECUTE_JOB" { executions.withLockedValue { $0 = ($0.count + 1, .now) } }
                let (status, answer) = await example.respond(method: request.method.rawValue, headers: headers, body: body)
                return Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: answer)))
            },
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { endpointPort.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let endpointTask = Task { try await endpoint.run() }
        var endpointPortNumber = 0
        for await value in endpointPorts { endpointPortNumber = value; break }
        let workerTask = Task { try await worker.run() }

        let (_, index) = try await runtime.endpoints.createEndpoint(environment: env, slug: "bench", url: "http://127.0.0.1:\(endpointPortNumber)/api/trigger")
        while try await runtime.endpoints.index(environment: env, id: index.id).status != .success { try await Task.sleep(for: .milliseconds(20)) }
        while try await db.queryFirst("SELECT COUNT(*) AS n FROM dynamic_triggers WHERE type = 'SCHEDULE'")!.decode("n", as: Int.self) == 0 {
            try await Task.sleep(for: .milliseconds(20))
        }
        // The schedules, registered as io.registerInterval does, hourly.
        for n in 0..<count {
            _ = try await runtime.runs.registerSchedule(environment: env, client: "bench", dynamicScheduleId: "user-reminders", key: "s-\(n)",
                                                        schedule: .interval(seconds: 3600, metadata: nil, accountId: nil), metadata: ["n": .number(Double(n))])
        }
        // All due at one instant, a few seconds ahead: their ticks are re-planned for it.
        let tick = Date().addingTimeInterval(5).timeIntervalSince1970.rounded(.up)
        let due = Date(timeIntervalSince1970: tick)
        try await db.query("DELETE FROM kongflow_jobs WHERE task_identifier = 'fireSchedule'")
        try await db.query("UPDATE schedule_sources SET next_run_at = \(due)")
        _ = try await runtime.runs.replanSchedules()
        while Date() < due { try await Task.sleep(for: .milliseconds(5)) }
        let startClock = ContinuousClock.now
        let (statementsBefore, cpuBefore) = (db.statements, Self.cpuSeconds())
        while executions.withLockedValue({ $0.count }) < count { try await Task.sleep(for: .milliseconds(10)) }
        let last = executions.withLockedValue { $0.last } ?? .now
        while try await db.queryFirst("SELECT COUNT(*) AS n FROM job_runs WHERE status NOT IN ('SUCCESS', 'FAILURE')")!.decode("n", as: Int.self) > 0 {
            try await Task.sleep(for: .milliseconds(20))
        }
        let (statementsFired, cpuFired) = (db.statements - statementsBefore, Self.cpuSeconds() - cpuBefore)
        let elapsed = last - startClock

        // Ten idle seconds: every schedule waits for its next tick an hour away.
        let (idleStatementsBefore, idleCPUBefore) = (db.statements, Self.cpuSeconds())
        try await Task.sleep(for: .seconds(10))
        let (idleStatements, idleCPU) = (db.statements - idleStatementsBefore, Self.cpuSeconds() - idleCPUBefore)
        let duplicates = try await db.queryFirst("""
            SELECT COUNT(*) - COUNT(DISTINCT event_id) AS n FROM event_records WHERE name = 'dev.trigger.scheduled'
            """)!.decode("n", as: Int.self)
        let report: JSONValue = [
            "schedules": .number(Double(count)), "tick_to_last_execute_s": .number(elapsed.seconds),
            "statements_per_tick": .number(Double(statementsFired) / Double(count)), "cpu_ms_per_tick": .number(cpuFired * 1000 / Double(count)),
            "idle_statements_per_s": .number(Double(idleStatements) / 10), "idle_cpu_percent": .number(idleCPU / 10 * 100),
            "runs": .number(Double(executions.withLockedValue { $0.count })), "duplicate_ticks": .number(Double(duplicates)),
        ]
        print(report.jsonString())
        worker.shutdown()
        _ = try? await workerTask.value
        apiTask.cancel()
        endpointTask.cancel()
        await runtime.shutdown()
    }

    /// User and system CPU time of this process (it holds the server, the worker and the endpoint).
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
