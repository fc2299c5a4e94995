import EndpointClient
import Foundation
import Logging
import Runs
import Secrets
import Storage
import StorageDrivers

/// What an operator sets, in one place: every setting has an environment variable, and the CLI's
/// flags (which win) write into the same fields.
public struct KongflowConfiguration: Sendable, Equatable {
    /// `KONGFLOW_DATABASE_URL`: `sqlite:PATH` (default `.kongflow/kongflow.sqlite`) or `postgres://…`.
    public var databaseURL: String?
    /// `KONGFLOW_DATABASE_POOL_SIZE`: PostgreSQL connections per process (20).
    public var databasePoolSize = 20
    /// `KONGFLOW_REFUSE_PRIVATE_ADDRESSES` (`1`/`true`): refuse endpoints on loopback, private and
    /// link-local addresses. Off by default because development endpoints live on localhost; turn it on
    /// for a server that tenants you do not control register endpoints with.
    public var refusePrivateAddresses = false
    /// `KONGFLOW_EXECUTE_TIMEOUT`: seconds an EXECUTE_JOB may take (300).
    public var executeTimeout: Duration = .seconds(300)

    /// `KONGFLOW_ENCRYPTION_KEY`: the key that seals integration credentials (32 bytes, base64 or hex).
    /// Every process sharing a database needs the same one; without it, the key file is used.
    public var encryptionKey: String?
    /// `KONGFLOW_ENCRYPTION_KEY_PREVIOUS`: earlier keys (comma-separated) that still open what they
    /// sealed, while `kongflow secrets reencrypt` moves it to the current key.
    public var previousEncryptionKeys: [String] = []
    /// `KONGFLOW_ENCRYPTION_KEY_FILE`: where the key lives when `KONGFLOW_ENCRYPTION_KEY` is not set;
    /// created (mode 0600) on first start.
    public var encryptionKeyFile = ".kongflow/encryption.key"
    /// `KONGFLOW_PUBLIC_URL`: where third parties reach this server; webhook sources register
    /// `<public URL>/api/v1/sources/http/<id>` with them. `serve` defaults to its listen address.
    public var publicURL: String?

    public static let variables = ["KONGFLOW_DATABASE_URL", "KONGFLOW_DATABASE_POOL_SIZE", "KONGFLOW_REFUSE_PRIVATE_ADDRESSES", "KONGFLOW_EXECUTE_TIMEOUT",
                                   "KONGFLOW_ENCRYPTION_KEY", "KONGFLOW_ENCRYPTION_KEY_PREVIOUS", "KONGFLOW_ENCRYPTION_KEY_FILE",
                                   "KONGFLOW_PUBLIC_URL"]

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init() {}

    /// The settings the environment gives; anything not given keeps its default.
    public init(environment: [String: String]) throws {
        if let url = environment["KONGFLOW_DATABASE_URL"], !url.isEmpty { databaseURL = url }
        if let text = environment["KONGFLOW_DATABASE_POOL_SIZE"] {
            guard let size = Int(text), size >= 1 else { throw Invalid(description: "KONGFLOW_DATABASE_POOL_SIZE must be a positive number, not '\(text)'") }
            databasePoolSize = size
        }
        if let text = environment["KONGFLOW_REFUSE_PRIVATE_ADDRESSES"] {
            switch text.lowercased() {
            case "1", "true", "yes": refusePrivateAddresses = true
            case "0", "false", "no", "": refusePrivateAddresses = false
            default: throw Invalid(description: "KONGFLOW_REFUSE_PRIVATE_ADDRESSES must be true or false, not '\(text)'")
            }
        }
        if let text = environment["KONGFLOW_EXECUTE_TIMEOUT"] {
            guard let seconds = Double(text), seconds > 0 else { throw Invalid(description: "KONGFLOW_EXECUTE_TIMEOUT must be a positive number of seconds, not '\(text)'") }
            executeTimeout = .milliseconds(Int64(seconds * 1000))
        }
        if let key = environment["KONGFLOW_ENCRYPTION_KEY"], !key.isEmpty { encryptionKey = key }
        if let keys = environment["KONGFLOW_ENCRYPTION_KEY_PREVIOUS"] {
            previousEncryptionKeys = keys.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let file = environment["KONGFLOW_ENCRYPTION_KEY_FILE"], !file.isEmpty { encryptionKeyFile = file }
        if let url = environment["KONGFLOW_PUBLIC_URL"], !url.isEmpty { publicURL = try Self.checkedPublicURL(url) }
    }

    public static func checkedPublicURL(_ text: String) throws -> String {
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host?.isEmpty == false else {
            throw Invalid(description: "The public URL must be an absolute http or https URL, not '\(text)'")
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    /// How runs are executed, from these settings (`defaultPublicURL` when none is set).
    public func runConfiguration(defaultPublicURL: String) -> RunEngine.Configuration {
        var configuration = RunEngine.Configuration()
        configuration.publicURL = publicURL ?? defaultPublicURL
        return configuration
    }

    /// The key that seals secrets, from these settings (the key file is created when missing).
    public func secretBox() throws -> SecretBox {
        try SecretBox.load(key: encryptionKey, previous: previousEncryptionKeys, keyFile: encryptionKeyFile)
    }

    /// How Kongflow calls endpoints, from these settings.
    public var clientConfiguration: EndpointClientConfiguration {
        var configuration = EndpointClientConfiguration()
        configuration.refusePrivateAddresses = refusePrivateAddresses
        configuration.defaultExecuteTimeout = executeTimeout
        return configuration
    }

    /// Opens the configured database.
    public func openDatabase(logger: Logger) async throws -> any Database {
        try await DatabaseURL.resolve(databaseURL, environment: [:]).open(logger: logger, poolSize: databasePoolSize)
    }
}
