import Foundation
import Hummingbird
import HummingbirdTesting
import Integrations
import JSON
import NIOConcurrencyHelpers
import Runs
import Secrets
import Storage
import Tenancy
import Testing
import TestSupport

/// Integrations: credentials sealed at rest, written and never read back except by `getAuth` and
/// a run's `connections`, per environment; the real SDK's job set registers once `github` exists.
@Suite struct IntegrationTests {
    static let token = "gho_sixteenCharToken_\(UUID().uuidString.prefix(8))"

    @Test func secretBoxSealsOpensAndRotates() throws {
        let box = SecretBox.ephemeral()
        let sealed = try box.seal("the token")
        #expect(sealed.hasPrefix("v1:\(box.current.id):") && !sealed.contains("the token"))
        #expect(try box.seal("the token") != sealed, "a fresh nonce each time")
        #expect(try box.open(sealed) == "the token")
        #expect(!box.isStale(sealed))
        // Another key cannot open it, and says why.
        let other = SecretBox.ephemeral()
        #expect(throws: SecretError.self) { try other.open(sealed) }
        // Tampering is detected.
        let parts = sealed.split(separator: ":")
        var raw = [UInt8](Data(base64Encoded: String(parts[2]))!)
        raw[raw.count / 2] ^= 0x01
        #expect(throws: SecretError.self) { try box.open("\(parts[0]):\(parts[1]):\(Data(raw).base64EncodedString())") }
        // Rotation: the old key, given as previous, still opens; the value is stale until re-sealed.
        let rotated = SecretBox(current: .generate(), previous: [box.current])
        #expect(try rotated.open(sealed) == "the token" && rotated.isStale(sealed))
        // Keys as text.
        let hex = String(repeating: "ab", count: 32)
        #expect(try SecretBox.Key(text: hex).text == Data(repeating: 0xab, count: 32).base64EncodedString())
        #expect(try SecretBox.Key(text: box.current.text).id == box.current.id)
        for bad in ["", "short", String(repeating: "g", count: 64), Data(count: 16).base64EncodedString()] {
            #expect(throws: SecretError.self, "\(bad)") { try SecretBox.Key(text: bad) }
        }
    }

    @Test func theKeyFileIsCreatedOnceReadableByItsOwnerOnly() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kongflow-key-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("nested/encryption.key").path
        let first = try SecretBox.load(key: nil, previous: [], keyFile: file)
        let attributes = try FileManager.default.attributesOfItem(atPath: file)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let second = try SecretBox.load(key: nil, previous: [], keyFile: file)
        #expect(second.current.id == first.current.id, "the file is reused, not replaced")
        // KONGFLOW_ENCRYPTION_KEY wins over the file.
        let given = SecretBox.Key.generate()
        #expect(try SecretBox.load(key: given.text, previous: [first.current.text], keyFile: file).current.id == given.id)
        try Data("not a key".utf8).write(to: URL(fileURLWithPath: file))
        #expect(throws: SecretError.self) { try SecretBox.load(key: nil, previous: [], keyFile: file) }
    }

    @Test(arguments: Backend.available)
    func integrationsAreWrittenNeverReadBackAndStayInTheirEnvironment(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let env = try await stack.environment()
            let server = try await ScriptedEndpoint.start(stack, client, environment: env, jobs: []) { _ in .json(200, "{}") }
            defer { Task { await server.stop() } }
            for bad in [#"{"id":"github","service":"github"}"#, #"{"id":"github","service":"github","auth":{"type":"basic","accessToken":"x"}}"#,
                        #"{"id":"git hub","service":"github","auth":{"type":"oauth2","accessToken":"x"}}"#,
                        #"{"id":"github","service":"github","auth":{"type":"oauth2","accessToken":""}}"#, "[]", "{"] {
                let response = try await client.call(.post, "/api/v1/integrations", key: env.apiKey, body: bad)
                #expect(response.status == .badRequest && response.json["error"]?.stringValue?.isEmpty == false, "\(bad): \(response.text)")
            }
            let body = #"{"id":"github","service":"github","auth":{"type":"oauth2","accessToken":"\#(Self.token)","scopes":["repo","user"],"additionalFields":{"account":"acme"}}}"#
            let created = try await client.call(.post, "/api/v1/integrations", key: env.apiKey, body: body)
            #expect(created.status == .ok && created.json["id"] == "github" && created.json["authType"] == "oauth2" && created.json["scopes"] == ["repo", "user"])
            #expect(!created.text.contains(Self.token))
            let listed = try await client.call(.get, "/api/v1/integrations", key: env.apiKey)
            #expect(listed.json["integrations"]?.arrayValue?.map { $0["id"] } == ["github"] && !listed.text.contains(Self.token))

            // getAuth, as the SDK calls it with its endpoint's id.
            let auth = try await client.call(.get, "/api/v1/my-endpoint/auth/github", key: env.apiKey)
            #expect(auth.json == ["type": "oauth2", "accessToken": .string(Self.token), "scopes": ["repo", "user"], "additionalFields": ["account": "acme"]])
            #expect(try await client.call(.get, "/api/v1/my-endpoint/auth/slack", key: env.apiKey).status == .notFound)
            #expect(try await client.call(.get, "/api/v1/no-such-endpoint/auth/github", key: env.apiKey).status == .notFound)

            // Another environment of the same organization has its own credentials (none yet).
            let prod = try await stack.environment(.production)
            #expect(prod.organization.id == env.organization.id)
            #expect(try await client.call(.get, "/api/v1/integrations", key: prod.apiKey).json["integrations"] == [])
            #expect(try await client.call(.delete, "/api/v1/integrations/github", key: prod.apiKey).status == .notFound)

            // At rest: sealed in the row, and nowhere in clear in the database's files.
            let secret = try #require(try await stack.database.queryFirst("SELECT secret FROM integration_connections")?.decode("secret", as: String.self))
            #expect(secret.hasPrefix("v1:") && !secret.contains(Self.token))
            if stack.database.dialect == .sqlite {
                let path = String(stack.database.displayName.dropFirst("sqlite:".count))
                for file in [path, path + "-wal"] {
                    let contents = (try? Data(contentsOf: URL(fileURLWithPath: file))) ?? Data()
                    #expect(contents.range(of: Data(Self.token.utf8)) == nil, "\(file) holds the token in clear")
                }
            }

            // Again replaces the credentials; delete removes them.
            _ = try await client.call(.post, "/api/v1/integrations", key: env.apiKey,
                                      body: #"{"id":"github","service":"github","auth":{"type":"apiKey","accessToken":"second"}}"#)
            #expect(try await client.call(.get, "/api/v1/my-endpoint/auth/github", key: env.apiKey).json == ["type": "apiKey", "accessToken": "second"])
            #expect(try await client.call(.delete, "/api/v1/integrations/github", key: env.apiKey).status == .ok)
            #expect(try await client.call(.get, "/api/v1/my-endpoint/auth/github", key: env.apiKey).status == .notFound)
            #expect(try await client.call(.delete, "/api/v1/integrations/github", key: env.apiKey).status == .notFound)

            // Re-sealing after a key rotation moves every secret to the new key.
            _ = try await client.call(.post, "/api/v1/integrations", key: env.apiKey, body: body)
            let rotated = SecretBox(current: .generate(), previous: [stack.secrets.current])
            #expect(try await IntegrationService(database: stack.database, secrets: rotated).reencrypt() == 1)
            #expect(try await IntegrationService(database: stack.database, secrets: rotated).auth(id: "github", environment: env).accessToken == Self.token)
            #expect(try await IntegrationService(database: stack.database, secrets: rotated).reencrypt() == 0)
        }
    }

    /// A run of a job that names a HOSTED integration gets the environment's credentials in its
    /// EXECUTE_JOB `connections`, under the job's own key. (That the real SDK's job set registers once
    /// `github` is connected is `EndpointLifecycleTests.registrationPersistsWhatTheEndpointDeclares`.)
    @Test(arguments: Backend.available)
    func runsGetTheirJobsConnections(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let env = try await stack.environment()
            let connected = try await client.call(.post, "/api/v1/integrations", key: env.apiKey,
                                                  body: #"{"id":"github","service":"github","auth":{"type":"oauth2","accessToken":"\#(Self.token)"}}"#)
            #expect(connected.status == .ok)
            // A run of a job that names github gets it as a connection in its EXECUTE_JOB.
            let bodies = NIOLockedValueBox<[JSONValue]>([])
            let other = try await ScriptedEndpoint.start(stack, client, environment: env, jobs: [
                ScriptedEndpoint.job("uses-github", event: "gh.go", integrations: ["gh": ["id": "github", "metadata": ["id": "github", "name": "GitHub"], "authSource": "HOSTED"]]),
                ScriptedEndpoint.job("plain", event: "gh.go"),
            ]) { body in
                bodies.withLockedValue { $0.append(body) }
                return .json(200, #"{"status":"SUCCESS"}"#)
            }
            defer { Task { await other.stop() } }
            try await stack.send(client, env, "gh.go")
            let runs = try await stack.finishedRuns(env, count: 2)
            #expect(runs.allSatisfy { $0.status == .success })
            let sent = Dictionary(uniqueKeysWithValues: bodies.withLockedValue { $0 }.map { ($0["job"]?["id"]?.stringValue ?? "", $0) })
            #expect(sent["uses-github"]?["connections"] == ["gh": ["type": "oauth2", "accessToken": .string(Self.token)]])
            #expect(sent["plain"]?["connections"] == [:])
        }
    }
}
