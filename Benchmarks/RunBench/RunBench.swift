import ArgumentParser
import AsyncHTTPClient
import EndpointClient
import ExampleEndpoint
import Foundation
import HTTPAPI
import Hummingbird
import JSON
import KongflowApp
import Logging
import NIOConcurrencyHelpers
import Queue
import ServiceLifecycle
import Storage
import StorageDrivers
import Tenancy

/// Runs at speed (BENCHMARKS.md): the whole server in-process (HTTP API and worker, as `serve` wires
/// them) and the example endpoint on loopback running `log-and-task` (one log, one task). Measures the
/// latency from `POST /api/v1/events` to the endpoint receiving EXECUTE_JOB, and end-to-end runs per
/// second, next to the floors measured in the same run: the bare HTTP round trip to the same endpoint,
/// and the queue's own enqueue-to-start latency.
@main
struct RunBench: AsyncParsableCommand {
    @Option(help: "A database URL this benchmark may fill.") var databaseURL: String
    @Option(help: "Events sent one at a time for the latency figures.") var samples = 200
    @Option(help: "Events sent at once for the throughput figure.") var runs = 2000
    @Option(help: "Worker concurrency.") var concurrency = 64
    @Option(help: "Instead of runs: this many schedules due in the same minute (BENCHMARKS.md, schedules).") var schedules = 0
    @Option(help: "Instead of runs: serve the API with its POST floor route on this port until SIGTERM (scripts/bench-api.sh).") var serveAPI: Int?

    /// What the endpoint saw: when each event's first EXECUTE_JOB arrived, and how many per run.
    final class Observed: Sendable {
        private let state = NIOLockedValueBox<(firstCall: [Int: ContinuousClock.Instant], perRun: [String: Int])>(([:], [:]))
        func record(_ body: Data) {
            guard let json = try? JSONValue.parse(body), let run = json["run"]?["id"]?.stringValue else { return }
            let n = json["event"]?["payload"]?["n"]?.numberValue.map(Int.init)
            state.withLockedValue { s in
                s.perRun[run, default: 0] += 1
                if let n, s.firstCall[n] == nil { s.firstCall[n] = .now }
            }
        }
        func firstCall(_ n: Int) -> ContinuousClock.Instant? { state.withLockedValue { $0.firstCall[n] } }
        var perRun: [String: Int] { state.withLockedValue { $0.perRun } }
    }

    func run() async throws {
        // As `serve` sets it up, so the server measured logs as the product does.
        LogOutput.bootstrap(level: .error)
        var logger = Logger(label: "run-bench")
        logger.logLevel = .error
        let opened = try await DatabaseURL(databaseURL).open(logger: logger)
        let db = CountingDatabase(opened)
        do {
            // The API server is measured without the statement counter in between.
            if let serveAPI { try await APIFloorServer(port: serveAPI).run(opened, logger: logger) } else if schedules > 0 { try await ScheduleBench(count: schedules, concurrency: concurrency).measure(db, logger: logger) } else {
                try await measure(db, logger: logger)
            }
        } catch {
            FileHandle.standardError.write(Data("run bench failed: \(error)\n".utf8))
            await db.close()
            throw ExitCode(1)
        }
        await db.close()
    }

    func measure(_ db: any Database, logger: Logger) async throws {
        try await MigrationRunner(database: db, logger: logger).up()
        let env = try await TenancyService(database: db).createEnvironment(organization: "Bench \(UUID().uuidString.prefix(6))", project: "P", type: .production)
        let runtime = KongflowRuntime(database: db, logger: logger)
        var workerConfiguration = WorkerConfiguration()
        workerConfiguration.concurrency = concurrency
        let worker = runtime.makeWorker(configuration: workerConfiguration)
        let (apiPorts, apiPort) = AsyncStream<Int>.makeStream()
        let api = runtime.makeApplication(runtime.apiDependencies(), host: "127.0.0.1", port: 0) { apiPort.yield($0) }
        let services = Task { try await api.runService() }

        // Floor 2: the queue's own enqueue-to-start latency on the same database, measured before the
        // server's worker starts (it would take the probe's jobs).
        let (started, startedContinuation) = AsyncStream<ContinuousClock.Instant>.makeStream()
        var registry = TaskRegistry()
        registry.register("bench.noop") { _, _ in startedContinuation.yield(.now) }
        let probeWorker = Worker(queue: JobQueue(database: db), registry: registry, configuration: workerConfiguration, logger: logger)
        let probeTask = Task { try await probeWorker.run() }
        var queueLatencies: [Double] = []
        var iterator = started.makeAsyncIterator()
        for n in 0..<samples {
            let start = ContinuousClock.now
            try await JobQueue(database: db).enqueue("bench.noop", payload: ["n": n])
            guard let at = await iterator.next() else { break }
            queueLatencies.append(milliseconds(at - start))
        }
        probeWorker.shutdown()
        try await probeTask.value

        let workerTask = Task { try await worker.run() }
        var port = 0
        for await value in apiPorts { port = value; break }
        let apiURL = "http://127.0.0.1:\(port)"

        let observed = Observed()
        let example = ExampleClient(apiKey: env.apiKey, id: "bench", index: ExampleClient.index(clientId: "bench"), apiURL: apiURL)
        let (endpointPorts, endpointPort) = AsyncStream<Int>.makeStream()
        let endpoint = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName] = field.value }
                let body = Data(try await request.body.collect(upTo: 1 << 20).readableBytesView)
                if headers["x-trigger-action"] == "EXECUTE_JOB" { observed.record(body) }
                let (status, answer) = await example.respond(method: request.method.rawValue, headers: headers, body: body)
                return Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: answer)))
            },
            server: .guardedHTTP1(),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { endpointPort.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let endpointTask = Task { try await endpoint.run() }
        var endpointPortNumber = 0
        for await value in endpointPorts { endpointPortNumber = value; break }
        let endpointURL = "http://127.0.0.1:\(endpointPortNumber)/api/trigger"

        let http = HTTPClient.shared
        let key = env.apiKey
        @Sendable func post(_ path: String, _ body: String) async throws -> JSONValue {
            var request = HTTPClientRequest(url: apiURL + path)
            request.method = .POST
            request.headers.add(name: "authorization", value: "Bearer \(key)")
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
            let response = try await http.execute(request, timeout: .seconds(120))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            guard response.status.code == 200 else { throw ValidationError("\(path): \(response.status.code) \(String(buffer: bytes))") }
            return try JSONValue.parse(Data(bytes.readableBytesView))
        }
        let created = try await post("/api/v1/endpoints", #"{"id":"bench","url":"\#(endpointURL)"}"#)
        let indexId = created["endpointIndex"]?["id"]?.stringValue ?? ""
        try await waitUntil { try await runtime.endpoints.index(environment: env, id: UUID(uuidString: indexId)!).status == .success }
        try await waitUntil { try await db.queryFirst("SELECT COUNT(*) AS n FROM job_versions")!.decode("n", as: Int.self) >= 10 }

        // Floor 1: the bare HTTP round trip to the endpoint (a PING, which does no work).
        var ping = HTTPClientRequest(url: endpointURL)
        ping.method = .POST
        ping.headers.add(name: "x-trigger-api-key", value: env.apiKey)
        ping.headers.add(name: "x-trigger-action", value: "PING")
        ping.headers.add(name: "x-trigger-endpoint-id", value: "bench")
        var roundTrips: [Double] = []
        for _ in 0..<samples {
            let start = ContinuousClock.now
            _ = try await http.execute(ping, timeout: .seconds(10)).body.collect(upTo: 1 << 16)
            roundTrips.append(milliseconds(ContinuousClock.now - start))
        }

        // 1. Latency: one event at a time, from the POST to the endpoint's first EXECUTE_JOB.
        var latencies: [Double] = []
        for n in 0..<samples {
            let start = ContinuousClock.now
            _ = try await post("/api/v1/events", #"{"event":{"name":"example.bench","payload":{"n":\#(n)}}}"#)
            var first: ContinuousClock.Instant? = nil
            while first == nil {
                first = observed.firstCall(n)
                if first == nil { try await Task.sleep(for: .microseconds(50)) }
            }
            latencies.append(milliseconds(first! - start))
        }
        try await waitUntil { try await finished(db) == samples }

        // 2. Throughput: `runs` events at once, until every run has finished.
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            let (runs, samples) = (self.runs, self.samples)
            for lane in 0..<32 {
                group.addTask {
                    for n in stride(from: samples + lane, to: samples + runs, by: 32) {
                        _ = try await post("/api/v1/events", #"{"event":{"name":"example.bench","payload":{"n":\#(n)}}}"#)
                    }
                }
            }
            try await group.waitForAll()
        }
        try await waitUntil(timeout: .seconds(600)) { try await finished(db) == samples + runs }
        let elapsed = ContinuousClock.now - start
        let total = try await db.queryFirst("SELECT COUNT(*) AS n FROM job_runs r \(unsafeRaw: Self.benchRuns)")!.decode("n", as: Int.self)
        let succeeded = try await db.queryFirst("SELECT COUNT(*) AS n FROM job_runs r \(unsafeRaw: Self.benchRuns) AND r.status = 'SUCCESS'")!.decode("n", as: Int.self)
        let executedOnce = observed.perRun.values.filter { $0 == 1 }.count

        func percentile(_ values: [Double], _ p: Double) -> Double {
            let sorted = values.sorted()
            return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }
        let report: JSONValue = [
            "event_to_execute_p50_ms": .number(percentile(latencies, 0.5)), "event_to_execute_p99_ms": .number(percentile(latencies, 0.99)),
            "endpoint_round_trip_p50_ms": .number(percentile(roundTrips, 0.5)), "queue_latency_p50_ms": .number(percentile(queueLatencies, 0.5)),
            "runs_per_s": .number(Double(runs) / seconds(elapsed)), "runs": .number(Double(samples + runs)), "runs_in_db": .number(Double(total)),
            "succeeded": .number(Double(succeeded)), "executed_exactly_once": .number(Double(executedOnce)),
        ]
        print(report.jsonString())
        endpointTask.cancel()
        worker.shutdown()
        _ = try? await workerTask.value
        services.cancel()
        _ = try? await services.value
        await runtime.shutdown()
    }

    /// Runs of the measured job only: the example endpoint's webhook source also registers itself with a
    /// run of its own (`dev.trigger.source.register`), whenever its activation gets to it.
    static let benchRuns = "JOIN jobs j ON j.id = r.job_id WHERE j.slug = 'log-and-task'"

    func finished(_ db: any Database) async throws -> Int {
        try await db.queryFirst("SELECT COUNT(*) AS n FROM job_runs r \(unsafeRaw: Self.benchRuns) AND r.status IN ('SUCCESS', 'FAILURE')")!.decode("n")
    }

    func waitUntil(timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw ValidationError("timed out") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    func milliseconds(_ duration: Duration) -> Double { seconds(duration) * 1000 }
    func seconds(_ duration: Duration) -> Double { Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18 }
}
