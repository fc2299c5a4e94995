import EndpointClient
import Foundation
import Testing
import TestSupport
import TriggerProtocol

/// The client against real HTTP servers on 127.0.0.1: ones that replay the real SDK's captured
/// answers, and ones that misbehave.
@Suite struct EndpointClientTests {
    static func client(_ configure: (inout EndpointClientConfiguration) -> Void = { _ in }) -> EndpointClient {
        var configuration = EndpointClientConfiguration()
        configure(&configuration)
        return EndpointClient(configuration: configuration)
    }

    static func withServer<T>(_ handler: @escaping TestHTTPServer.Handler, _ body: (TestHTTPServer) async throws -> T) async throws -> T {
        let server = try await TestHTTPServer.start(handler)
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    static func failure(_ operation: () async throws -> Void) async -> EndpointCallError? {
        do {
            try await operation()
            return nil
        } catch let error as EndpointCallError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func pingAndIndexAgainstTheReplayedSDK() async throws {
        let client = Self.client()
        defer { Task { await client.shutdown() } }
        try await Self.withServer({ RealSDKReplay.reply(to: $0) }) { server in
            let url = "\(server.baseURL)/api/trigger"
            let pong = try await client.ping(url: url, apiKey: Fixtures.apiKey, endpointId: Fixtures.endpointId)
            #expect(pong.info.finalURL == url && pong.info.permanentRedirectURL == nil)
            let index = try await client.indexEndpoint(url: url, apiKey: Fixtures.apiKey)
            #expect(index.response.jobs.count == 10)
            #expect(try JSONValue.print(index.response) == (try JSONValue.print(IndexEndpointResponse.decode(try JSONValue.parse(Fixtures.body("index-ok"))))))

            // What went over the wire, exactly as the spec requires.
            let requests = server.requests
            #expect(requests.count == 2)
            let ping = requests[0], indexRequest = requests[1]
            #expect(ping.method == "POST" && ping.path == "/api/trigger")
            #expect(ping.headers["x-trigger-api-key"] == Fixtures.apiKey)
            #expect(ping.headers["x-trigger-action"] == "PING")
            #expect(ping.headers["x-trigger-endpoint-id"] == Fixtures.endpointId)
            #expect(ping.headers["content-type"] == nil, "no Content-Type on a body-less PING")
            #expect(ping.headers["x-trigger-version"] == "2023-09-29")
            #expect(ping.headers["user-agent"]?.hasPrefix("kongflow/") == true)
            #expect(ping.body.isEmpty)
            #expect(indexRequest.headers["x-trigger-action"] == "INDEX_ENDPOINT")
            #expect(indexRequest.headers["accept"] == "application/json")
            #expect(indexRequest.headers["x-trigger-endpoint-id"] == nil)
            #expect(indexRequest.headers["content-type"] == nil)
        }
    }

    @Test func pingFailuresCarryTriggerDevMessages() async throws {
        let client = Self.client()
        defer { Task { await client.shutdown() } }
        try await Self.withServer({ RealSDKReplay.reply(to: $0) }) { server in
            let url = "\(server.baseURL)/api/trigger"
            let wrongId = await Self.failure { _ = try await client.ping(url: url, apiKey: Fixtures.apiKey, endpointId: "wrong-endpoint") }
            #expect(wrongId == EndpointCallError(.endpointReported, "Endpoint ID mismatch error. Expected my-endpoint, got wrong-endpoint"))
            let wrongKey = await Self.failure { _ = try await client.ping(url: url, apiKey: "tr_dev_wrong", endpointId: Fixtures.endpointId) }
            #expect(wrongKey == EndpointCallError(.unauthorized, "Unauthorized"))
            let indexWrongKey = await Self.failure { _ = try await client.indexEndpoint(url: url, apiKey: "tr_dev_wrong") }
            #expect(indexWrongKey == EndpointCallError(.unauthorized, "Unauthorized"))
        }
    }

    @Test func statusAndBodyProblems() async throws {
        let client = Self.client()
        defer { Task { await client.shutdown() } }
        try await Self.withServer({ request in
            switch request.path {
            case "/401-plain": return .init(status: 401, headers: [("content-type", "text/plain")], body: Data("nope".utf8))
            case "/500": return .json(500, #"{"message":"boom"}"#)
            case "/503": return .json(503, "")
            case "/404": return .json(404, #"{"message":"Not found"}"#)
            case "/html": return .init(status: 200, headers: [("content-type", "text/html")], body: Data("<html>Next.js</html>".utf8))
            case "/ping-schema": return .json(200, #"{"ok":"yes"}"#)
            case "/index-schema": return .json(200, #"{"jobs":[{"id":"broken"}],"sources":[],"dynamicTriggers":[],"dynamicSchedules":[]}"#)
            case "/versions": return .init(status: 200, headers: [("content-type", "application/json"), ("trigger-version", "2023-09-29"), ("trigger-sdk-version", "2.3.18")], body: Data(#"{"ok":true}"#.utf8))
            default: return .json(200, "{}")
            }
        }) { server in
            let base = server.baseURL
            func pingError(_ path: String) async -> EndpointCallError? {
                await Self.failure { _ = try await client.ping(url: base + path, apiKey: "k", endpointId: "e") }
            }
            #expect(await pingError("/401-plain") == EndpointCallError(.unauthorized, "Trigger API key is invalid"))
            #expect(await pingError("/500") == EndpointCallError(.status(500), "Could not connect to endpoint \(base)/500. Status code: 500"))
            #expect(await pingError("/503")?.message == "Could not connect to endpoint \(base)/503. Status code: 503")
            #expect(await pingError("/404")?.message == "Could not connect to endpoint \(base)/404. Status code: 404")
            #expect(await pingError("/html") == EndpointCallError(.invalidJSON, "Could not parse response from endpoint. Make sure it points to the correct URL (you might be missing /api/trigger)"))
            #expect(await pingError("/ping-schema")?.message == "Endpoint \(base)/ping-schema responded with error: Validation error: Invalid discriminator value. Expected true | false at \"ok\"")
            let indexError = await Self.failure { _ = try await client.indexEndpoint(url: base + "/index-schema", apiKey: "k") }
            #expect(indexError?.kind == .invalidSchema)
            #expect(indexError?.message.hasPrefix("Your Jobs have issues:\n- Job \"broken\": Required at \"name\".") == true)
            #expect(indexError?.raw != nil)
            let pong = try await client.ping(url: base + "/versions", apiKey: "k", endpointId: "e")
            #expect(pong.triggerVersion == "2023-09-29" && pong.triggerSdkVersion == "2.3.18")
        }
    }

    @Test func deadHangingAndSlowEndpointsFailWithinTheirTimeouts() async throws {
        let client = Self.client { $0.pingTimeout = .milliseconds(400); $0.indexTimeout = .milliseconds(400) }
        defer { Task { await client.shutdown() } }
        // A refused connection is a connection error whatever the deadline: checked with a roomy one,
        // since on a machine busy with the whole suite even a refusal has taken over 0.4 s to arrive.
        let patient = Self.client { $0.pingTimeout = .seconds(30) }
        defer { Task { await patient.shutdown() } }
        let dead = "http://127.0.0.1:\(try TestHTTPServer.closedPort())/api/trigger"
        let refused = await Self.failure { _ = try await patient.ping(url: dead, apiKey: "k", endpointId: "e") }
        #expect(refused?.kind == .connection && refused?.message == "Could not connect to endpoint \(dead)", "\(String(describing: refused))")

        try await Self.withServer({ request in
            if request.path == "/hang" { try await Task.sleep(for: .seconds(3600)) }
            try await Task.sleep(for: .milliseconds(request.path == "/slow-ok" ? 300 : 2000))
            return RealSDKReplay.reply(to: request)
        }) { server in
            let start = ContinuousClock.now
            let hang = await Self.failure { _ = try await client.indexEndpoint(url: server.baseURL + "/hang", apiKey: Fixtures.apiKey) }
            #expect(hang == EndpointCallError(.timeout, "Could not connect to endpoint \(server.baseURL)/hang: no response within 0.4s"))
            let slow = await Self.failure { _ = try await client.ping(url: server.baseURL + "/slow", apiKey: Fixtures.apiKey, endpointId: Fixtures.endpointId) }
            // A timeout, not the answer the server gives at 2 s: the deadline ended the call.
            #expect(slow?.kind == .timeout)
            // And not an order of magnitude late. Loosely: this test runs as the suite starts, with both
            // cores busy, and the two 0.4 s deadlines have taken 3.2 s in all there.
            #expect(ContinuousClock.now - start < .seconds(8))
            // Slow but within its timeout is fine.
            let patient = Self.client { $0.pingTimeout = .seconds(10) }
            defer { Task { await patient.shutdown() } }
            _ = try await patient.ping(url: server.baseURL + "/slow-ok", apiKey: Fixtures.apiKey, endpointId: Fixtures.endpointId)
        }
    }

    @Test func oversizedBodiesAreRefused() async throws {
        let client = Self.client { $0.maximumResponseBytes = 64 * 1024 }
        defer { Task { await client.shutdown() } }
        let big = Data(repeating: UInt8(ascii: " "), count: 640 * 1024)
        try await Self.withServer({ request in
            .init(status: 200, body: big, chunked: request.path == "/chunked")
        }) { server in
            for path in ["/sized", "/chunked"] {
                let error = await Self.failure { _ = try await client.indexEndpoint(url: server.baseURL + path, apiKey: "k") }
                #expect(error == EndpointCallError(.tooLarge, "Endpoint \(server.baseURL)\(path) responded with more than 65536 bytes; the response was not read"))
            }
        }
    }

    @Test func redirectsAreFollowedOnlyWhereTheKeyMayGo() async throws {
        let client = Self.client()
        defer { Task { await client.shutdown() } }
        // Another origin: same port number semantics do not matter, a different host name does.
        try await Self.withServer({ RealSDKReplay.reply(to: $0) }) { other in
            try await Self.withServer({ request in
                switch request.path {
                case "/moved": return .init(status: 308, headers: [("location", "/api/trigger")])
                case "/moved-twice": return .init(status: 301, headers: [("location", "/moved")])
                case "/temporary": return .init(status: 307, headers: [("location", "/moved")])
                case "/elsewhere": return .init(status: 302, headers: [("location", "http://localhost:\(other.port)/api/trigger")])
                case "/loop": return .init(status: 307, headers: [("location", "/loop")])
                case "/no-location": return .init(status: 301, headers: [])
                case "/ftp": return .init(status: 301, headers: [("location", "ftp://127.0.0.1/x")])
                default: return RealSDKReplay.reply(to: request)
                }
            }) { server in
                let base = server.baseURL
                let moved = try await client.indexEndpoint(url: base + "/moved-twice", apiKey: Fixtures.apiKey)
                #expect(moved.info.finalURL == base + "/api/trigger")
                #expect(moved.info.permanentRedirectURL == base + "/api/trigger")
                let temporary = try await client.ping(url: base + "/temporary", apiKey: Fixtures.apiKey, endpointId: Fixtures.endpointId)
                #expect(temporary.info.finalURL == base + "/api/trigger" && temporary.info.permanentRedirectURL == nil)
                // Every hop carried the key and stayed a POST.
                #expect(server.requests.allSatisfy { $0.method == "POST" && $0.headers["x-trigger-api-key"] == Fixtures.apiKey })

                let elsewhere = await Self.failure { _ = try await client.indexEndpoint(url: base + "/elsewhere", apiKey: Fixtures.apiKey) }
                #expect(elsewhere?.kind == .redirect)
                #expect(elsewhere?.message.contains("redirects to another origin (http://localhost:\(other.port)/api/trigger)") == true)
                #expect(other.requests.isEmpty, "the API key must never reach another origin")

                let loop = await Self.failure { _ = try await client.indexEndpoint(url: base + "/loop", apiKey: Fixtures.apiKey) }
                #expect(loop == EndpointCallError(.redirect, "Endpoint \(base)/loop is redirecting too many times"))
                #expect(server.requests.filter { $0.path == "/loop" }.count == 6)
                let noLocation = await Self.failure { _ = try await client.indexEndpoint(url: base + "/no-location", apiKey: Fixtures.apiKey) }
                #expect(noLocation == EndpointCallError(.redirect, "Endpoint \(base)/no-location is redirecting but no location header is present"))
                let ftp = await Self.failure { _ = try await client.indexEndpoint(url: base + "/ftp", apiKey: Fixtures.apiKey) }
                #expect(ftp?.kind == .redirect)
            }
        }
    }

    @Test func urlsAndAddressesAreChecked() async throws {
        let client = Self.client()
        defer { Task { await client.shutdown() } }
        for url in ["ftp://example.com/x", "/api/trigger", "not a url", "http://"] {
            let error = await Self.failure { _ = try await client.ping(url: url, apiKey: "k", endpointId: "e") }
            #expect(error?.kind == .invalidURL, "\(url)")
        }
        let guarded = Self.client { $0.refusePrivateAddresses = true }
        defer { Task { await guarded.shutdown() } }
        try await Self.withServer({ RealSDKReplay.reply(to: $0) }) { server in
            let error = await Self.failure { _ = try await guarded.ping(url: server.baseURL + "/api/trigger", apiKey: Fixtures.apiKey, endpointId: Fixtures.endpointId) }
            #expect(error?.kind == .refusedAddress)
            #expect(server.requests.isEmpty)
        }
    }
}
