// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "kongflow",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kongflow", targets: ["kongflow"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.30.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
    ],
    targets: [
        // Deadlines around async work and Duration conversions.
        .target(name: "Timing", swiftSettings: strict),
        // JSON values, the strict parser and the one printer, Encodable → JSON, trigger.dev's dates.
        .target(name: "JSON", swiftSettings: strict),
        // Wire types of the trigger.dev v2 protocol and zod-like validation. No I/O.
        .target(name: "TriggerProtocol", dependencies: ["JSON"], swiftSettings: strict),
        // PING / INDEX_ENDPOINT over HTTP, with timeouts, body caps and manual redirects.
        .target(name: "EndpointClient", dependencies: [
            "TriggerProtocol", "Timing",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        // The Database / Transaction seam, SQL values, migrations.
        .target(name: "Storage", dependencies: [
            "JSON",
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        // The embedded backend over SQLite's C API. sqlite-nio is here for the SQLite it builds (its
        // VaporCSQLite module, an amalgamation with prefixed symbols); its Swift layer is not used.
        .target(name: "SQLiteStorage", dependencies: [
            "Storage",
            .product(name: "SQLiteNIO", package: "sqlite-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        .target(name: "PostgresStorage", dependencies: [
            "Storage", "Timing",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        // Opens the right driver for a database URL.
        .target(name: "StorageDrivers", dependencies: [
            "Storage", "SQLiteStorage", "PostgresStorage",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        // The durable job queue: enqueue in the caller's transaction, claim, retry, rescue; the worker.
        .target(name: "Queue", dependencies: [
            "Storage", "JSON", "Timing",
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], swiftSettings: strict),
        // Organizations, projects, environments, API keys and the authenticator.
        // Secrets sealed for storage (AES-GCM) with the server's key.
        .target(name: "Secrets", dependencies: [
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: strict),
        // Integrations an environment connects to, their sealed credentials, getAuth and run connections.
        .target(name: "Integrations", dependencies: ["Storage", "Tenancy", "Secrets", "TriggerProtocol", "JSON"], swiftSettings: strict),
        .target(name: "Tenancy", dependencies: [
            "Storage",
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: strict),
        // CreateEndpoint, IndexEndpoint, the deploy hook: endpoint services over storage, queue and client.
        .target(name: "Endpoints", dependencies: [
            "Storage", "Queue", "Tenancy", "EndpointClient", "TriggerProtocol", "Timing",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
        ], swiftSettings: strict),
        // Registration: persists what an endpoint declares (jobs, versions, sources, triggers, schedules).
        .target(name: "Registration", dependencies: [
            "Storage", "Queue", "Endpoints", "Tenancy", "TriggerProtocol", "Secrets",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        // Running what is registered: events, dispatch, runs, EXECUTE_JOB, the task API's services.
        .target(name: "Runs", dependencies: [
            "Storage", "Queue", "Tenancy", "EndpointClient", "TriggerProtocol", "JSON", "Timing", "Registration", "Integrations", "Secrets",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ], swiftSettings: strict),
        // Hummingbird routes, auth, error mapping.
        .target(name: "HTTPAPI", dependencies: [
            "Storage", "Tenancy", "Endpoints", "Queue", "TriggerProtocol", "Registration", "Runs", "JSON", "Timing", "Integrations",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        // The application: the long-lived parts wired together once (queue, endpoint client, services,
        // task handlers, metrics) and the HTTP server over them. The CLI, tests and benchmarks share it.
        // The web dashboard: server-rendered pages over the services, signed-cookie sessions.
        .target(name: "Dashboard", dependencies: [
            "HTTPAPI", "Endpoints", "Registration", "Runs", "Secrets", "Tenancy", "JSON",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: strict),
        .target(name: "KongflowApp", dependencies: [
            "Dashboard",
            "Storage", "StorageDrivers", "Queue", "Endpoints", "Registration", "Runs", "EndpointClient", "HTTPAPI", "Integrations", "Secrets",
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ], swiftSettings: strict),
        // A TriggerClient written in Swift with example jobs: the quick start's app, and tests' and benchmarks' endpoint.
        .target(name: "ExampleEndpoint", dependencies: [
            "JSON", "TriggerProtocol",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], swiftSettings: strict),
        // The `kongflow` commands.
        .target(name: "KongflowCLI", dependencies: [
            "KongflowApp", "ExampleEndpoint", "JSON", "Storage", "StorageDrivers", "Tenancy", "HTTPAPI", "Queue", "Endpoints", "Registration", "EndpointClient", "TriggerProtocol",
            "Secrets", "Integrations",
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        .executableTarget(name: "kongflow", dependencies: ["KongflowCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")], swiftSettings: strict),

        // The queue benchmark and the multi-process probe (BENCHMARKS.md).
        .executableTarget(name: "kongflow-queue-bench", dependencies: [
            "Queue", "Storage", "StorageDrivers",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Benchmarks/QueueBench", swiftSettings: strict),

        // Indexing at scale (BENCHMARKS.md).
        .executableTarget(name: "kongflow-index-bench", dependencies: [
            "KongflowApp", "HTTPAPI", "ExampleEndpoint", "Endpoints", "EndpointClient", "Registration", "Queue", "Storage", "StorageDrivers", "Tenancy", "TriggerProtocol", "Secrets",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Benchmarks/IndexBench", swiftSettings: strict),

        // Runs at speed (BENCHMARKS.md).
        .executableTarget(name: "kongflow-run-bench", dependencies: [
            "KongflowApp", "HTTPAPI", "ExampleEndpoint", "JSON", "Queue", "Storage", "StorageDrivers", "Tenancy", "EndpointClient", "TriggerProtocol", "Timing",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Benchmarks/RunBench", swiftSettings: strict),

        .target(name: "TestSupport", dependencies: [
            "Storage", "StorageDrivers", "SQLiteStorage", "PostgresStorage", "JSON", "HTTPAPI",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "StorageDrivers", "SQLiteStorage", "PostgresStorage", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "APITests", dependencies: [
            "HTTPAPI", "Tenancy", "Storage", "TestSupport", "Endpoints", "EndpointClient", "Queue", "TriggerProtocol", "KongflowApp", "Runs", "JSON",
            "Integrations", "Secrets",
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ], swiftSettings: strict),
        .testTarget(name: "QueueTests", dependencies: [
            "Queue", "Storage", "TestSupport",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], swiftSettings: strict),
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "Queue", "Storage", "StorageDrivers", "JSON"], swiftSettings: strict),
        .testTarget(name: "ProtocolTests", dependencies: ["TriggerProtocol", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "EndpointClientTests", dependencies: ["EndpointClient", "TriggerProtocol", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "RegistrationTests", dependencies: ["Registration", "TriggerProtocol", "JSON"], swiftSettings: strict),
        .testTarget(name: "TimingTests", dependencies: ["Timing"], swiftSettings: strict),
        .testTarget(name: "TenancyTests", dependencies: ["Tenancy", "Storage", "TestSupport"], swiftSettings: strict),
    ]
)
