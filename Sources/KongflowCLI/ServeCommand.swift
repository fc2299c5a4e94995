import ArgumentParser
import Foundation
import HTTPAPI
import KongflowApp
import Queue
import Hummingbird
import Logging
import Storage
import Tenancy

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the HTTP API and a job worker in one process.")
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port = 3030
    @Flag(name: .customLong("no-migrate"), help: "Do not apply pending migrations on start.") var noMigrate = false
    @OptionGroup var worker: WorkerOptions
    @OptionGroup var calls: EndpointCallOptions

    func run() async throws {
        let logger = try logging.makeLogger("kongflow")
        let workerConfiguration = try worker.configuration()
        try await withDatabase(database, logger: logger) { db in
            var configuration = try database.configuration()
            try calls.apply(to: &configuration)
            let runtime = KongflowRuntime(database: db, logger: logger, secrets: try configuration.openSecretBox(),
                                          clientConfiguration: configuration.clientConfiguration,
                                          runConfiguration: configuration.runConfiguration(defaultPublicURL: "http://\(host):\(port)"))
            let deps = runtime.apiDependencies()
            if !noMigrate {
                try await deps.migrations.up()
            } else if try await !deps.migrations.isCurrent() {
                logger.warning("database schema is not current; /readyz reports 503 until `kongflow migrate up` runs")
            }
            if let created = try await deps.tenancy.bootstrapIfEmpty() {
                // Printed once, on stdout and never through the logger, so it does not end up in log storage.
                FileHandle.standardOutput.write(Data("""
                    Created organization "\(created.organization.title)", project "\(created.project.name)" and a DEVELOPMENT environment.
                    Its API key (shown once; `kongflow env list` shows it again): \(created.apiKey)

                    """.utf8))
            }
            let app = runtime.makeApplication(deps, host: host, port: port) { port in
                logger.info("listening", metadata: ["address": "http://\(host):\(port)", "database": "\(db.displayName)"])
            }
            try await runtime.run([app, runtime.makeWorker(configuration: workerConfiguration), runtime.makeScheduleKeeper()])
        }
    }
}
