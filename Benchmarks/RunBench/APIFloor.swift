import Foundation
import HTTPAPI
import Hummingbird
import HTTPTypes
import JSON
import KongflowApp
import Logging
import ServiceLifecycle
import Storage
import Tenancy
import TriggerProtocol

/// `--serve-api PORT` (scripts/bench-api.sh): `serve`'s wiring (API, dashboard, worker, schedule
/// keeper) plus one route that is the floor of `POST /api/v1/endpoints` (BENCHMARKS.md):
/// `POST /bench/ping-floor` authenticates the key, decodes the same body and makes the same PING call
/// through the same endpoint client, and does no database work. Prints the environment's key.
struct APIFloorServer {
    let port: Int

    func run(_ db: any Database, logger: Logger) async throws {
        try await MigrationRunner(database: db, logger: logger).up()
        let env = try await TenancyService(database: db).createEnvironment(organization: "Bench", project: "P", type: .development)
        let runtime = KongflowRuntime(database: db, logger: logger)
        let deps = runtime.apiDependencies()
        let router = runtime.makeRouter(deps)
        let client = runtime.client
        // The API's own authentication, with its verified-key cache: the floor does no database work.
        let tenancy = deps.tenancy
        router.post("bench/ping-floor") { request, context -> HTTPResponse.Status in
            guard let environment = try await tenancy.authenticate(authorization: request.headers[.authorization]) else { return .unauthorized }
            let bytes = try await request.body.collect(upTo: 1 << 20)
            let body = try CreateEndpointBody.decode(try JSONValue.parse(Data(buffer: bytes)))
            _ = try await client.ping(url: body.url, apiKey: environment.apiKey, endpointId: body.id)
            return .ok
        }
        let app = Application(router: router, server: .guardedHTTP1(), configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "kongflow"),
                              onServerRunning: { _ in FileHandle.standardOutput.write(Data("key \(env.apiKey)\n".utf8)) }, logger: logger)
        try await runtime.run([app, runtime.makeWorker(configuration: .init()), runtime.makeScheduleKeeper()])
    }
}
