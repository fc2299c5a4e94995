import AsyncHTTPClient
import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import JSON
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import Runs
import Storage
import Testing
import TestSupport

/// Webhook sources end to end with the real SDK's job set (`index-ok.json`): once `github` is
/// connected, the source is activated through the SDK's generated registration job, webhooks are
/// delivered to the endpoint, which checks their signature as the SDK's GitHub source does and
/// answers with events, and those events run `github-on-issue-opened`. The SDK's side is built from
/// the spec (§7): no capture of DELIVER_HTTP_SOURCE_REQUEST exists to replay.
@Suite struct WebhookSourceTests {
    static let key = "github.repo-http-triggerdotdevempty-github"

    /// The endpoint's side: the SDK's registration job calls `updateSource`; its GitHub source
    /// verifies `x-hub-signature-256` with the source's secret.
    final class Endpoint: Sendable {
        struct State {
            var registration: JSONValue?
            var issueRuns: [JSONValue] = []
            var down = false
            var deliveries = 0
        }
        let state = NIOLockedValueBox(State())
        let apiURL: String
        let apiKey: String

        init(apiURL: String, apiKey: String) {
            self.apiURL = apiURL
            self.apiKey = apiKey
        }

        func handle(_ request: TestHTTPServer.RecordedRequest) async throws -> TestHTTPServer.Reply {
            switch request.headers["x-trigger-action"] {
            case "EXECUTE_JOB":
                let body = try JSONValue.parse(request.body)
                switch body["job"]?["id"]?.stringValue {
                case WebhookSourceTests.key:
                    let event = body["event"]?["payload"] ?? .null
                    state.withLockedValue { $0.registration = event }
                    // source.register(...) would create the webhook on GitHub; then io.updateSource.
                    var update = HTTPClientRequest(url: "\(apiURL)/api/v1/my-endpoint/sources/\(WebhookSourceTests.key)")
                    update.method = .PUT
                    update.headers.add(name: "authorization", value: "Bearer \(apiKey)")
                    update.headers.add(name: "content-type", value: "application/json")
                    let registered: JSONValue = ["registeredEvents": event["events"] ?? [], "secret": event["source"]?["secret"] ?? .null, "data": ["hookId": 42]]
                    update.body = .bytes(ByteBuffer(bytes: registered.jsonBytes()))
                    let response = try await HTTPClient.shared.execute(update, timeout: .seconds(10))
                    let answer = try await response.body.collect(upTo: 1 << 20)
                    guard response.status == .ok else { return .json(200, #"{"status":"ERROR","error":{"message":"updateSource failed"}}"#) }
                    return .json(200, JSONValue.object(["status": "SUCCESS", "output": (try? JSONValue.parse(Data(answer.readableBytesView))) ?? .null]).jsonString())
                case "github-on-issue-opened":
                    state.withLockedValue { $0.issueRuns.append(body["event"]?["payload"] ?? .null) }
                    return .json(200, #"{"status":"SUCCESS","output":{"handled":true}}"#)
                default:
                    return .json(200, #"{"status":"SUCCESS"}"#)
                }
            case "DELIVER_HTTP_SOURCE_REQUEST":
                let down = state.withLockedValue { s -> Bool in
                    s.deliveries += 1
                    return s.down
                }
                if down { return .json(503, #"{"message":"deploying"}"#) }
                guard request.headers["x-ts-key"] == WebhookSourceTests.key, request.headers["content-type"] == "application/octet-stream",
                      let secret = request.headers["x-ts-secret"], request.headers["x-ts-http-method"] == "POST",
                      let original = request.headers["x-ts-http-headers"].flatMap({ try? JSONValue.parse($0) }) else {
                    return .json(400, #"{"message":"missing x-ts headers"}"#)
                }
                guard original["x-hub-signature-256"]?.stringValue == WebhookSourceTests.signature(request.body, secret: secret) else {
                    return .json(200, #"{"events":[],"response":{"status":401,"body":{"error":"Invalid signature"}}}"#)
                }
                let events: JSONValue = [["id": original["x-github-delivery"] ?? .null, "name": original["x-github-event"] ?? .null, "source": "github.com",
                                          "payload": (try? JSONValue.parse(request.body)) ?? .null]]
                return .json(200, JSONValue.object(["events": events, "response": ["status": 200, "body": ["ok": true], "headers": ["x-handled-by": "sdk"]]]).jsonString())
            default:
                return RealSDKReplay.reply(to: request, apiKey: apiKey)
            }
        }
    }

    static func signature(_ body: Data, secret: String) -> String {
        "sha256=" + HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8))).map { String(format: "%02x", $0) }.joined()
    }

    static func post(_ url: String, body: Data, headers: [String: String]) async throws -> (status: Int, body: String, headers: HTTPHeaders) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(data: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: bytes), response.headers)
    }

    @Test(arguments: Backend.available)
    func aWebhookWithAValidSignatureRunsTheJobAndNothingIsLostWhileTheEndpointIsDown(_ backend: Backend) async throws {
        var configuration = RunEngine.Configuration()
        // Long enough for a delivery on a loaded machine; the endpoint-down case waits it out once.
        configuration.sourceResponseWait = .seconds(15)
        try await TestStack.run(backend, runs: configuration) { stack, client in
            let env = try await stack.environment()
            let apiURL = "http://127.0.0.1:\(client.port!)"
            let endpoint = Endpoint(apiURL: apiURL, apiKey: env.apiKey)
            let server = try await TestHTTPServer.start { try await endpoint.handle($0) }
            defer { Task { await server.stop() } }
            #expect(try await client.call(.post, "/api/v1/integrations", key: env.apiKey,
                                          body: #"{"id":"github","service":"github","auth":{"type":"oauth2","accessToken":"gho_x"}}"#).status == .ok)
            let created = try await client.call(.post, "/api/v1/endpoints", key: env.apiKey, body: #"{"id":"my-endpoint","url":"\#(server.baseURL)/api/trigger"}"#)
            let indexId = try #require(created.json["endpointIndex"]?["id"]?.stringValue.flatMap(UUID.init(uuidString:)))
            #expect(try await stack.settledIndex(indexId, environment: env).status == .success)
            #expect(try await stack.endpoints.registrationSummary(indexId: indexId).failed == 0)

            // Activation: the SDK's registration job ran and called updateSource.
            #expect(try await eventually(timeout: .seconds(30)) {
                try await stack.count("trigger_sources", "active = \(backend == .postgres ? "true" : "1")") == 1
            })
            let sourceId = try #require(try await stack.database.queryFirst("SELECT id FROM trigger_sources")?.decode("id", as: UUID.self)).lowercasedString
            let registration = try #require(endpoint.state.withLockedValue { $0.registration })
            let secret = try #require(registration["source"]?["secret"]?.stringValue)
            #expect(secret.count == 64 && registration["id"] == .string(sourceId) && registration["source"]?["key"] == .string(Self.key))
            #expect(registration["source"]?["active"] == false && registration["source"]?["channel"]?["type"] == "HTTP")
            #expect(registration["source"]?["channel"]?["url"]?.stringValue?.hasSuffix("/api/v1/sources/http/\(sourceId)") == true)
            #expect(registration["events"] == ["issues"] && registration["missingEvents"] == [] && registration["orphanedEvents"] == [])
            #expect(try await stack.count("trigger_source_events", "registered = \(backend == .postgres ? "true" : "1")") == 1)
            let stored = try #require(try await stack.database.queryFirst("SELECT value FROM secret_store")?.json("value"))
            #expect(stored["sealed"]?.stringValue?.hasPrefix("v1:") == true && !stored.jsonString().contains(secret), "the source's secret is sealed at rest")
            #expect(try await stack.database.queryFirst("SELECT channel_data FROM trigger_sources")?.json("channel_data") == ["hookId": 42])

            // A signed webhook: relayed answer, one run with the payload.
            let receiver = "\(apiURL)/api/v1/sources/http/\(sourceId)"
            let issue = Data(#"{"action":"opened","repository":{"full_name":"triggerdotdev/empty"},"issue":{"number":1}}"#.utf8)
            func github(_ delivery: String, signature: String? = nil) -> [String: String] {
                ["content-type": "application/json", "x-github-event": "issues", "x-github-delivery": delivery,
                 "x-hub-signature-256": signature ?? Self.signature(issue, secret: secret)]
            }
            let first = try await Self.post(receiver, body: issue, headers: github("d-1"))
            #expect(first.status == 200 && first.body == #"{"ok":true}"# && first.headers.first(name: "x-handled-by") == "sdk", "\(first)")
            #expect(try await eventually(timeout: .seconds(30)) { endpoint.state.withLockedValue { $0.issueRuns.count } == 1 })
            #expect(endpoint.state.withLockedValue { $0.issueRuns.first?["issue"]?["number"] } == 1)
            // The same delivery again starts nothing new; a bad signature is refused by the SDK.
            #expect(try await Self.post(receiver, body: issue, headers: github("d-1")).status == 200)
            let forged = try await Self.post(receiver, body: issue, headers: github("d-forged", signature: "sha256=00"))
            #expect(forged.status == 401 && forged.body == #"{"error":"Invalid signature"}"#)
            #expect(try await stack.count("event_records", "event_id IN ('d-1', 'd-forged')") == 1)
            // Not for this server: unknown, malformed, too large.
            #expect(try await Self.post("\(apiURL)/api/v1/sources/http/\(UUID().uuidString)", body: issue, headers: github("d-x")).status == 404)
            #expect(try await Self.post("\(apiURL)/api/v1/sources/http/nope", body: issue, headers: github("d-x")).status == 404)
            let huge = try await Self.post(receiver, body: Data(count: stack.runs.configuration.maximumWebhookBytes + 1), headers: github("d-huge"))
            #expect(huge.status == 413 && huge.body.contains("limit"))

            // The endpoint is down: the sender gets 202 and the webhook is delivered once it is back.
            endpoint.state.withLockedValue { $0.down = true }
            let whileDown = try await Self.post(receiver, body: issue, headers: github("d-2"))
            #expect(whileDown.status == 202 && whileDown.body.contains(#""status":"accepted""#), "\(whileDown)")
            #expect(try await eventually(timeout: .seconds(30)) { endpoint.state.withLockedValue { $0.deliveries } >= 5 })
            endpoint.state.withLockedValue { $0.down = false }
            #expect(try await eventually(timeout: .seconds(60)) { endpoint.state.withLockedValue { $0.issueRuns.count } == 2 })
            #expect(try await stack.count("http_source_requests", "delivered_at IS NULL") == 0)
            // (The fixture's interval schedule may fire meanwhile: count this job's runs only.)
            var runs: [JobRun] = []
            #expect(try await eventually(timeout: .seconds(30)) {
                runs = try await stack.runs.runs(environment: env, limit: 100).filter { $0.jobSlug == "github-on-issue-opened" }
                return runs.count == 2 && runs.allSatisfy { $0.status.isFinished }
            })
            #expect(runs.allSatisfy { $0.status == .success })

            // A source that is not active takes webhooks in without delivering them.
            try await stack.database.query("UPDATE trigger_sources SET active = \(false)")
            let inactive = try await Self.post(receiver, body: issue, headers: github("d-3"))
            #expect(inactive.status == 200 && inactive.body == #"{"active":false}"#)
            // updateSource: another environment's key, or an event the source does not have, is refused.
            let unknownEvent = try await client.call(.put, "/api/v1/my-endpoint/sources/\(Self.key)", key: env.apiKey, body: #"{"registeredEvents":["push"]}"#)
            #expect(unknownEvent.status == .badRequest && unknownEvent.json["error"]?.stringValue == "Source \(Self.key) has no event push")
            let other = try await stack.environment(.production)
            #expect(try await client.call(.put, "/api/v1/my-endpoint/sources/\(Self.key)", key: other.apiKey, body: #"{"registeredEvents":[]}"#).status == .notFound)
        }
    }

    /// Dynamic triggers: a registration made by the job (`io.registerTrigger`, PUT) and one started by the
    /// server (InitializeTrigger: the endpoint answers INITIALIZE_TRIGGER, then its register job runs);
    /// each gets its own webhook source, and its webhooks run the trigger's job for matching events only.
    @Test(arguments: Backend.available)
    func dynamicTriggerRegistrationsRunTheTriggersJobs(_ backend: Backend) async throws {
        // Long enough for a delivery on a loaded machine (the relayed answer is what is checked).
        var configuration = RunEngine.Configuration()
        configuration.sourceResponseWait = .seconds(30)
        try await TestStack.run(backend, runs: configuration) { stack, client in
            let env = try await stack.environment()
            let apiURL = "http://127.0.0.1:\(client.port!)"
            let recorded = NIOLockedValueBox<[String: [JSONValue]]>([:])
            let key = env.apiKey
            @Sendable func registerBody(_ params: JSONValue) -> JSONValue {
                let owner = params["owner"]?.stringValue ?? "", repo = params["repo"]?.stringValue ?? ""
                return ["rule": ["event": "issues", "source": "github.com", "payload": ["action": ["opened"], "repository": ["full_name": .array([.string("\(owner)/\(repo)")])]]],
                        "source": ["key": .string("github.repo-\(owner)-\(repo)"), "channel": "HTTP", "params": params, "events": ["issues"],
                                   "integration": ["id": "github", "metadata": ["id": "github", "name": "GitHub"], "authSource": "HOSTED"]]]
            }
            let server = try await TestHTTPServer.start { request in
                switch request.headers["x-trigger-action"] {
                case "EXECUTE_JOB":
                    let body = try JSONValue.parse(request.body)
                    let job = body["job"]?["id"]?.stringValue ?? ""
                    recorded.withLockedValue { $0[job, default: []].append(body["event"]?["payload"] ?? .null) }
                    if job == "register-dynamic-trigger-github-issue-opened" {
                        let payload = body["event"]?["payload"] ?? .null
                        var update = HTTPClientRequest(url: "\(apiURL)/api/v1/my-endpoint/sources/\(payload["source"]?["key"]?.stringValue ?? "")")
                        update.method = .PUT
                        update.headers.add(name: "authorization", value: "Bearer \(key)")
                        update.body = .bytes(ByteBuffer(bytes: JSONValue.object(["registeredEvents": payload["events"] ?? []]).jsonBytes()))
                        let response = try await HTTPClient.shared.execute(update, timeout: .seconds(10))
                        _ = try await response.body.collect(upTo: 1 << 20)
                        if response.status != .ok { return .json(200, #"{"status":"ERROR","error":{"message":"updateSource failed"}}"#) }
                    }
                    return .json(200, #"{"status":"SUCCESS"}"#)
                case "INITIALIZE_TRIGGER":
                    let body = try JSONValue.parse(request.body)
                    guard body["id"] == "github-issue-opened" else { return .json(404, #"{"message":"Dynamic trigger not found"}"#) }
                    return .json(200, registerBody(body["params"] ?? [:]).jsonString())
                case "DELIVER_HTTP_SOURCE_REQUEST":
                    guard request.headers["x-ts-dynamic-id"] == "github-issue-opened", let secret = request.headers["x-ts-secret"],
                          let original = request.headers["x-ts-http-headers"].flatMap({ try? JSONValue.parse($0) }),
                          original["x-hub-signature-256"]?.stringValue == WebhookSourceTests.signature(request.body, secret: secret) else {
                        return .json(200, #"{"events":[],"response":{"status":401,"body":{"error":"Invalid signature"}}}"#)
                    }
                    let events: JSONValue = [["id": original["x-github-delivery"] ?? .null, "name": "issues", "source": "github.com",
                                              "payload": (try? JSONValue.parse(request.body)) ?? .null]]
                    return .json(200, JSONValue.object(["events": events, "response": ["status": 200, "body": ["ok": true]]]).jsonString())
                default:
                    return RealSDKReplay.reply(to: request, apiKey: key)
                }
            }
            defer { Task { await server.stop() } }
            #expect(try await client.call(.post, "/api/v1/integrations", key: key,
                                          body: #"{"id":"github","service":"github","auth":{"type":"oauth2","accessToken":"gho_x"}}"#).status == .ok)
            let created = try await client.call(.post, "/api/v1/endpoints", key: key, body: #"{"id":"my-endpoint","url":"\#(server.baseURL)/api/trigger"}"#)
            let indexId = try #require(created.json["endpointIndex"]?["id"]?.stringValue.flatMap(UUID.init(uuidString:)))
            #expect(try await stack.settledIndex(indexId, environment: env).status == .success)

            // io.registerTrigger("acme-web", …): the registration and its source.
            let path = "/api/v1/my-endpoint/triggers/github-issue-opened/registrations"
            let registered = try await client.call(.put, "\(path)/acme-web", key: key, body: registerBody(["owner": "acme", "repo": "web"]).jsonString())
            #expect(registered.status == .ok, "\(registered.text)")
            let sourceKey = try #require(registered.json["source"]?["key"]?.stringValue)
            #expect(sourceKey.hasSuffix(":acme-web:github.repo-acme-web") && registered.json["source"]?["clientId"] == "github")
            #expect(registered.json["source"]?["secret"]?.stringValue?.count == 64 && registered.json["events"] == ["issues"])
            let again = try await client.call(.put, "\(path)/acme-web", key: key, body: registerBody(["owner": "acme", "repo": "web"]).jsonString())
            #expect(again.json["id"] == registered.json["id"] && again.json["source"]?["secret"] == registered.json["source"]?["secret"], "registering again updates it")
            #expect(try await client.call(.put, "/api/v1/my-endpoint/triggers/nope/registrations/x", key: key,
                                          body: registerBody(["owner": "a", "repo": "b"]).jsonString()).status == .notFound)
            #expect(try await client.call(.put, "/api/v1/other/triggers/github-issue-opened/registrations/x", key: key,
                                          body: registerBody(["owner": "a", "repo": "b"]).jsonString()).status == .notFound)
            #expect(try await client.call(.put, "\(path)/bad", key: key, body: #"{"rule":{}}"#).status == .badRequest)
            // The SDK registers the webhook, then updateSource.
            #expect(try await client.call(.put, "/api/v1/my-endpoint/sources/\(sourceKey)", key: key, body: #"{"registeredEvents":["issues"]}"#).status == .ok)

            let receiver = try #require(registered.json["source"]?["channel"]?["url"]?.stringValue?.split(separator: "/api/").last.map { "\(apiURL)/api/\($0)" })
            let secret = try #require(registered.json["source"]?["secret"]?.stringValue)
            func webhook(_ url: String, repo: String, delivery: String, secret: String) async throws -> Int {
                let body = Data(#"{"action":"opened","repository":{"full_name":"\#(repo)"}}"#.utf8)
                return try await Self.post(url, body: body, headers: ["x-github-delivery": delivery, "x-hub-signature-256": Self.signature(body, secret: secret)]).status
            }
            #expect(try await webhook(receiver, repo: "acme/web", delivery: "w-1", secret: secret) == 200)
            #expect(try await webhook(receiver, repo: "acme/other", delivery: "w-2", secret: secret) == 200)
            #expect(try await eventually(timeout: .seconds(30)) { recorded.withLockedValue { $0["user-on-issue-opened"]?.count } == 1 })
            #expect(recorded.withLockedValue { $0["user-on-issue-opened"]?.first?["repository"]?["full_name"] } == "acme/web", "the rule's filter applies")

            // InitializeTrigger: the endpoint says what to register, and its register job runs.
            let initialized = try await client.call(.post, path, key: key, body: #"{"id":"acme-api","params":{"owner":"acme","repo":"api"}}"#)
            #expect(initialized.status == .ok, "\(initialized.text)")
            #expect(try await eventually(timeout: .seconds(30)) {
                try await stack.count("trigger_sources", "key LIKE '%:acme-api:%' AND active = \(backend == .postgres ? "true" : "1")") == 1
            })
            let registration = try #require(recorded.withLockedValue { $0["register-dynamic-trigger-github-issue-opened"]?.first })
            #expect(registration["dynamicTriggerId"] == "github-issue-opened" && registration["source"]?["key"]?.stringValue?.contains(":acme-api:") == true)
            let apiReceiver = try #require(initialized.json["source"]?["channel"]?["url"]?.stringValue?.split(separator: "/api/").last.map { "\(apiURL)/api/\($0)" })
            #expect(try await webhook(apiReceiver, repo: "acme/api", delivery: "w-3", secret: try #require(initialized.json["source"]?["secret"]?.stringValue)) == 200)
            #expect(try await eventually(timeout: .seconds(30)) { recorded.withLockedValue { $0["user-on-issue-opened"]?.count } == 2 })
            let refused = try await client.call(.post, "/api/v1/my-endpoint/triggers/nope/registrations", key: key, body: #"{"id":"x","params":{}}"#)
            #expect(refused.status == .badRequest && refused.json["error"]?.stringValue?.contains("Dynamic trigger not found") == true, "\(refused.text)")
        }
    }
}
