import ArgumentParser
import Foundation
import JSON
import KongflowApp
import Logging
import NIOConcurrencyHelpers
import Secrets
import Storage
import StorageDrivers

struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: ArgumentHelp(
        "postgres://USER[:PASS]@HOST:PORT/DB[?host=/socket/dir] or sqlite:PATH (env: KONGFLOW_DATABASE_URL; default: sqlite:.kongflow/kongflow.sqlite)",
        valueName: "url"))
    var databaseURL: String?
    @Option(help: "Pooled PostgreSQL connections per process, kept while in use; LISTEN takes one more per channel (env: KONGFLOW_DATABASE_POOL_SIZE; default 20).") var poolSize: Int?

    /// The environment's settings with these flags over them.
    func configuration() throws -> KongflowConfiguration {
        var configuration: KongflowConfiguration
        do { configuration = try KongflowConfiguration(environment: ProcessInfo.processInfo.environment) } catch {
            throw ValidationError("\(error)")
        }
        if let databaseURL { configuration.databaseURL = databaseURL }
        if let poolSize {
            guard poolSize >= 1 else { throw ValidationError("--pool-size must be at least 1") }
            configuration.databasePoolSize = poolSize
        }
        return configuration
    }

    func open(logger: Logger) async throws -> any Database {
        try await configuration().openDatabase(logger: logger)
    }
}

extension KongflowConfiguration {
    /// The secret key, or a command-line error that says what is wrong with it.
    func openSecretBox() throws -> SecretBox {
        do { return try secretBox() } catch let error as SecretError { throw ValidationError(error.description) }
    }
}

/// How the server calls endpoints (serve and worker).
struct EndpointCallOptions: ParsableArguments {
    @Flag(help: "Refuse endpoints on loopback, private and link-local addresses (env: KONGFLOW_REFUSE_PRIVATE_ADDRESSES).")
    var refusePrivateAddresses = false
    @Option(help: "Seconds an EXECUTE_JOB may take (env: KONGFLOW_EXECUTE_TIMEOUT; default 300).") var executeTimeout: Double?
    @Option(help: "Where third parties reach this server, for webhook sources (env: KONGFLOW_PUBLIC_URL; serve: its listen address).")
    var publicURL: String?

    func apply(to configuration: inout KongflowConfiguration) throws {
        if refusePrivateAddresses { configuration.refusePrivateAddresses = true }
        if let executeTimeout {
            guard executeTimeout > 0 else { throw ValidationError("--execute-timeout must be positive") }
            configuration.executeTimeout = .milliseconds(Int64(executeTimeout * 1000))
        }
        if let publicURL {
            do { configuration.publicURL = try KongflowConfiguration.checkedPublicURL(publicURL) } catch { throw ValidationError("--public-url: \(error)") }
        }
    }
}

struct LoggingOptions: ParsableArguments {
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env: KONGFLOW_LOG_LEVEL)")
    var logLevel: String?

    func level() throws -> Logger.Level {
        let text = logLevel ?? ProcessInfo.processInfo.environment["KONGFLOW_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw ValidationError("Unknown log level '\(text)'")
        }
        return level
    }

    /// Logs go to stderr so that `--json` output on stdout stays machine-readable.
    func makeLogger(_ label: String) throws -> Logger {
        let level = try level()
        LogOutput.bootstrap(level: level)
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

/// Prints a value as one line of JSON on stdout, through the same printer as the HTTP API.
func printJSON<T: Encodable>(_ value: T) throws {
    print(try JSONValue.print(value))
}

/// Runs `body` with an open database and closes it afterwards, whatever happens.
func withDatabase<T>(_ options: DatabaseOptions, logger: Logger, _ body: (any Database) async throws -> T) async throws -> T {
    let database = try await options.open(logger: logger)
    do {
        let result = try await body(database)
        await database.close()
        return result
    } catch {
        await database.close()
        throw error
    }
}

/// As `withDatabase`, after applying pending migrations as `serve` does: a command that writes to a
/// database that was never migrated sets its schema up instead of failing on a missing table.
func withMigratedDatabase<T>(_ options: DatabaseOptions, logger: Logger, _ body: (any Database) async throws -> T) async throws -> T {
    try await withDatabase(options, logger: logger) { db in
        try await MigrationRunner(database: db, logger: logger).up()
        return try await body(db)
    }
}
